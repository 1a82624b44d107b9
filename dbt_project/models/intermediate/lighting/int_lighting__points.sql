-- Every light point of the partners' current inventories, with its owner. Grain: one row per
-- (inventory_key, point_id): two owners may number their points alike. The inventory is a
-- snapshot of today's equipment; the marts apply it to every year they report.
with inventories as (
    select * from {{ ref('stg_eclairage_points_lumineux') }}
)

select
    partner_id as owner_partner_id,
    dataset_key as inventory_key,
    point_id,
    code_commune,
    cabinet_id,
    lamp_technology,
    is_led,
    power_w,
    height_m,
    colour_temperature_k,
    mounting,
    lighting_mode,
    installed_on,
    x_l93_m,
    y_l93_m,
    _delivery_id,
    _source_line
from inventories
