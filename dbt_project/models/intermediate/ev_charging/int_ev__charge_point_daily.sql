{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['charge_point_id', 'local_day'],
) }}
-- How long each charging point spent in each state on each Europe/Paris local day (23, 24 or
-- 25 hours), from the IRVE dynamic status events. Grain: one row per (charge_point_id,
-- local_day), from the day of the point's first event (any dynamic layout: int_ev__status_events), for every local day on which the feed
-- has at least one event (of any point): a day the feed did not cover has no row.
--
-- Method: an event's state holds from its horodatage until the point's next event; the last
-- event holds until the end of the last local day of the feed. So the state at 00:00 comes
-- from the point's last event before midnight, possibly days earlier (status feeds publish
-- changes, not heartbeats). Each interval is cut at local midnights, durations are in UTC
-- seconds (a 25-hour day counts 25 hours).
-- * occupied_hours: occupancy 'occupied' or 'reserved' (occupe | reserve: not available to
--   another driver); in_service_hours: status 'in_service'; observed_hours: any state
--   reported (the time before the point's very first event is not observed);
-- * occupied_share_pct / in_service_share_pct: those hours / day_hours (the whole local day):
--   a point seen 08:00 occupe, 10:00 libre and never before is occupied 2 h / 24 h = 8.33 %.
--   Ratios over the observed time are built from the hours by the marts.
--
-- Incremental: rebuilds every feed day from the earliest local day touched by new status
-- deliveries (days_to_rebuild) to the end of the feed, because a late event changes the state
-- carried into all the following days; in the daily routine that is the last day only.
{%- set tz = var('timezone') %}
{#- the first local day to rebuild, fetched once as a literal: the feed's days and the bound on the
    days are then read from that day on, not from every event of the history -#}
{%- set first_day = none %}
{%- if is_incremental() and execute %}
    {%- set first_day = run_query('select min(day) from (' ~ days_to_rebuild(ref('int_ev__status_events'),
                                  local_day('observed_at')) ~ ') as touched').columns[0].values()[0] %}
{%- endif %}
with events as (  -- the state as three flags: one byte each through the window below, not two strings
                 -- (with the strings, three years of a region's events exceeded DuckDB's memory limit)
    select
        charge_point_id,
        observed_at,
        occupancy in ('occupied', 'reserved') as is_occupied,
        status = 'in_service' as is_in_service,
        occupancy = 'unknown' or status = 'unknown' as is_unknown
    from {{ ref('int_ev__status_events') }}
),

feed_days as (
    select distinct {{ local_day('observed_at') }} as local_day
    from events
    {%- if is_incremental() %}
    -- (every instant of a local day on or after first_day is on or after the UTC day before it)
    where {% if first_day %}observed_at >= cast('{{ (first_day - modules.datetime.timedelta(days=1)).isoformat() }} 00:00:00+00' as timestamp with time zone){% else %}1 = 0{% endif %}
    {%- endif %}
),

feed_end as (  -- the end of the feed: midnight after its last local day (a UTC instant)
    select cast(cast({{ dbt.dateadd('day', 1, 'max(local_day)') }} as date) as timestamp) at time zone '{{ tz }}' as ends_at
    from feed_days
),

days as (
    select
        local_day,
        cast(local_day as timestamp) at time zone '{{ tz }}' as day_start,
        cast(cast({{ dbt.dateadd('day', 1, 'local_day') }} as date) as timestamp) at time zone '{{ tz }}' as day_end,
        cast({{ local_day_hours('local_day') }} as {{ dbt.type_int() }}) as day_hours
    from feed_days
    {%- if is_incremental() %}
    -- a new event changes the state carried into every later day: rebuild from the earliest
    -- touched day to the end of the feed
    where {% if first_day %}local_day >= cast('{{ first_day.isoformat() }}' as date){% else %}1 = 0{% endif %}
    {%- endif %}
),

build_window as (
    select min(day_start) as starts_at, max(day_end) as ends_at
    from days
),

window_events as (
    -- the events inside the days to build …
    select e.charge_point_id, e.observed_at, e.is_occupied, e.is_in_service, e.is_unknown
    from events as e
    cross join build_window as w
    where e.observed_at >= w.starts_at and e.observed_at < w.ends_at
    union all
    -- … and each point's last event before them: the state it is in when the window opens
    select e.charge_point_id, e.observed_at, e.is_occupied, e.is_in_service, e.is_unknown
    from events as e
    inner join (
        select ev.charge_point_id, max(ev.observed_at) as observed_at
        from events as ev
        cross join build_window as w
        where ev.observed_at < w.starts_at
        group by ev.charge_point_id
    ) as last_before
        on last_before.charge_point_id = e.charge_point_id and last_before.observed_at = e.observed_at
),

intervals as (
    select
        we.charge_point_id,
        we.is_occupied,
        we.is_in_service,
        we.is_unknown,
        we.observed_at as starts_at,
        coalesce(
            lead(we.observed_at) over (partition by we.charge_point_id order by we.observed_at),
            fe.ends_at
        ) as ends_at
    from window_events as we
    cross join feed_end as fe
),

spanned as (  -- each interval once per local day it overlaps, to join the days on the day itself:
              -- a range join of every interval with every day (starts < day end and ends > day
              -- start) held three years of a region's events beyond DuckDB's memory limit
    select
        i.charge_point_id, i.is_occupied, i.is_in_service, i.is_unknown, i.starts_at, i.ends_at,
        {{ local_days_spanned('i.starts_at', 'i.ends_at') }} as local_day
    from intervals as i
),

pieces as (  -- each interval cut at local midnights
    select
        i.charge_point_id,
        d.local_day,
        d.day_hours,
        i.is_occupied,
        i.is_in_service,
        i.is_unknown,
        {{ dbt.datediff(
            'case when i.starts_at > d.day_start then i.starts_at else d.day_start end',
            'case when i.ends_at < d.day_end then i.ends_at else d.day_end end',
            'second') }} as seconds
    from spanned as i
    inner join days as d
        on d.local_day = i.local_day
),

daily as (
    select
        charge_point_id,
        local_day,
        day_hours,
        sum(seconds) / 3600.0 as observed_hours,
        sum(case when is_occupied then seconds else 0 end) / 3600.0 as occupied_hours,
        sum(case when is_in_service then seconds else 0 end) / 3600.0 as in_service_hours,
        sum(case when is_unknown then seconds else 0 end) / 3600.0 as unknown_hours
    from pieces
    group by charge_point_id, local_day, day_hours
)

select
    charge_point_id,
    local_day,
    day_hours,
    observed_hours,
    occupied_hours,
    in_service_hours,
    unknown_hours,
    100.0 * occupied_hours / day_hours as occupied_share_pct,
    100.0 * in_service_hours / day_hours as in_service_share_pct,
    observed_hours = day_hours as is_fully_observed,
    current_timestamp as _built_at
from daily
