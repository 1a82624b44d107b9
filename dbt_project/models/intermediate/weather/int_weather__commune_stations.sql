-- For each commune of the territory, the stations that may give it its weather, in order of
-- preference. Grain: one row per (code_commune, station_id), the first 10 per commune.
--  1. the stations standing in the commune, by their number (int_weather__stations.code_commune):
--     relation 'commune', nearest to the commune's location first (then by number);
--  2. the other stations, nearest first (haversine between the commune's location and the
--     station): relation 'nearest'. A commune without a location has only its own stations.
-- Only stations that have delivered observations are candidates.
-- The daily models take, each day, the first station of this list that has the value.
{%- set max_candidates = 10 %}
with pairs as (
    select
        c.code_commune,
        s.station_id,
        s.code_commune = c.code_commune as in_commune,
        case when c.latitude is not null and s.latitude is not null
             then {{ haversine_km('c.latitude', 'c.longitude', 's.latitude', 's.longitude') }} end as distance_km
    from {{ ref('int_territory__communes') }} as c
    cross join {{ ref('int_weather__stations') }} as s
    where s.has_observations  -- a register entry without data serves no commune
),

ranked as (
    select
        *,
        row_number() over (
            partition by code_commune
            order by case when in_commune then 0 else 1 end, distance_km nulls last, station_id
        ) as preference
    from pairs
    where in_commune or distance_km is not null
)

select
    code_commune,
    station_id,
    case when in_commune then 'commune' else 'nearest' end as relation,
    distance_km,
    preference
from ranked
where preference <= {{ max_candidates }}
