{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['station_id', 'local_day'],
) }}
-- Daily rain per station from the 6-minute files (MN_DD), by Europe/Paris local day: a
-- 6-minute slot belongs to the local day of its START (observed_at - 6 min). rain_mm is NULL
-- when fewer than 80 % of the day's slots (240 in a 24-hour day, 230 or 250 on DST days) were
-- observed. Grain: (station_id, local_day).
{%- set min_share = 0.8 %}
{% if is_incremental() %}
with rebuild as (
    {{ days_to_rebuild(ref('stg_meteo_france_6min'), local_day('observed_at')) }}
),
{% else %}
with
{% endif %}
slots as (
    select
        station_id,
        rain_mm,
        {{ local_day(dbt.dateadd('minute', -6, 'observed_at')) }} as local_day
    from {{ ref('stg_meteo_france_6min') }}
    {% if is_incremental() %}
    where {{ rebuild_filter(days_to_rebuild(ref('stg_meteo_france_6min'), local_day('observed_at')), 'observed_at') }}
    {% endif %}
),

daily as (
    select
        station_id,
        local_day,
        sum(rain_mm) as rain_all_mm,
        count(rain_mm) as slots_observed
    from slots
    {% if is_incremental() %}
    where local_day in (select day from rebuild)
    {% endif %}
    group by station_id, local_day
)

select
    station_id,
    local_day,
    case when slots_observed >= {{ min_share }} * 10 * {{ local_day_hours('local_day') }} then rain_all_mm end as rain_mm,
    slots_observed,
    cast(10 * {{ local_day_hours('local_day') }} as {{ dbt.type_int() }}) as day_slots,
    current_timestamp as _built_at
from daily
