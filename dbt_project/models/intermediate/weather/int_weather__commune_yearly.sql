-- Yearly weather of every region commune: sums over the days with data of
-- int_weather__commune_daily (a partial year gives partial sums: days_with_data and
-- heating_season_days_with_data say how many days they cover, days_in_year of how many).
-- dju_17_heating_season: DJU base 17 °C over January–May and October–December (SDES climate
-- correction). Grain: (code_commune, year).
select
    d.code_commune,
    cast(extract(year from d.local_day) as {{ dbt.type_int() }}) as year,
    -- exact decimal sums: a full refresh and an incremental build agree to the last digit
    cast(sum(cast(d.dju_18 as decimal(18, 6))) as {{ type_double() }}) as dju_18,
    cast(sum(case when extract(month from d.local_day) not between 6 and 9 then cast(d.dju_17 as decimal(18, 6)) end) as {{ type_double() }}) as dju_17_heating_season,
    cast(sum(cast(d.rain_mm as decimal(18, 6))) as {{ type_double() }}) as rain_mm,
    sum(case when d.is_rainy then 1 else 0 end) as rainy_days,
    count(d.dju_18) as days_with_data,
    count(case when extract(month from d.local_day) not between 6 and 9 then d.dju_17 end) as heating_season_days_with_data,
    count(d.rain_mm) as rain_days_with_data,
    max(y.days_in_year) as days_in_year
from {{ ref('int_weather__commune_daily') }} as d
inner join (
    select year, count(*) as days_in_year from {{ ref('int_calendar__days') }} group by year
) as y on y.year = extract(year from d.local_day)
group by d.code_commune, extract(year from d.local_day)
