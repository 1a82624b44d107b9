-- Daily weather of every commune of the territory, from ONE station per value and day: the
-- first station of the commune's preference list (int_weather__commune_stations: its own
-- stations by number first, then the nearest) that has the value that day. No interpolation,
-- no distance cap (station_distance_km and station_relation say which station and how far).
--  * temperatures and DJU: the first station with both tmin_c and tmax_c that day
--    (station_id); tmean_c comes from that same station;
--  * rain: the first station with rain_mm that day (rain_station_id), because many Météo-France
--    posts are rain gauges only.
-- DJU "météo" method (degree_days macro) on the Météo-France TN/TX; is_rainy: rain_mm >= 1.0 mm
-- (the usual "jour de pluie" threshold of Météo-France climatology).
-- Grain: (code_commune, local_day), for every day on which one of the commune's stations has data.
{%- set rainy_threshold_mm = 1.0 %}
with candidates as (
    select
        cs.code_commune,
        cs.station_id,
        cs.relation,
        cs.distance_km,
        cs.preference,
        s.local_day,
        s.tmin_c,
        s.tmax_c,
        s.tmean_c,
        s.rain_mm
    from {{ ref('int_weather__commune_stations') }} as cs
    inner join {{ ref('int_weather__station_days') }} as s on s.station_id = cs.station_id
    where (s.tmin_c is not null and s.tmax_c is not null) or s.rain_mm is not null
),

first_temperature as (
    select code_commune, local_day, station_id, relation, distance_km, tmin_c, tmax_c, tmean_c
    from (
        select *, row_number() over (partition by code_commune, local_day order by preference) as rank_pref
        from candidates
        where tmin_c is not null and tmax_c is not null
    ) as ranked
    where rank_pref = 1
),

first_rain as (
    select code_commune, local_day, station_id, relation, distance_km, rain_mm
    from (
        select *, row_number() over (partition by code_commune, local_day order by preference) as rank_pref
        from candidates
        where rain_mm is not null
    ) as ranked
    where rank_pref = 1
),

commune_days as (
    select distinct code_commune, local_day from candidates
)

select
    cd.code_commune,
    cd.local_day,
    t.tmin_c,
    t.tmax_c,
    t.tmean_c,
    r.rain_mm,
    {{ degree_days('t.tmin_c', 't.tmax_c', 18) }} as dju_18,
    {{ degree_days('t.tmin_c', 't.tmax_c', 17) }} as dju_17,
    case when r.rain_mm is not null then r.rain_mm >= {{ rainy_threshold_mm }} end as is_rainy,
    t.station_id,
    t.relation as station_relation,
    t.distance_km as station_distance_km,
    r.station_id as rain_station_id,
    r.relation as rain_station_relation,
    r.distance_km as rain_station_distance_km
from commune_days as cd
left join first_temperature as t on t.code_commune = cd.code_commune and t.local_day = cd.local_day
left join first_rain as r on r.code_commune = cd.code_commune and r.local_day = cd.local_day
