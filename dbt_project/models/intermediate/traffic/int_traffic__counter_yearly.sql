-- Yearly traffic of each road counter over its COMPLETE local days (every hour measured), the
-- base of the traffic marts. Averages are over complete days only: an incomplete day is left
-- out, never counted as a low-traffic day. Grain: one row per (counts_key, counter_id, year) with at least
-- one counted hour in the year.
-- * avg_daily_flow_*: mean daily flow (veh/day) over the complete days of the year, of its
--   working days (calendar is_working_day), of its rainy days (is_rainy) and dry days
--   (is_rainy = false; a day without weather is neither);
-- * peak_hour_flow_sum / daily_flow_sum: sums over complete days, so that the peak-hour share
--   is flow-weighted (sum of daily peak-hour flows / sum of daily flows) at every level;
-- * congestion_hours_sum / congestion_days: over the days whose occupancy is measured every hour.
select
    d.counts_key,
    max(ds.partner_id) as partner_id,
    d.counter_id,
    cast(extract(year from d.local_day) as {{ dbt.type_int() }}) as year,
    max(c.code_commune) as code_commune,
    count(*) as days_measured,
    count(case when d.is_complete then 1 end) as complete_days,
    avg(d.daily_flow_veh) as avg_daily_flow_veh,
    count(case when d.is_complete and d.is_working_day then 1 end) as complete_working_days,
    avg(case when d.is_working_day then d.daily_flow_veh end) as avg_daily_flow_working_days,
    sum(d.daily_flow_veh) as daily_flow_sum,
    sum(d.peak_hour_flow) as peak_hour_flow_sum,
    sum(d.congestion_hours) as congestion_hours_sum,
    count(d.congestion_hours) as congestion_days,
    count(case when d.is_complete and d.is_rainy is not null then 1 end) as complete_days_with_weather,
    count(case when d.is_complete and d.is_rainy then 1 end) as complete_rainy_days,
    avg(case when d.is_rainy then d.daily_flow_veh end) as avg_daily_flow_rainy_days,
    count(case when d.is_complete and not d.is_rainy then 1 end) as complete_dry_days,
    avg(case when not d.is_rainy then d.daily_flow_veh end) as avg_daily_flow_dry_days
from {{ ref('int_traffic__counter_daily') }} as d
left join {{ ref('int_traffic__counters') }} as c on c.counts_key = d.counts_key and c.counter_id = d.counter_id
left join {{ source('registry', 'datasets') }} as ds on ds.dataset_key = d.counts_key
group by d.counts_key, d.counter_id, extract(year from d.local_day)
