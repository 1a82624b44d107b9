-- The light-point inventory of the commune of Beaucaire (French labels), current snapshot: a new inventory
-- delivery supersedes the previous one as a whole (cadence snapshot), so current_rows keeps
-- exactly the latest inventory. Codes and labels are mapped to one vocabulary (macros/lighting.sql).
with source as (
    {{ current_rows(source('raw', 'ville_beaucaire__points_lumineux'), ['id_point_lumineux']) }}
)

select
    id_point_lumineux as point_id,
    insee as code_commune,
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
