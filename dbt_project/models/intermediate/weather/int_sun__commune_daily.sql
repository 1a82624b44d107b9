-- Sunrise, sunset and civil twilight of every located commune of the territory (its
-- location: chef-lieu or town-hall point) on every calendar day (sun_event macro, NOAA
-- equations). A commune without a location has no row (the lighting marts say why its
-- daylight measures are missing); beyond the polar circles (Terre Adélie) the Sun may not
-- rise or set on a day: those times are NULL. Grain: (code_commune, local_day).
with sun as (
    select
        c.code_commune,
        c.latitude,
        d.local_day,
        {{ sun_event('d.local_day', 'c.latitude', 'c.longitude', 'sunrise') }} as sunrise_at,
        {{ sun_event('d.local_day', 'c.latitude', 'c.longitude', 'sunset') }} as sunset_at,
        {{ sun_event('d.local_day', 'c.latitude', 'c.longitude', 'sunrise', -6) }} as civil_dawn_at,
        {{ sun_event('d.local_day', 'c.latitude', 'c.longitude', 'sunset', -6) }} as civil_dusk_at
    from {{ ref('int_calendar__days') }} as d
    cross join {{ ref('int_territory__communes') }} as c
    where c.latitude is not null and c.longitude is not null
)

select
    code_commune,
    latitude,
    local_day,
    sunrise_at,
    sunset_at,
    civil_dawn_at,
    civil_dusk_at,
    {{ dbt.datediff("sunrise_at", "sunset_at", "second") }} / 3600.0 as daylight_hours
from sun
