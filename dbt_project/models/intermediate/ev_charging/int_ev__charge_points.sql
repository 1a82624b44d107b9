-- Charging points of the current IRVE inventory with the commune they stand in and their power
-- class. Grain: one row per charge_point_id.
-- code_commune: code_insee_commune when the operator gives it (commune_source 'inventory');
-- otherwise the region commune whose chef-lieu is nearest to the point's coordinates, if within
-- 10 km ('nearest_chef_lieu': an approximation, the hub has no commune boundaries); otherwise
-- NULL ('unlocated'), and the point stays out of the territorial roll-ups.
-- power_class (nominal power P, kW; the classes of the national barometer of charging points,
-- boundaries also those of the EU AFIR regulation at 22, 50 and 150 kW):
--   'up_to_7_4kw'  P ≤ 7.4      normal AC charging (single phase, up to 32 A)
--   '7_4_to_22kw'  7.4 < P ≤ 22 accelerated AC charging (three phase)
--   '22_to_50kw'   22 < P < 50  fast AC / low-power DC
--   '50_to_150kw'  50 ≤ P < 150 fast DC charging
--   '150kw_plus'   P ≥ 150      high-power (ultra-fast) DC charging
--   NULL           power not given
{%- set max_km = 10 %}
with points as (
    select
        charge_point_id, station_id, station_name, site_type, code_commune, latitude, longitude,
        power_kw, has_type_2, has_combo_ccs, has_chademo, has_type_ef, access_condition, commissioned_on
    from {{ ref('stg_recharge_sud__irve_statique') }}
),

nearest_commune as (
    select charge_point_id, code_commune
    from (
        select
            p.charge_point_id,
            c.code_commune,
            {{ haversine_km('p.latitude', 'p.longitude', 'c.latitude', 'c.longitude') }} as distance_km,
            row_number() over (
                partition by p.charge_point_id
                order by {{ haversine_km('p.latitude', 'p.longitude', 'c.latitude', 'c.longitude') }}, c.code_commune
            ) as rank_near
        from points as p
        cross join {{ ref('int_territory__communes') }} as c
        where p.code_commune is null and p.latitude is not null and p.longitude is not null
    ) as ranked
    where rank_near = 1 and distance_km <= {{ max_km }}
)

select
    p.charge_point_id,
    p.station_id,
    p.station_name,
    p.site_type,
    coalesce(p.code_commune, n.code_commune) as code_commune,
    case
        when p.code_commune is not null then 'inventory'
        when n.code_commune is not null then 'nearest_chef_lieu'
        else 'unlocated'
    end as commune_source,
    p.latitude,
    p.longitude,
    p.power_kw,
    case
        when p.power_kw is null then null
        when p.power_kw <= 7.4 then 'up_to_7_4kw'
        when p.power_kw <= 22 then '7_4_to_22kw'
        when p.power_kw < 50 then '22_to_50kw'
        when p.power_kw < 150 then '50_to_150kw'
        else '150kw_plus'
    end as power_class,
    p.has_type_2,
    p.has_combo_ccs,
    p.has_chademo,
    p.has_type_ef,
    p.access_condition,
    p.commissioned_on
from points as p
left join nearest_commune as n on n.charge_point_id = p.charge_point_id
