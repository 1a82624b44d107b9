-- French public holidays (jours fériés, Code du travail L3133-1) of every year of the
-- calendar: 1 Jan, Easter Monday, 1 May, 8 May, Ascension, Whit Monday, 14 Jul, 15 Aug,
-- 1 Nov, 11 Nov, 25 Dec. Easter by the anonymous Gregorian algorithm (Meeus/Jones/Butcher),
-- integer arithmetic in plain SQL. Alsace-Moselle's extra days (Good Friday, 26 Dec) do not
-- apply to the region. Grain: one row per holiday_day.
with years as (
    -- every year from the first to the last of the deliveries' periods ('YYYYMMDD-YYYYMMDD' spans)
    select distinct first_year + o.n as year
    from (
        select
            min(cast(substr(period, 1, 4) as {{ dbt.type_int() }})) as first_year,
            max(cast(case when length(period) = 17 then substr(period, 10, 4) else substr(period, 1, 4) end
                     as {{ dbt.type_int() }})) as last_year
        from {{ source('landing', 'deliveries') }} as d
        inner join {{ source('registry', 'datasets') }} as ds on ds.dataset_key = d.dataset_key
        where d.status in ('loaded', 'partial') and ds.cadence in ('daily', 'monthly', 'yearly') and d.period <> 'snapshot'
    ) as span
    cross join (
        select a.n + 10 * b.n as n
        from (select 0 as n union all select 1 union all select 2 union all select 3 union all select 4
              union all select 5 union all select 6 union all select 7 union all select 8 union all select 9) as a
        cross join (select 0 as n union all select 1 union all select 2 union all select 3 union all select 4
              union all select 5 union all select 6 union all select 7 union all select 8 union all select 9) as b
    ) as o
    where span.first_year is not null and first_year + o.n <= last_year
),

easter_steps as (
    select
        year,
        mod(year, 19) as a,
        floor(year / 100) as b,
        mod(year, 100) as c
    from years
),

easter_steps_2 as (
    select
        year, a, b, c,
        floor(b / 4) as d,
        mod(b, 4) as e,
        floor((b - floor((b + 8) / 25) + 1) / 3) as g,
        floor(c / 4) as i,
        mod(c, 4) as k
    from easter_steps
),

easter_steps_3 as (
    select year, a, e, i, k, mod(19 * a + b - d - g + 15, 30) as h
    from easter_steps_2
),

easter_steps_4 as (
    select year, a, h, mod(32 + 2 * e + 2 * i - h - k, 7) as l
    from easter_steps_3
),

easter as (
    select
        year,
        -- month (3 or 4) and day of Easter Sunday, as an offset from 21 March
        {{ dbt.dateadd('day',
            '(floor((h + l - 7 * floor((a + 11 * h + 22 * l) / 451) + 114) / 31) - 3) * 31'
            ~ ' + mod(h + l - 7 * floor((a + 11 * h + 22 * l) / 451) + 114, 31) + 1 - 21',
            "cast(cast(year as " ~ dbt.type_string() ~ ") || '-03-21' as date)") }} as easter_sunday
    from easter_steps_4
),

fixed as (
    select year, cast(cast(year as {{ dbt.type_string() }}) || '-' || md as date) as holiday_day, holiday_name
    from years
    cross join (
        select '01-01' as md, 'Jour de l''an' as holiday_name
        union all select '05-01', 'Fête du Travail'
        union all select '05-08', 'Victoire 1945'
        union all select '07-14', 'Fête nationale'
        union all select '08-15', 'Assomption'
        union all select '11-01', 'Toussaint'
        union all select '11-11', 'Armistice 1918'
        union all select '12-25', 'Noël'
    ) as days
),

movable as (
    select year, cast({{ dbt.dateadd('day', 1, 'easter_sunday') }} as date) as holiday_day, 'Lundi de Pâques' as holiday_name from easter
    union all
    select year, cast({{ dbt.dateadd('day', 39, 'easter_sunday') }} as date), 'Ascension' from easter
    union all
    select year, cast({{ dbt.dateadd('day', 50, 'easter_sunday') }} as date), 'Lundi de Pentecôte' from easter
)

select cast(year as {{ dbt.type_int() }}) as year, holiday_day, holiday_name from fixed
union all
select cast(year as {{ dbt.type_int() }}) as year, holiday_day, holiday_name from movable
