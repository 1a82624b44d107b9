{#- The Europe/Paris local day (23, 24 or 25 hours) of a UTC instant. -#}
{% macro local_day(ts) -%}
    {{ return(adapter.dispatch('local_day', 'territoire_hub')(ts)) }}
{%- endmacro %}

{% macro default__local_day(ts) -%}
    cast(from_utc_timestamp({{ ts }}, '{{ var("timezone") }}') as date)
{%- endmacro %}

{% macro duckdb__local_day(ts) -%}
    cast(timezone('{{ var("timezone") }}', {{ ts }}) as date)
{%- endmacro %}

{#- The Europe/Paris wall-clock time (naive timestamp) of a UTC instant. -#}
{% macro local_time(ts) -%}
    {{ return(adapter.dispatch('local_time', 'territoire_hub')(ts)) }}
{%- endmacro %}

{% macro default__local_time(ts) -%}
    from_utc_timestamp({{ ts }}, '{{ var("timezone") }}')
{%- endmacro %}

{% macro duckdb__local_time(ts) -%}
    timezone('{{ var("timezone") }}', {{ ts }})
{%- endmacro %}

{#- Length in hours of a Europe/Paris local day: 23 on the spring change, 25 on the autumn one. -#}
{% macro local_day_hours(day) -%}
    {{ return(adapter.dispatch('local_day_hours', 'territoire_hub')(day)) }}
{%- endmacro %}

{% macro duckdb__local_day_hours(day) -%}
    (epoch(cast(({{ day }} + interval 1 day) as timestamp) at time zone '{{ var("timezone") }}')
     - epoch(cast({{ day }} as timestamp) at time zone '{{ var("timezone") }}')) / 3600
{%- endmacro %}

{% macro default__local_day_hours(day) -%}
    (unix_timestamp(to_utc_timestamp(date_add({{ day }}, 1), '{{ var("timezone") }}'))
     - unix_timestamp(to_utc_timestamp({{ day }}, '{{ var("timezone") }}'))) / 3600
{%- endmacro %}

{#- One row per Europe/Paris local day the interval [starts_at, ends_at) overlaps (ends_at > starts_at):
    a set-returning select-list expression, each row the day (a date). -#}
{% macro local_days_spanned(starts_at, ends_at) -%}
    {{ return(adapter.dispatch('local_days_spanned', 'territoire_hub')(starts_at, ends_at)) }}
{%- endmacro %}

{% macro duckdb__local_days_spanned(starts_at, ends_at) -%}
    cast(unnest(generate_series({{ local_day(starts_at) }}, {{ local_day(ends_at ~ " - interval 1 microsecond") }}, interval 1 day)) as date)
{%- endmacro %}

{% macro default__local_days_spanned(starts_at, ends_at) -%}
    explode(sequence({{ local_day(starts_at) }}, {{ local_day(ends_at ~ " - interval 1 microsecond") }}, interval 1 day))
{%- endmacro %}
