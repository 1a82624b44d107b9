-- Light-point inventories of every partner delivering the EclExt-like layout, current snapshot
-- of each (a new inventory supersedes the previous one as a whole). Partners spell the same
-- thing differently (EclExt codes LED/SHP/MAT/EN, or French labels Mât/Toute la nuit): the
-- lighting macros map both to one English vocabulary.
-- Grain: one row per (dataset_key, point_id): two owners may number their points alike.
with source as (
    {{ current_rows(source('formats', 'eclairage_points_lumineux'), ['id_point_lumineux']) }}
)

select
    partner_id,
    dataset_key,
    id_point_lumineux as point_id,
    {{ current_commune('insee') }} as code_commune,
    insee as code_commune_delivered,
    id_armoire as cabinet_id,
    x as x_l93_m,
    y as y_l93_m,
    {{ lamp_technology('type_source') }} as lamp_technology,
    {{ lamp_technology('type_source') }} = 'LED' as is_led,
    -- EclExt exports write 0 for an unknown power or colour temperature
    case when puissance <> 0 then puissance end as power_w,
    case when temperature_couleur <> 0 then temperature_couleur end as colour_temperature_k,
    hauteur_feu as height_m,
    {{ light_mounting('support') }} as mounting,
    {{ lighting_mode('eclairage_adaptatif') }} as lighting_mode,
    date_premiere_installation as installed_on,
    _delivery_id,
    _source_line,
    _delivered_at
from source
