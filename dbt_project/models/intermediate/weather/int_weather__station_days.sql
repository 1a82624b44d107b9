-- One row per station and day with the daily values the commune models use, from the best
-- source the hub holds for that station and day (temperature_source, rain_source):
--  * 'quotidien': Météo-France's published daily file (Q_DD): TN, TX, TM and RR of the
--    climatological day as published, never recomputed;
--  * 'horaire': computed from the hourly files (int_weather__station_daily: the same TN/TX windows,
--    mean and rain over the local day, 80 % of hours required);
--  * '6min' (rain only): the sum of the 6-minute rain over the local day (80 % of slots required).
-- Temperatures come from one source per day (both TN and TX from the published file when it has
-- both, else both from the hourly files). dju_18_quotidien / dju_18_horaire keep both values where
-- both exist: a dbt test warns when they differ (Météo-France's TN/TX windows are the hub's).
-- Grain: (station_id, local_day).
with published as (
    select
        station_id,
        climatological_day as local_day,
        temperature_min_c as tmin_c,
        temperature_max_c as tmax_c,
        temperature_mean_c as tmean_c,
        rain_mm
    from {{ ref('stg_meteo_france_quotidien') }}
),

hourly as (
    select station_id, local_day, tmin_c, tmax_c, tmean_c, rain_mm
    from {{ ref('int_weather__station_daily') }}
),

six_minutes as (
    select station_id, local_day, rain_mm
    from {{ ref('int_weather__station_rain_6min_daily') }}
),

station_days as (
    select station_id, local_day from published
    union
    select station_id, local_day from hourly
    union
    select station_id, local_day from six_minutes
),

combined as (
    select
        sd.station_id,
        sd.local_day,
        p.tmin_c is not null and p.tmax_c is not null as published_temperatures,
        p.tmin_c as p_tmin, p.tmax_c as p_tmax, p.tmean_c as p_tmean, p.rain_mm as p_rain,
        h.tmin_c as h_tmin, h.tmax_c as h_tmax, h.tmean_c as h_tmean, h.rain_mm as h_rain,
        m.rain_mm as m_rain
    from station_days as sd
    left join published as p on p.station_id = sd.station_id and p.local_day = sd.local_day
    left join hourly as h on h.station_id = sd.station_id and h.local_day = sd.local_day
    left join six_minutes as m on m.station_id = sd.station_id and m.local_day = sd.local_day
)

select
    station_id,
    local_day,
    case when published_temperatures then p_tmin else h_tmin end as tmin_c,
    case when published_temperatures then p_tmax else h_tmax end as tmax_c,
    case when published_temperatures then coalesce(p_tmean, h_tmean) else h_tmean end as tmean_c,
    case
        when published_temperatures then 'quotidien'
        when h_tmin is not null and h_tmax is not null then 'horaire'
    end as temperature_source,
    coalesce(p_rain, h_rain, m_rain) as rain_mm,
    case
        when p_rain is not null then 'quotidien'
        when h_rain is not null then 'horaire'
        when m_rain is not null then '6min'
    end as rain_source,
    {{ degree_days('p_tmin', 'p_tmax', 18) }} as dju_18_quotidien,
    {{ degree_days('h_tmin', 'h_tmax', 18) }} as dju_18_horaire
from combined
