-- Every light point of the partners' current inventories, with its owner and commune. Grain: one
-- row per (inventory_key, point_id): two owners may number their points alike. The inventory is a
-- snapshot of today's equipment; the marts apply it to every year they report (inventory_year:
-- the year of the inventory's delivery, so that an inventory alone gives its year a row).
--  * EclExt-like CSV (stg_eclairage_points_lumineux): commune, technology and power as delivered;
--  * point layouts without attributes (zipped shapefile, CSV in Lambert-93): the commune comes
--    from the position (locate_by_code_and_coordinates): the partner's own commune for a
--    commune partner when the point lies within 20 km of it, else the commune whose location is
--    nearest (the hub knows town-hall locations, not boundaries: a point near a border may be
--    given the neighbour); technology and power are NULL: the marts say "not available".
with inventories as (
    select
        partner_id, dataset_key, point_id, code_commune, cabinet_id, lamp_technology, is_led, power_w,
        height_m, colour_temperature_k, mounting, lighting_mode, installed_on, x_l93_m, y_l93_m,
        cast(null as {{ type_double() }}) as latitude, cast(null as {{ type_double() }}) as longitude,
        cast(null as {{ dbt.type_string() }}) as lantern_type,
        'eclairage_points_lumineux' as source_format, 'code' as commune_source, _delivery_id, _source_line
    from {{ ref('stg_eclairage_points_lumineux') }}
),

bare_points as (
    select partner_id, dataset_key, point_id, lantern_type, latitude, longitude,
           'eclairage_points_shapefile' as source_format, _delivery_id, _source_line,
           {{ partner_commune('partner_id') }} as code_commune
    from {{ ref('stg_eclairage_points_shapefile') }}
    union all
    select partner_id, dataset_key, point_id, lantern_type, latitude, longitude,
           'eclairage_points_l93', _delivery_id, _source_line,
           {{ partner_commune('partner_id') }}
    from {{ ref('stg_eclairage_points_l93') }}
),

located as (
    {{ locate_by_code_and_coordinates('bare_points', ['dataset_key', 'point_id']) }}
),

points as (
    select * from inventories
    union all
    select
        b.partner_id, b.dataset_key, b.point_id, l.code_commune, cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}), cast(null as boolean), cast(null as {{ type_double() }}),
        cast(null as {{ type_double() }}), cast(null as {{ type_double() }}), cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}), cast(null as date), cast(null as {{ type_double() }}),
        cast(null as {{ type_double() }}), b.latitude, b.longitude, b.lantern_type, b.source_format,
        l.commune_source, b._delivery_id, b._source_line
    from bare_points as b
    inner join located as l on l.dataset_key = b.dataset_key and l.point_id = b.point_id
)

select
    p.partner_id as owner_partner_id,
    p.dataset_key as inventory_key,
    p.point_id,
    p.code_commune,
    p.commune_source,
    p.cabinet_id,
    p.lamp_technology,
    p.is_led,
    p.power_w,
    p.height_m,
    p.colour_temperature_k,
    p.mounting,
    p.lighting_mode,
    p.installed_on,
    p.x_l93_m,
    p.y_l93_m,
    p.latitude,
    p.longitude,
    p.lantern_type,
    p.source_format,
    cast(case when regexp_matches(d.period, '^[0-9]{4}') then substr(d.period, 1, 4)
              else cast(extract(year from d.processed_at) as {{ dbt.type_string() }}) end as {{ dbt.type_int() }})
        as inventory_year,
    p._delivery_id,
    p._source_line
from points as p
left join {{ source('landing', 'deliveries') }} as d on d.delivery_id = p._delivery_id
