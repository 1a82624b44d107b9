{#-
  Incremental time series are rebuilt by local day. In an incremental run, the days to
  rebuild are:
    - the Dagster partition window, when vars min_date / max_date are given;
    - otherwise the days touched by deliveries loaded since this model was last built
      (staging rows carry _delivered_at, incremental models _built_at).
  `days_to_rebuild(relation, day_expr, margin_days)` returns a SELECT of those days; margin
  widens each day by ±N days for indicators whose window crosses midnight (Météo-France
  TN/TX windows).

  Finding the touched days must not cost a scan of the whole history: the periods of the new
  deliveries (landing.deliveries, a small table) bound a date window first, written into the
  query as literal dates so the engine prunes the staging view to it.

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
    {%- set window = new_delivery_window(relation) -%}
    select distinct cast(touched.day + cast(offs.k as integer) as date) as day
    from (
        select {{ day_expr }} as day
        from {{ relation }}
        where _delivered_at > (select coalesce(max(_built_at), cast('1900-01-01' as timestamp)) from {{ this }})
        {%- if window == 'none' %}
          and false
        {%- elif window %}
          and {{ day_expr }} between cast('{{ window[0] }}' as date) and cast('{{ window[1] }}' as date)
        {%- endif %}
    ) as touched
    cross join (select unnest(generate_series(-{{ margin_days }}, {{ margin_days }})) as k) as offs
{%- endif -%}
{%- endmacro %}


{#-
  The local-day window covered by the periods of the deliveries loaded since {{ this }} (or
  `since`, another incremental model) was built, for the partner datasets of the formats the
  staging `relation` reads: [first day − 1, last day + 1]
  (a day of slack for files stamped in UTC), 'none' when there is no new delivery, or
  none (no bound) when a period is not a date ('snapshot') or at parse time. A period read from
  the content is 'YYYYMMDD-YYYYMMDD'.
-#}
{% macro new_delivery_window(relation, since=none) -%}
{%- if not execute -%}{{ return(none) }}{%- endif -%}
{%- set formats = [] -%}
{%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == relation.identifier -%}
    {%- for dep in node.depends_on.nodes if dep.startswith('source.territoire_hub.formats.') -%}
        {%- do formats.append(dep.split('.')[-1]) -%}
    {%- endfor -%}
{%- endfor -%}
{%- if not formats -%}{{ return(none) }}{%- endif -%}
{%- set query -%}
    select
        count(*) as deliveries,
        count(*) filter (where not regexp_matches(period, '^[0-9]{4}([0-9]{2}([0-9]{2})?)?$|^[0-9]{8}-[0-9]{8}$')) as undated,
        min(case length(period)
            when 17 then strptime(substr(period, 1, 8), '%Y%m%d')
            when 8 then strptime(period, '%Y%m%d')
            when 6 then strptime(period || '01', '%Y%m%d')
            when 4 then strptime(period || '0101', '%Y%m%d') end) as first_day,
        max(case length(period)
            when 17 then strptime(substr(period, 10, 8), '%Y%m%d')
            when 8 then strptime(period, '%Y%m%d')
            when 6 then strptime(period || '01', '%Y%m%d') + interval 1 month - interval 1 day
            when 4 then strptime(period || '0101', '%Y%m%d') + interval 1 year - interval 1 day end) as last_day
    from {{ source('landing', 'deliveries') }}
    where dataset_key in (select dataset_key from {{ source('registry', 'datasets') }}
                          where format in ('{{ formats | join("', '") }}'))
      and processed_at > (select coalesce(max(_built_at), cast('1900-01-01' as timestamp)) from {{ since or this }})
{%- endset -%}
{%- set row = run_query(query).rows[0] -%}
{%- if row[0] == 0 -%}{{ return('none') }}{%- endif -%}
{%- if row[1] > 0 -%}{{ return(none) }}{%- endif -%}
{{ return([(row[2] - modules.datetime.timedelta(days=1)).date().isoformat(),
           (row[3] + modules.datetime.timedelta(days=1)).date().isoformat()]) }}
{%- endmacro %}


{#-
  The filter of an incremental model's input rows, written with literals: the days
  `days_query` returns (a SELECT of one date column: days_to_rebuild, possibly with more days)
  are fetched once at compile time, then
    - `stamp` (a UTC instant) within [first day − margin_days, last day + 1 + margin_days) —
      a local day lies within a day of its UTC dates;
    - and, when `day_expr` is given, `day_expr` in the exact days.
  Literal bounds let DuckDB push the range below the staging views' window of current rows
  (`stamp` derives from a column of its partition): only those days are read, never the whole
  history — a bound computed by a subquery is not pushed. '1 = 0' when there is no day to rebuild.
-#}
{% macro rebuild_filter(days_query, stamp, day_expr=none, margin_days=1) -%}
{%- if not execute -%}{{ return('1 = 1') }}{%- endif -%}
{%- set days = run_query(days_query).columns[0].values() | reject('none') | sort | list -%}
{%- if not days -%}{{ return('1 = 0') }}{%- endif -%}
{%- set first = days[0] - modules.datetime.timedelta(days=margin_days) -%}
{%- set last = days[-1] + modules.datetime.timedelta(days=1 + margin_days) -%}
{%- set clause = stamp ~ " >= cast('" ~ first.isoformat() ~ " 00:00:00+00' as timestamp with time zone)"
    ~ " and " ~ stamp ~ " < cast('" ~ last.isoformat() ~ " 00:00:00+00' as timestamp with time zone)" -%}
{%- if day_expr -%}
    {%- set literals = [] -%}
    {%- for day in days -%}{%- do literals.append("cast('" ~ day.isoformat() ~ "' as date)") -%}{%- endfor -%}
    {%- set clause = clause ~ " and " ~ day_expr ~ " in (" ~ literals | join(', ') ~ ")" -%}
{%- endif -%}
{{ return(clause) }}
{%- endmacro %}
