-- Charging point states from the QualiCharge database export: points named by QualiCharge's
-- internal id (point_de_charge_id), `null` for an absent value, timestamps with microseconds and
-- offsets. The point's roaming id comes from the correspondence file (irve_qualicharge_lien_pdc);
-- an event whose point the correspondence does not know keeps charge_point_id NULL (a test warns:
-- such events cannot reach the indicators until the correspondence is delivered).
-- Same vocabulary as stg_irve_dynamique. Grain: one row per (point_de_charge_id, observed_at).
with current_events as (
    {{ current_rows(source('formats', 'irve_dynamique_qualicharge'), ['trim(point_de_charge_id)', 'horodatage'], scope='national') }}
),

correspondence as (
    select trim(point_de_charge_id) as point_de_charge_id, trim(id_pdc_itinerance) as charge_point_id
    from ({{ current_rows(source('formats', 'irve_qualicharge_lien_pdc'), ['trim(point_de_charge_id)'], scope='national') }}) as l
)

select
    e.partner_id,
    e.dataset_key,
    trim(e.point_de_charge_id) as point_de_charge_id,
    c.charge_point_id,
    e.horodatage as observed_at,
    {{ irve_state('e.etat_pdc') }} as status,
    {{ irve_occupancy('e.occupation_pdc') }} as occupancy,
    {{ irve_state('e.etat_prise_type_2') }} as type_2_state,
    {{ irve_state('e.etat_prise_type_combo_ccs') }} as combo_ccs_state,
    {{ irve_state('e.etat_prise_type_chademo') }} as chademo_state,
    {{ irve_state('e.etat_prise_type_ef') }} as type_ef_state,
    e._delivery_id,
    e._source_line,
    e._delivery_sequence,
    e._delivered_at
from current_events as e
left join correspondence as c on c.point_de_charge_id = trim(e.point_de_charge_id)
