{#-
  Incremental time series are rebuilt by local day. In an incremental run, the days to
  rebuild are:
    - the Dagster partition window, when vars min_date / max_date are given;
    - otherwise the days touched by deliveries loaded since this model was last built
      (staging rows carry _delivered_at, incremental models _built_at).
  `days_to_rebuild(relation, day_expr, margin_days)` returns a SELECT of those days; margin
  widens each day by ±N days for indicators whose window crosses midnight (Météo-France
  TN/TX windows).

  Usage in a model:
    {% if is_incremental() %}
      where {{ local_day('s.observed_at') }} in ({{ days_to_rebuild(ref('stg_x'), local_day('observed_at')) }})
    {% endif %}
-#}
{% macro days_to_rebuild(relation, day_expr, margin_days=0) -%}
{%- if var('min_date') -%}
    select cast(d as date) as day
    from (
        select unnest(generate_series(
            cast('{{ var("min_date") }}' as date) - {{ margin_days }},
            cast('{{ var("max_date") or var("min_date") }}' as date) + {{ margin_days }},
            interval 1 day)) as d
    ) as window_days
{%- else -%}
    select distinct cast(touched.day + cast(offs.k as integer) as date) as day
    from (
        select {{ day_expr }} as day
        from {{ relation }}
        where _delivered_at > (select coalesce(max(_built_at), cast('1900-01-01' as timestamp)) from {{ this }})
    ) as touched
    cross join (select unnest(generate_series(-{{ margin_days }}, {{ margin_days }})) as k) as offs
{%- endif -%}
{%- endmacro %}
