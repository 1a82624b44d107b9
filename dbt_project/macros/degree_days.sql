{#-
  Heating degree-days of one day, "météo" method (Météo-France, MISSION.md):
      max(0, base - (tmin + tmax) / 2)
  tmin/tmax: the Météo-France climatological daily TN/TX (°C); base in °C (18 for the DJU
  published by Météo-France, 17 for the SDES climate correction).
  NULL when tmin or tmax is NULL (greatest() ignores NULLs on some engines, so guarded).
  Tested by the dbt unit test of int_weather__commune_daily (models/intermediate/weather/_weather.yml).
-#}
{% macro degree_days(tmin, tmax, base) -%}
    (case when ({{ tmin }}) is not null and ({{ tmax }}) is not null
          then greatest(0.0, {{ base }} - (({{ tmin }}) + ({{ tmax }})) / 2.0) end)
{%- endmacro %}
