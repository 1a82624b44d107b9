-- Europe/Paris local days from 1 January of the earliest year to 31 December of the latest
-- year of the time-series deliveries (periods 'YYYY', 'YYYYMM', 'YYYYMMDD', 'YYYYMMDD-YYYYMMDD' of loaded
-- deliveries of daily, monthly and yearly datasets; inventories ('snapshot') ignored), so
-- the calendar depends on no other domain's model. Grain: one row per local_day.
with years as (
    select
        min(cast(substr(d.period, 1, 4) as {{ dbt.type_int() }})) as first_year,
        -- a period read from the content is 'YYYYMMDD-YYYYMMDD': its last year is after the dash
        max(cast(case when length(d.period) = 17 then substr(d.period, 10, 4) else substr(d.period, 1, 4) end
                 as {{ dbt.type_int() }})) as last_year
    from {{ source('landing', 'deliveries') }} as d
    inner join {{ source('registry', 'datasets') }} as ds on ds.dataset_key = d.dataset_key
    where d.status in ('loaded', 'partial')
      and ds.cadence in ('daily', 'monthly', 'yearly')
      and d.period <> 'snapshot'
),

digits as (
    select 0 as n union all select 1 union all select 2 union all select 3 union all select 4
    union all select 5 union all select 6 union all select 7 union all select 8 union all select 9
),

offsets as (  -- 0 … 99 999 days (273 years), plain SQL
    select d1.n + 10 * d2.n + 100 * d3.n + 1000 * d4.n + 10000 * d5.n as n
    from digits as d1, digits as d2, digits as d3, digits as d4, digits as d5
),

days as (
    select cast({{ dbt.dateadd('day', 'o.n', "cast(cast(y.first_year as " ~ dbt.type_string() ~ ") || '-01-01' as date)") }} as date) as local_day,
           y.last_year
    from years as y
    cross join offsets as o
    where y.first_year is not null
),

holidays as (
    select holiday_day, min(holiday_name) as holiday_name
    from {{ ref('int_calendar__public_holidays') }}
    group by holiday_day
),

calendar as (
    select
        days.local_day,
        cast(extract(year from days.local_day) as {{ dbt.type_int() }}) as year,
        cast(extract(month from days.local_day) as {{ dbt.type_int() }}) as month,
        -- ISO day of week, 1 = Monday … 7 = Sunday (plain arithmetic: 2024-01-01 was a Monday)
        cast(mod(mod({{ dbt.datediff("cast('2024-01-01' as date)", 'days.local_day', 'day') }}, 7) + 7, 7) + 1 as {{ dbt.type_int() }}) as iso_day_of_week,
        holidays.holiday_name as public_holiday_name,
        days.last_year
    from days
    left join holidays on holidays.holiday_day = days.local_day
)

select
    local_day,
    year,
    month,
    iso_day_of_week,
    iso_day_of_week >= 6 as is_weekend,
    public_holiday_name is not null as is_public_holiday,
    public_holiday_name,
    iso_day_of_week <= 5 and public_holiday_name is null as is_working_day,
    cast({{ local_day_hours('local_day') }} as {{ dbt.type_int() }}) as day_hours
from calendar
where year <= last_year
