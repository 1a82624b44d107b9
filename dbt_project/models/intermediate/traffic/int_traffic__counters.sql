-- Road counters (counted road sections) with the commune they stand in. Grain: one row per
-- counter_id of the site list.
-- code_commune: the INSEE code of the site list when the partner gives it (commune_source
-- 'site_list'); otherwise the region commune whose chef-lieu is nearest to the site, if within
-- 10 km ('nearest_chef_lieu': an approximation, the hub has no commune boundaries); otherwise
-- NULL ('unlocated'), and the counter stays out of the territorial roll-ups. A counter of the
-- hourly counts missing from the site list has no row here (its commune is unknown).
{%- set max_km = 10 %}
with sites as (
    select counter_id, site_name, code_commune, latitude, longitude
    from {{ ref('stg_montpellier_metropole__compteurs_routiers') }}
),

nearest_commune as (
    select counter_id, code_commune, distance_km
    from (
        select
            s.counter_id,
            c.code_commune,
            {{ haversine_km('s.latitude', 's.longitude', 'c.latitude', 'c.longitude') }} as distance_km,
            row_number() over (
                partition by s.counter_id
                order by {{ haversine_km('s.latitude', 's.longitude', 'c.latitude', 'c.longitude') }}, c.code_commune
            ) as rank_near
        from sites as s
        cross join {{ ref('int_territory__communes') }} as c
        where s.code_commune is null and s.latitude is not null and s.longitude is not null
    ) as ranked
    where rank_near = 1 and distance_km <= {{ max_km }}
)

select
    s.counter_id,
    s.site_name,
    coalesce(s.code_commune, n.code_commune) as code_commune,
    case
        when s.code_commune is not null then 'site_list'
        when n.code_commune is not null then 'nearest_chef_lieu'
        else 'unlocated'
    end as commune_source,
    s.latitude,
    s.longitude
from sites as s
left join nearest_commune as n on n.counter_id = s.counter_id
