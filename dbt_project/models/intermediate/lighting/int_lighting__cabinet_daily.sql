-- Electricity consumed by each lighting cabinet on each Europe/Paris local day, from the
-- differences of its cumulative meter index (kWh at the end of the day).
-- Grain: one row per (readings_key, cabinet_id, local_day), every day from the cabinet's first to its last
-- reading (the days without reading come from int_calendar__days).
--   measured                     : a reading the day before, consumption = index difference;
--   spread_over_missing_readings : readings missing in between; the difference between the two
--                                  surrounding readings is shared equally by the days it covers
--                                  (so yearly sums stay last − first index, split at the year end);
--   index_reset                  : the index went down (meter replaced or reset): consumption
--                                  unknown (null) for every day of that interval, never negative;
--   first_reading                : no earlier reading, consumption unknown (null).
with readings as (
    select partner_id, dataset_key as readings_key, cabinet_id, code_commune, reading_day, index_kwh
    from {{ ref('stg_eclairage_releves_armoire') }}
    where index_kwh is not null  -- an empty index cell is no reading: the interval spans it
),

intervals as (
    select
        partner_id,
        readings_key,
        cabinet_id,
        code_commune,
        reading_day,
        index_kwh,
        lag(reading_day) over (partition by readings_key, cabinet_id order by reading_day) as previous_reading_day,
        index_kwh - lag(index_kwh) over (partition by readings_key, cabinet_id order by reading_day) as index_difference_kwh
    from readings
),

days as (
    -- the reading days themselves
    select
        partner_id,
        readings_key,
        cabinet_id,
        code_commune,
        reading_day as local_day,
        index_kwh,
        previous_reading_day,
        reading_day,
        {{ dbt.datediff('previous_reading_day', 'reading_day', 'day') }} as days_in_interval,
        index_difference_kwh
    from intervals
    union all
    -- the days without reading inside an interval (calendar days strictly between its readings)
    select
        i.partner_id,
        i.readings_key,
        i.cabinet_id,
        i.code_commune,
        c.local_day,
        null as index_kwh,
        i.previous_reading_day,
        i.reading_day,
        {{ dbt.datediff('i.previous_reading_day', 'i.reading_day', 'day') }} as days_in_interval,
        i.index_difference_kwh
    from intervals as i
    inner join {{ ref('int_calendar__days') }} as c
        on c.local_day > i.previous_reading_day
       and c.local_day < i.reading_day
)

select
    partner_id,
    readings_key,
    cabinet_id,
    code_commune,
    local_day,
    index_kwh,
    reading_day as interval_end_day,
    days_in_interval,
    case
        when previous_reading_day is null then 'first_reading'
        when index_difference_kwh < 0 then 'index_reset'
        when days_in_interval = 1 then 'measured'
        else 'spread_over_missing_readings'
    end as consumption_status,
    case when index_difference_kwh >= 0 then index_difference_kwh / days_in_interval end as consumption_kwh
from days
