-- Lamp sensors of the métropole: on/off state every 10 minutes and power when on. point_id is a
-- light point of the syndicate's inventory (Hérault Énergies). A state other than on/off is kept
-- in power_state with is_on null.
with source as (
    {{ current_rows(source('raw', 'montpellier_metropole__capteurs_eclairage'), ['id_capteur', 'horodatage']) }}
)

select
    id_capteur as sensor_id,
    id_point_lumineux as point_id,
    horodatage as observed_at,
    lower(trim(etat)) as power_state,
    case lower(trim(etat)) when 'on' then true when 'off' then false end as is_on,
    puissance_w as power_w,
    _delivery_id,
    _source_line,
    _delivered_at
from source
