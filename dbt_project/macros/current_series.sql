{#-
  The big time series (hourly traffic counts, lamp sensors, hourly and 6-minute weather,
  charge-point status events) keep their current rows in a table, built incrementally: a view
  would compare the rows of `current_rows` over the whole history for every consumer and every
  test, a cost that grows with the years.

  A series' staging model:
    {{ config(materialized='incremental', incremental_strategy='append',
              pre_hook="{{ prune_current_series(<format source>, '<stamp>', '<staged stamp>', '<scope>') }}") }}
    with current as ({{ current_rows(<format source>, <grain>, <scope>,
                                     where=changed_series_filter(<format source>, '<stamp>', '<staged stamp>', '<scope>')) }})
    select …, current_timestamp as _built_at from current

  `stamp` is the raw column of the grain that dates a row (part of the window's partition),
  `staged stamp` the model's column holding that same value. On an incremental run:
    1. the deliveries whose rows may have changed the current data since the table was last built
       (max _built_at) are found in landing.deliveries: those processed since (new, replayed,
       quarantined), those that share a period and slot with one of them (superseded, or current
       again because their correction was refused), those they supersede; and every delivery
       of a dataset of the format that the table does not hold yet;
    2. their rows (in raw, and in the table for rows whose delivery left raw) give a range of
       stamps: per dataset (scope 'dataset'), or one over the format (scope 'national', where two
       datasets deliver the same thing);
    3. the pre-hook deletes the table's rows in those ranges (and the rows of datasets no longer
       of this format); the model reads the raw rows of those ranges only — literal bounds the
       scan prunes by — ranks them, and appends the current ones.
  A grain group lies within one stamp, so every group a changed delivery touches is recomputed
  whole from raw: the table equals the view a full refresh computes.
-#}

{#- [[dataset_key or none, first stamp, last stamp], ...] of the rows to recompute (see above). -#}
{% macro changed_series_ranges(relation, stamp, staged_stamp, scope) -%}
{%- if not execute or not is_incremental() -%}{{ return([]) }}{%- endif -%}
{%- set datasets = format_datasets(relation) -%}
{%- if not datasets -%}{{ return([]) }}{%- endif -%}
{%- set in_format = "'" ~ datasets | join("', '") ~ "'" -%}
{%- set deliveries_query -%}
    with built as (
        select coalesce(max(_built_at), cast('1900-01-01' as timestamp)) as last_built from {{ this }}
    ),
    changed as (
        select d.delivery_id, d.dataset_key, d.period, d.slot
        from {{ source('landing', 'deliveries') }} as d
        where d.dataset_key in ({{ in_format }})
          and (d.processed_at > (select last_built from built)
               or d.dataset_key not in (select distinct dataset_key from {{ this }}))
    )
    select distinct e.delivery_id, e.dataset_key
    from {{ source('landing', 'deliveries') }} as e
    inner join changed as c
        on e.delivery_id = c.delivery_id
        or e.superseded_by = c.delivery_id
        or (e.dataset_key = c.dataset_key and e.period = c.period and e.slot is not distinct from c.slot)
{%- endset -%}
{%- set found = run_query(deliveries_query) -%}
{%- if not found.rows -%}{{ return([]) }}{%- endif -%}
{%- set ids = "'" ~ found.columns[0].values() | join("', '") ~ "'" -%}
{%- set keys = "'" ~ found.columns[1].values() | unique | join("', '") ~ "'" -%}
{%- set per = 'dataset_key' if scope == 'dataset' else 'null' -%}
{%- set stamps_query -%}
    select key, cast(min(lo) as varchar), cast(max(hi) as varchar)
    from (
        select {{ per }} as key, min({{ stamp }}) as lo, max({{ stamp }}) as hi
        from {{ relation }}
        where dataset_key in ({{ keys }}) and _delivery_id in ({{ ids }})
        group by 1
        union all
        select {{ per }}, min({{ staged_stamp }}), max({{ staged_stamp }})
        from {{ this }}
        where _delivery_id in ({{ ids }})
        group by 1
    ) as ranges
    where lo is not null
    group by key
    order by key
{%- endset -%}
{{ return(run_query(stamps_query).rows | map('list') | list) }}
{%- endmacro %}


{#- The dataset keys of the format a `formats.<format>` source holds, from the registry. -#}
{% macro format_datasets(relation) -%}
{%- set rows = run_query("select dataset_key from " ~ source('registry', 'datasets')
                         ~ " where format = '" ~ relation.identifier ~ "' order by 1").rows -%}
{{ return(rows | map(attribute=0) | list) }}
{%- endmacro %}


{#- A condition on columns `dataset_key` and `stamp_column` selecting the ranges. -#}
{% macro series_ranges_clause(ranges, stamp_column, prefix='') -%}
{%- set parts = [] -%}
{%- for key, lo, hi in ranges -%}
    {%- set within = prefix ~ stamp_column ~ " between '" ~ lo ~ "' and '" ~ hi ~ "'" -%}
    {%- do parts.append("(" ~ (prefix ~ "dataset_key = '" ~ key ~ "' and " if key is not none else "") ~ within ~ ")") -%}
{%- endfor -%}
{%- set first = ranges | map(attribute=1) | min -%}
{%- set last = ranges | map(attribute=2) | max -%}
{#- the overall range first: a plain bound the scan of every raw table prunes by -#}
{{ return(prefix ~ stamp_column ~ " between '" ~ first ~ "' and '" ~ last ~ "' and (" ~ parts | join(' or ') ~ ")") }}
{%- endmacro %}


{#- The raw rows an incremental run of a series' staging model recomputes ('1 = 1' otherwise). -#}
{% macro changed_series_filter(relation, stamp, staged_stamp, scope='dataset') -%}
{%- if not execute or not is_incremental() -%}{{ return('1 = 1') }}{%- endif -%}
{%- set ranges = changed_series_ranges(relation, stamp, staged_stamp, scope) -%}
{%- if not ranges -%}{{ return('1 = 0') }}{%- endif -%}
{{ return(series_ranges_clause(ranges, stamp, 'r.')) }}
{%- endmacro %}


{#- Pre-hook: delete the rows the model recomputes, and those of datasets no longer of the format. -#}
{% macro prune_current_series(relation, stamp, staged_stamp, scope='dataset') -%}
{%- if execute and is_incremental() -%}
{%- set ranges = changed_series_ranges(relation, stamp, staged_stamp, scope) -%}
{{ delete_changed_rows(format_datasets(relation), ranges, staged_stamp) }}
{%- endif -%}
{%- endmacro %}


{#- The pre-hooks' delete: rows of datasets no longer of the format(s) (`datasets`: those that
    are), and rows within the changed `ranges`. -#}
{% macro delete_changed_rows(datasets, ranges, staged_stamp) -%}
delete from {{ this }}
where dataset_key not in ('{{ datasets | join("', '") }}')
{%- if ranges %}
   or ({{ series_ranges_clause(ranges, staged_stamp) }})
{%- endif %}
{%- endmacro %}


{#-
  A table built from several series' current rows, all of national scope
  (int_ev__status_events: two dynamic IRVE layouts, the latest delivery winning across them). It
  carries dataset_key, _delivery_id and _built_at, like a series' staging table, so that the same
  ranges apply: the stamps changed in any of `relations` (formats sources) since the table was
  last built. The pre-hook deletes the table's rows in those ranges, the model recomputes them
  from its inputs' rows in the same ranges, across every layout: a group two layouts report lies
  within one stamp. A change to one of `resets` (a correspondence rewriting every row's key)
  recomputes everything.
-#}
{% macro changed_ranges_across(relations, stamp, staged_stamp, resets=[]) -%}
{%- if not execute or not is_incremental() -%}{{ return([]) }}{%- endif -%}
{%- set everything = [[none, '0001-01-01 00:00:00+00', '9999-12-31 00:00:00+00']] -%}
{%- if not is_kept_incrementally(this) -%}{{ return(everything) }}{%- endif -%}
{%- for relation in resets -%}
    {%- set datasets = format_datasets(relation) -%}
    {%- if datasets -%}
        {%- set changed = run_query("select count(*) from " ~ source('landing', 'deliveries')
            ~ " where dataset_key in ('" ~ datasets | join("', '") ~ "') and processed_at > "
            ~ "(select coalesce(max(_built_at), cast('1900-01-01' as timestamp)) from " ~ this ~ ")").rows[0][0] -%}
        {%- if changed -%}{{ return(everything) }}{%- endif -%}
    {%- endif -%}
{%- endfor -%}
{%- set ranges = [] -%}
{%- for relation in relations -%}
    {%- do ranges.extend(changed_series_ranges(relation, stamp, staged_stamp, 'national')) -%}
{%- endfor -%}
{{ return(ranges) }}
{%- endmacro %}


{#- The input rows an incremental run of such a table recomputes ('1 = 1' otherwise). -#}
{% macro changed_across_filter(relations, stamp, staged_stamp, resets=[], prefix='') -%}
{%- if not execute or not is_incremental() -%}{{ return('1 = 1') }}{%- endif -%}
{%- set ranges = changed_ranges_across(relations, stamp, staged_stamp, resets) -%}
{%- if not ranges -%}{{ return('1 = 0') }}{%- endif -%}
{{ return(series_ranges_clause(ranges, staged_stamp, prefix)) }}
{%- endmacro %}


{#- Its pre-hook: delete the rows recomputed, and those of datasets no longer of these formats. -#}
{% macro prune_changed_across(relations, stamp, staged_stamp, resets=[]) -%}
{%- if execute and is_incremental() and not is_kept_incrementally(this) -%}
{%- set names = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
{%- for column, type in [('dataset_key', 'varchar'), ('_delivery_id', 'varchar'), ('_built_at', 'timestamp with time zone')]
    if column not in names %}
alter table {{ this }} add column {{ column }} {{ type }};
{%- endfor %}
delete from {{ this }}
{%- elif execute and is_incremental() -%}
{%- set ranges = changed_ranges_across(relations, stamp, staged_stamp, resets) -%}
{%- set datasets = [] -%}
{%- for relation in relations -%}{%- do datasets.extend(format_datasets(relation)) -%}{%- endfor -%}
{{ delete_changed_rows(datasets, ranges, staged_stamp) }}
{%- endif -%}
{%- endmacro %}


{#- Whether `relation` already has the columns an incremental run relies on (_built_at,
    _delivery_id): a table of an earlier version of the hub, built whole, does not — the pre-hook
    then adds them and empties it, and the run fills it again (the columns added before the
    delete: DuckDB refuses to commit a table altered after rows were deleted from it). -#}
{% macro is_kept_incrementally(relation) -%}
{%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
{{ return('_built_at' in names and '_delivery_id' in names) }}
{%- endmacro %}
