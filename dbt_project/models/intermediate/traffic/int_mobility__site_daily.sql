-- Daily passages per counting site and mobility type from the national comptage-mobilités
-- schema (measures → channels → sites, through the registry links: role `channels` of the
-- measures, role `sites` of the channels). Each Europe/Paris local day (23, 24 or 25 hours)
-- gathers the intervals that START on it (stg_comptage_mobilites_measure.local_day); a channel's
-- day is complete when its intervals cover the whole local day, or when it is one daily interval
-- (producers stamp DST days wrongly: a daily count is that day's count whatever its stamped
-- length). A site-mode day is complete when every channel the channel list declares for the
-- site and mode (both directions, typically) delivered a complete day.
-- Grain: (measures_key, site_id, mobility_type, local_day).
with measures as (
    select dataset_key as measures_key, partner_id, channel_id, local_day, interval_s, passages
    from {{ ref('stg_comptage_mobilites_measure') }}
),

channels as (
    select l.dataset_key as measures_key, c.dataset_key as channels_key, c.channel_id, c.site_id, c.mobility_type
    from {{ ref('stg_comptage_mobilites_channel') }} as c
    inner join {{ source('registry', 'dataset_links') }} as l
        on l.linked_dataset_key = c.dataset_key and l.role = 'channels'
),

channel_days as (
    select
        m.measures_key,
        m.partner_id,
        ch.channels_key,
        ch.site_id,
        ch.mobility_type,
        m.channel_id,
        m.local_day,
        sum(m.passages) as passages,
        count(m.passages) as intervals_counted,
        count(*) as intervals,
        sum(case when m.passages is not null then m.interval_s else 0 end) as counted_s,
        max(m.interval_s) as longest_interval_s
    from measures as m
    inner join channels as ch on ch.measures_key = m.measures_key and ch.channel_id = m.channel_id
    group by m.measures_key, m.partner_id, ch.channels_key, ch.site_id, ch.mobility_type, m.channel_id, m.local_day
),

expected_channels as (  -- how many channels the list declares per site and mode
    select measures_key, channels_key, site_id, mobility_type, count(distinct channel_id) as expected
    from channels
    group by measures_key, channels_key, site_id, mobility_type
),

judged as (
    select
        *,
        intervals_counted = intervals and (
            (intervals = 1 and longest_interval_s between 22 * 3600 and 26 * 3600)
            or counted_s >= 3600 * {{ local_day_hours('local_day') }}
        ) as is_complete
    from channel_days
)

select
    j.measures_key,
    max(j.partner_id) as partner_id,
    j.channels_key,
    j.site_id,
    j.mobility_type,
    j.local_day,
    sum(j.passages) as passages,
    count(*) as channels,
    max(e.expected) as channels_expected,
    bool_and(j.is_complete) and count(*) = max(e.expected) as is_complete
from judged as j
inner join expected_channels as e
    on e.measures_key = j.measures_key and e.channels_key = j.channels_key
   and e.site_id = j.site_id and e.mobility_type = j.mobility_type
group by j.measures_key, j.channels_key, j.site_id, j.mobility_type, j.local_day
