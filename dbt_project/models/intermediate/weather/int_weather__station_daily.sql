{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['station_id', 'local_day'],
) }}
-- Daily values per station. Two conventions (MISSION.md):
--  * tmin_c / tmax_c: Météo-France climatological day J. Hourly rows are stamped with the END
--    of their hour (UTC): TN of J = min of hourly TN over the rows ending 19 UTC on J-1 …
--    18 UTC on J; TX of J = max of hourly TX over the rows ending 07 UTC on J … 06 UTC on J+1.
--  * tmean_c, rain_mm, hours_observed: the Europe/Paris local day (23, 24 or 25 hours); an
--    hour belongs to the local day of its START (observed_at - 1 h).
-- A value whose window has fewer than 80 % of its hours observed is NULL (not a biased value).
-- Incremental: the days touched by new deliveries, widened by ±1 day (the TN/TX windows
-- cross midnight), are recomputed from all their hourly rows.
{%- set min_share = 0.8 %}

{% if is_incremental() %}
with rebuild as (
    {{ days_to_rebuild(ref('stg_meteo_france_horaire'), local_day('observed_at'), 1) }}
),

{% else %}
with
{% endif %}
hourly as (
    select
        station_id,
        observed_at,
        temperature_c,
        temperature_min_c,
        temperature_max_c,
        rain_mm,
        {{ local_day(dbt.dateadd('hour', -1, 'observed_at')) }} as local_day,
        -- the profile's session time zone is UTC: these casts give UTC dates
        cast({{ dbt.dateadd('hour', 5, 'observed_at') }} as date) as tn_day,
        cast({{ dbt.dateadd('hour', -7, 'observed_at') }} as date) as tx_day
    from {{ ref('stg_meteo_france_horaire') }}
    {% if is_incremental() %}
    -- the rebuilt days ±2 (the TN/TX windows), as a literal UTC range pushed down to the scan
    where {{ rebuild_filter(days_to_rebuild(ref('stg_meteo_france_horaire'), local_day('observed_at'), 1),
                            'observed_at', margin_days=3) }}
    {% endif %}
),

local_days as (
    select
        station_id,
        local_day,
        cast(avg(cast(temperature_c as decimal(8, 2))) as {{ type_double() }}) as tmean_all_c,  -- exact sum: order-independent
        count(temperature_c) as hours_observed,
        sum(rain_mm) as rain_all_mm,
        count(rain_mm) as rain_hours_observed
    from hourly
    group by station_id, local_day
),

tn_days as (
    select station_id, tn_day as local_day, min(temperature_min_c) as tn_all_c, count(temperature_min_c) as tmin_hours_observed
    from hourly
    group by station_id, tn_day
),

tx_days as (
    select station_id, tx_day as local_day, max(temperature_max_c) as tx_all_c, count(temperature_max_c) as tmax_hours_observed
    from hourly
    group by station_id, tx_day
),

station_days as (
    select station_id, local_day from local_days
    union
    select station_id, local_day from tn_days
    union
    select station_id, local_day from tx_days
),

daily as (
    select
        sd.station_id,
        sd.local_day,
        cast({{ local_day_hours('sd.local_day') }} as {{ dbt.type_int() }}) as day_hours,
        tn.tn_all_c,
        coalesce(tn.tmin_hours_observed, 0) as tmin_hours_observed,
        tx.tx_all_c,
        coalesce(tx.tmax_hours_observed, 0) as tmax_hours_observed,
        ld.tmean_all_c,
        coalesce(ld.hours_observed, 0) as hours_observed,
        ld.rain_all_mm,
        coalesce(ld.rain_hours_observed, 0) as rain_hours_observed
    from station_days as sd
    left join local_days as ld on ld.station_id = sd.station_id and ld.local_day = sd.local_day
    left join tn_days as tn on tn.station_id = sd.station_id and tn.local_day = sd.local_day
    left join tx_days as tx on tx.station_id = sd.station_id and tx.local_day = sd.local_day
)

select
    d.station_id,
    d.local_day,
    case when d.tmin_hours_observed >= {{ min_share }} * 24 then d.tn_all_c end as tmin_c,
    case when d.tmax_hours_observed >= {{ min_share }} * 24 then d.tx_all_c end as tmax_c,
    case when d.hours_observed >= {{ min_share }} * d.day_hours then d.tmean_all_c end as tmean_c,
    case when d.rain_hours_observed >= {{ min_share }} * d.day_hours then d.rain_all_mm end as rain_mm,
    d.hours_observed,
    d.hours_observed / cast(d.day_hours as double precision) as completeness,
    d.tmin_hours_observed,
    d.tmax_hours_observed,
    d.rain_hours_observed,
    d.day_hours,
    current_timestamp as _built_at
from daily as d
{% if is_incremental() %}
where d.local_day in (select day from rebuild)
{% endif %}
