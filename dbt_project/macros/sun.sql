{#-
  sun_event(day, latitude, longitude, event, elevation_deg=-0.833)

  The UTC instant (TIMESTAMPTZ) at which the Sun's centre crosses `elevation_deg` on the
  Europe/Paris local `day` (a DATE expression) at (latitude, longitude), degrees WGS84.
    event          'sunrise' (rising crossing) or 'sunset' (setting crossing): a Jinja string
    elevation_deg  -0.833 sunrise/sunset (standard refraction + the Sun's semi-diameter),
                   -6 civil dawn/dusk (-12 nautical, -18 astronomical)
  NULL when the Sun does not cross that elevation that day (polar day or night).

  NOAA solar equations, in plain SQL: the Sun's position (declination, equation of time) from
  the Julian century as in NOAA's solar calculator (geometric mean longitude and anomaly,
  equation of centre, apparent longitude, corrected obliquity), then the hour angle at
  `elevation_deg`: event (UTC minutes) = 720 - 4 (longitude ± hour angle) - equation of time.
  Why not NOAA's short "general solar position" series (fractional year gamma): its declination
  is off by up to 0.47° in 2024 (3 min on sunrise/sunset at 43.6° N, checked against astral).
  The position is evaluated once, at the event's approximate instant (solar time
  12 h ∓ (90 - elevation_deg)/15 h) rather than at local noon: the declination moves up to
  0.4°/day, which at noon costs up to 52 s, here at most ~21 s (sunrise/sunset) and ~28 s
  (civil twilight) from astral 3.2 for the region, 2020-2030; most of the rest is astral's own
  refraction model (tests/dbt_project/test_sun.py).
  Only "00:00 UTC of day + seconds as TIMESTAMPTZ" goes through adapter.dispatch.
-#}
{% macro sun_event(day, latitude, longitude, event, elevation_deg=-0.833) -%}
{%- if event not in ('sunrise', 'sunset') -%}
    {{ exceptions.raise_compiler_error("sun_event: event must be 'sunrise' or 'sunset', got " ~ event) }}
{%- endif -%}
{%- set sign = '-' if event == 'sunrise' else '+' -%}
{#- UTC hour of the event's approximate instant, on the UTC date equal to `day` -#}
{%- set hour_utc -%}
(12 - ({{ longitude }}) / 15.0 {{ sign }} (90 - ({{ elevation_deg }})) / 15.0)
{%- endset -%}
{#- Julian centuries since J2000.0 (2000-01-01 12:00 UTC) -#}
{%- set t -%}
(({{ dbt.datediff("cast('2000-01-01' as date)", day, 'day') }} - 0.5 + {{ hour_utc }} / 24.0) / 36525.0)
{%- endset -%}
{%- set mean_long -%}(280.46646 + {{ t }} * (36000.76983 + {{ t }} * 0.0003032)){%- endset -%}
{%- set mean_anom -%}(357.52911 + {{ t }} * (35999.05029 - 0.0001537 * {{ t }})){%- endset -%}
{%- set ecc -%}(0.016708634 - {{ t }} * (0.000042037 + 0.0000001267 * {{ t }})){%- endset -%}
{%- set centre -%}
(sin(radians({{ mean_anom }})) * (1.914602 - {{ t }} * (0.004817 + 0.000014 * {{ t }}))
 + sin(radians(2 * {{ mean_anom }})) * (0.019993 - 0.000101 * {{ t }})
 + sin(radians(3 * {{ mean_anom }})) * 0.000289)
{%- endset -%}
{%- set omega -%}(125.04 - 1934.136 * {{ t }}){%- endset -%}
{%- set app_long -%}({{ mean_long }} + {{ centre }} - 0.00569 - 0.00478 * sin(radians({{ omega }}))){%- endset -%}
{%- set obliq -%}
(23 + (26 + (21.448 - {{ t }} * (46.815 + {{ t }} * (0.00059 - {{ t }} * 0.001813))) / 60.0) / 60.0
 + 0.00256 * cos(radians({{ omega }})))
{%- endset -%}
{%- set decl -%}asin(sin(radians({{ obliq }})) * sin(radians({{ app_long }}))){%- endset -%}
{%- set y -%}power(tan(radians({{ obliq }}) / 2), 2){%- endset -%}
{%- set eqtime_min -%}
(4 * degrees({{ y }} * sin(2 * radians({{ mean_long }}))
             - 2 * {{ ecc }} * sin(radians({{ mean_anom }}))
             + 4 * {{ ecc }} * {{ y }} * sin(radians({{ mean_anom }})) * cos(2 * radians({{ mean_long }}))
             - 0.5 * {{ y }} * {{ y }} * sin(4 * radians({{ mean_long }}))
             - 1.25 * {{ ecc }} * {{ ecc }} * sin(2 * radians({{ mean_anom }}))))
{%- endset -%}
{#- cosine of the hour angle at which the Sun's centre is at elevation_deg -#}
{%- set cos_ha -%}
((sin(radians({{ elevation_deg }})) - sin(radians({{ latitude }})) * sin({{ decl }}))
 / (cos(radians({{ latitude }})) * cos({{ decl }})))
{%- endset -%}
{%- set ha_sign = '+' if event == 'sunrise' else '-' -%}
(case when abs({{ cos_ha }}) <= 1 then
    {{ sun_utc_midnight_plus_seconds(day,
        '60 * (720 - 4 * ((' ~ longitude ~ ') ' ~ ha_sign ~ ' degrees(acos(' ~ cos_ha ~ '))) - ' ~ eqtime_min ~ ')') }}
end)
{%- endmacro %}

{#- 00:00 UTC of `day` plus `seconds` (a numeric SQL expression), as TIMESTAMPTZ (µs precision). -#}
{% macro sun_utc_midnight_plus_seconds(day, seconds) -%}
    {{ return(adapter.dispatch('sun_utc_midnight_plus_seconds', 'territoire_hub')(day, seconds)) }}
{%- endmacro %}

{% macro duckdb__sun_utc_midnight_plus_seconds(day, seconds) -%}
    ((cast({{ day }} as timestamp) at time zone 'UTC') + to_microseconds(cast(round(1000000 * ({{ seconds }})) as bigint)))
{%- endmacro %}

{% macro default__sun_utc_midnight_plus_seconds(day, seconds) -%}
    timestamp_micros(unix_micros(cast({{ day }} as timestamp)) + cast(round(1000000 * ({{ seconds }})) as bigint))
{%- endmacro %}
