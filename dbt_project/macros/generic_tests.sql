{#- Rows whose combination of columns is not unique (dbt_utils-like, no package download). -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- Values outside [min_value, max_value] (either bound optional); nulls pass. -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, where=none) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
  and (false
  {%- if min_value is not none %} or {{ column_name }} < {{ min_value }}{% endif %}
  {%- if max_value is not none %} or {{ column_name }} > {{ max_value }}{% endif %})
  {%- if where %} and ({{ where }}){% endif %}
{% endtest %}

{#- A null value must come with a reason in another column. -#}
{% test null_has_reason(model, column_name, reason_column) %}
select {{ column_name }}, {{ reason_column }}
from {{ model }}
where {{ column_name }} is null and {{ reason_column }} is null
{% endtest %}

{#-
  Day length (sunrise to sunset, hours) outside what the latitude allows: at latitude φ the
  longest and shortest days are those of the solstices (Sun's declination ±23.44°), with the
  hour angle of the -0.833° elevation; 0.1 h of slack covers the equation of time's day-to-day
  drift and the NOAA/refraction approximations. Valid everywhere a French commune lies, from
  Bray-Dunes (51.1° N: 7.8 h to 16.6 h) through Saint-Pierre-et-Miquelon (47° N) to the
  southern overseas territories; beyond the polar circles a bound may be 0 h or 24 h.
-#}
{% test daylight_within_latitude_bounds(model, column_name, latitude_column) %}
with bounds as (
    select
        {{ column_name }} as daylight_hours,
        {{ latitude_column }} as latitude,
        (sin(radians(-0.833)) - sin(radians({{ latitude_column }})) * sin(radians(23.44)))
            / (cos(radians({{ latitude_column }})) * cos(radians(23.44))) as cos_north,
        (sin(radians(-0.833)) - sin(radians({{ latitude_column }})) * sin(radians(-23.44)))
            / (cos(radians({{ latitude_column }})) * cos(radians(-23.44))) as cos_south
    from {{ model }}
    where {{ column_name }} is not null
),
hours as (
    select
        daylight_hours,
        latitude,
        -- day length with the Sun at +23.44° and at -23.44° declination
        case when cos_north <= -1 then 24.0 when cos_north >= 1 then 0.0 else 2 * degrees(acos(cos_north)) / 15 end as h_north,
        case when cos_south <= -1 then 24.0 when cos_south >= 1 then 0.0 else 2 * degrees(acos(cos_south)) / 15 end as h_south
    from bounds
)
select daylight_hours, latitude, least(h_north, h_south) as shortest, greatest(h_north, h_south) as longest
from hours
where daylight_hours < least(h_north, h_south) - 0.1
   or daylight_hours > greatest(h_north, h_south) + 0.1
{% endtest %}

{#-
  Station-days where the DJU from Météo-France's published daily TN/TX and the DJU from the TN/TX
  the hub computes from the hourly files both exist and differ by more than 0.05: the hub's
  climatological windows (TN 18 UTC J-1 → 18 UTC J, TX 06 UTC J → 06 UTC J+1) are Météo-France's,
  so they must agree to the rounding of the published tenths.
-#}
{% test daily_and_hourly_degree_days_agree(model) %}
select station_id, local_day, dju_18_quotidien, dju_18_horaire
from {{ model }}
where dju_18_quotidien is not null and dju_18_horaire is not null
  and abs(dju_18_quotidien - dju_18_horaire) > 0.05
{% endtest %}
