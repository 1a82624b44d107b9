-- Daily weather of every region commune, from the NEAREST station (haversine between the
-- commune's chef-lieu and the station coordinates) that has data that day; one station, no
-- interpolation, no distance cap (station_distance_km says how far it is).
--  * temperatures and DJU: the nearest station with both tmin_c and tmax_c that day
--    (station_id, station_distance_km); tmean_c comes from that same station;
--  * rain: the nearest station with rain_mm that day (rain_station_id, rain_station_distance_km),
--    because many Météo-France posts are rain gauges only.
-- DJU "météo" method (degree_days macro) on the Météo-France TN/TX; is_rainy: rain_mm >= 1.0 mm
-- (the usual "jour de pluie" threshold of Météo-France climatology).
-- Grain: (code_commune, local_day), for every day on which at least one station has data.
{%- set rainy_threshold_mm = 1.0 %}
with station_days as (
    select station_id, latitude, longitude, local_day, tmin_c, tmax_c, tmean_c, rain_mm
    from {{ ref('int_weather__station_daily') }}
    where latitude is not null and longitude is not null
      and ((tmin_c is not null and tmax_c is not null) or rain_mm is not null)
),

candidates as (
    select
        c.code_commune,
        s.local_day,
        s.station_id,
        s.tmin_c,
        s.tmax_c,
        s.tmean_c,
        s.rain_mm,
        {{ haversine_km('c.latitude', 'c.longitude', 's.latitude', 's.longitude') }} as distance_km
    from {{ ref('int_territory__communes') }} as c
    cross join station_days as s
),

nearest_temperature as (
    select code_commune, local_day, station_id, distance_km, tmin_c, tmax_c, tmean_c
    from (
        select
            *,
            row_number() over (partition by code_commune, local_day order by distance_km, station_id) as rank_near
        from candidates
        where tmin_c is not null and tmax_c is not null
    ) as ranked
    where rank_near = 1
),

nearest_rain as (
    select code_commune, local_day, station_id, distance_km, rain_mm
    from (
        select
            *,
            row_number() over (partition by code_commune, local_day order by distance_km, station_id) as rank_near
        from candidates
        where rain_mm is not null
    ) as ranked
    where rank_near = 1
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
    t.distance_km as station_distance_km,
    r.station_id as rain_station_id,
    r.distance_km as rain_station_distance_km
from commune_days as cd
left join nearest_temperature as t on t.code_commune = cd.code_commune and t.local_day = cd.local_day
left join nearest_rain as r on r.code_commune = cd.code_commune and r.local_day = cd.local_day
