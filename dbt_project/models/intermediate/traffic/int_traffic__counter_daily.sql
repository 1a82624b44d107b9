{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['counts_key', 'counter_id', 'local_day'],
) }}
-- Daily traffic of each road counter on Europe/Paris local days (23, 24 or 25 hours).
-- Grain: one row per (counts_key, counter_id, local_day) with at least one counted hour.
--
-- * hours_measured: hours of the local day with a flow value; is_complete: every hour of the
--   local day has one (hours_measured = day_hours). The flow measures (daily_flow_veh,
--   peak_hour_flow, peak_hour_share_pct) are NULL on an incomplete day: a day with missing
--   hours would be underestimated, it is not filled in.
-- * congestion_hours: hours whose loop occupancy is strictly above var
--   congestion_occupancy_pct (25 %: the critical occupancy of a loop detector, where traffic
--   turns from free flow to congested, is commonly 20–30 %); NULL unless the occupancy is
--   measured in every hour of the day (occupancy_hours_measured = day_hours).
-- * code_commune from int_traffic__counters; is_working_day from int_calendar__days; is_rainy
--   (rain ≥ 1 mm) from int_weather__commune_daily of the counter's commune, NULL without
--   weather for that commune and day.
--
-- Incremental: rebuilds the local days touched by new traffic deliveries (days_to_rebuild),
-- plus the days whose commune, calendar or weather flag changed since they were built (late
-- weather, a corrected site list), so a late enrichment never leaves a stale flag.
{%- set congestion_threshold = var('congestion_occupancy_pct', 25) %}
{%- if is_incremental() %}
{%- set days_query %}
    {{ days_to_rebuild(ref('stg_comptage_routier_horaire'), local_day('counted_at')) }}
    union
    select built.local_day as day
    from {{ this }} as built
    left join {{ ref('int_traffic__counters') }} as counters
        on counters.counts_key = built.counts_key and counters.counter_id = built.counter_id
    left join {{ ref('int_calendar__days') }} as calendar on calendar.local_day = built.local_day
    left join {{ ref('int_weather__commune_daily') }} as weather
        on weather.code_commune = counters.code_commune and weather.local_day = built.local_day
    where built.code_commune is distinct from counters.code_commune
       or built.is_working_day is distinct from calendar.is_working_day
       or built.is_rainy is distinct from weather.is_rainy
{%- endset %}
{%- set rebuild = rebuild_filter(days_query, 'counted_at', local_day('counted_at')) %}
{%- endif %}
with
hourly as (
    select
        dataset_key as counts_key,
        counter_id,
        {{ local_day('counted_at') }} as local_day,
        flow_veh_h,
        occupancy_pct
    from {{ ref('stg_comptage_routier_horaire') }}
    {%- if is_incremental() %}
    where {{ rebuild }}   -- a UTC range (pushed down to the scan), then the exact local days
    {%- endif %}
),

daily as (
    select
        counts_key,
        counter_id,
        local_day,
        cast({{ local_day_hours('local_day') }} as {{ dbt.type_int() }}) as day_hours,
        count(flow_veh_h) as hours_measured,
        count(occupancy_pct) as occupancy_hours_measured,
        sum(flow_veh_h) as flow_sum,
        max(flow_veh_h) as flow_max,
        count(case when occupancy_pct > {{ congestion_threshold }} then 1 end) as hours_above_threshold
    from hourly
    group by counts_key, counter_id, local_day
)

select
    d.counts_key,
    d.counter_id,
    d.local_day,
    d.day_hours,
    d.hours_measured,
    d.hours_measured = d.day_hours as is_complete,
    case when d.hours_measured = d.day_hours then d.flow_sum end as daily_flow_veh,
    case when d.hours_measured = d.day_hours then d.flow_max end as peak_hour_flow,
    case when d.hours_measured = d.day_hours and d.flow_sum > 0
        then 100.0 * d.flow_max / d.flow_sum end as peak_hour_share_pct,
    d.occupancy_hours_measured,
    case when d.occupancy_hours_measured = d.day_hours then d.hours_above_threshold end as congestion_hours,
    counters.code_commune,
    calendar.is_working_day,
    weather.is_rainy,
    current_timestamp as _built_at
from daily as d
left join {{ ref('int_traffic__counters') }} as counters
    on counters.counts_key = d.counts_key and counters.counter_id = d.counter_id
left join {{ ref('int_calendar__days') }} as calendar on calendar.local_day = d.local_day
left join {{ ref('int_weather__commune_daily') }} as weather
    on weather.code_commune = counters.code_commune and weather.local_day = d.local_day
