{#-
  Rows of a format's view (formats.<format>: every partner dataset of that format) that belong
  to current deliveries: loaded, not quarantined, not superseded by a correction. Rows with the
  same grain keep one, the latest delivery (then the last line) winning.
  Adds _delivery_sequence, _delivered_at and the grain's values _grain_1 … _grain_n.

  scope 'dataset'  : the grain is a partner's own key (a counter id, a ticket number): two
                     partners' rows with the same key are two things, dataset_key is part of it;
  scope 'national' : the key is national (an IRVE point id, a Météo-France station, an ORE
                     cell): two datasets delivering it deliver the same thing, the latest wins.

  where: a condition on the raw rows `r` applied before comparing — whole grain groups only (a
  condition on the grain's columns), or a group would lose its latest row: the big series'
  incremental ranges (macros/current_series.sql).
-#}
{% macro current_rows(relation, grain, scope='dataset', where='1 = 1') -%}
{#- Not a window over every row (ranking every grain group holds the rows in memory: it fails on a
    year of region data within several GiB): the groups delivered more than once are found by a
    narrow aggregate, and only their rows are compared to the winner; the others stream through.
    The winner is the largest delivery_order (one fixed-size number: a max over a struct kept a
    region-year's traffic build ~1 GiB above DuckDB's memory limit, and took 2.7 times as long).
    The grain's values are kept as columns _grain_1 … _grain_n. -#}
{%- set key = (['r.dataset_key'] if scope == 'dataset' else []) + grain -%}
with eligible as {{ inline_cte() }} (
    select
        r.*,
        {%- for expr in key %}
        {{ expr }} as _grain_{{ loop.index }},
        {%- endfor %}
        d.sequence as _delivery_sequence,
        d.processed_at as _delivered_at
    from {{ relation }} as r
    inner join {{ source('landing', 'deliveries') }} as d
        on d.delivery_id = r._delivery_id
    where d.status in ('loaded', 'partial')
      and d.superseded_by is null
      and ({{ where }})
),

repeated as (   -- grain groups delivered more than once: the latest delivery, then its last line, wins
    select
        {%- for expr in key %}
        _grain_{{ loop.index }},
        {%- endfor %}
        max({{ delivery_order('_delivery_sequence', '_source_line') }}) as _winner
    from eligible
    group by {% for expr in key %}_grain_{{ loop.index }}{{ ', ' if not loop.last }}{% endfor %}
    having count(*) > 1
)

select eligible.*
from eligible
left join repeated
    on {% for expr in key -%}
    repeated._grain_{{ loop.index }} is not distinct from eligible._grain_{{ loop.index }}{{ '\n    and ' if not loop.last }}
    {%- endfor %}
where repeated._winner is null
   or {{ delivery_order('eligible._delivery_sequence', 'eligible._source_line') }} = repeated._winner
{%- endmacro %}


{#- A row's place in delivery order, as one number: its delivery's landing sequence, then its line. -#}
{% macro delivery_order(sequence, line) -%}
    {{ return(adapter.dispatch('delivery_order', 'territoire_hub')(sequence, line)) }}
{%- endmacro %}

{#- BIGINT: right while a delivery has fewer than 2^32 lines and the hub fewer than 2^31 deliveries. -#}
{% macro default__delivery_order(sequence, line) -%}
    cast({{ sequence }} as {{ dbt.type_bigint() }}) * 4294967296 + {{ line }}
{%- endmacro %}

{#- HUGEINT: the sequence in the high 64 bits, the line in the low ones, whatever their size. -#}
{% macro duckdb__delivery_order(sequence, line) -%}
    (cast({{ sequence }} as hugeint) << 64) + {{ line }}
{%- endmacro %}


{#- A row's place in processing order, as one number: when its delivery was processed, then its
    landing sequence (a replayed delivery is processed again, under its first sequence). -#}
{% macro processing_order(processed_at, sequence) -%}
    {{ return(adapter.dispatch('processing_order', 'territoire_hub')(processed_at, sequence)) }}
{%- endmacro %}

{#- BIGINT: to the second (then the sequence, below 2^31), where DuckDB's is to the microsecond. -#}
{% macro default__processing_order(processed_at, sequence) -%}
    {{ dbt.datediff("cast('1970-01-01' as timestamp)", processed_at, 'second') }} * 2147483648 + {{ sequence }}
{%- endmacro %}

{% macro duckdb__processing_order(processed_at, sequence) -%}
    (cast(epoch_us({{ processed_at }}) as hugeint) << 64) + {{ sequence }}
{%- endmacro %}


{#- A CTE read twice computed twice, not held: DuckDB materialises such a CTE whole by default
    (every eligible row of a series, in memory); its scans are cheap and pruned. -#}
{% macro inline_cte() -%}
    {{ return(adapter.dispatch('inline_cte', 'territoire_hub')()) }}
{%- endmacro %}

{% macro default__inline_cte() -%}{%- endmacro %}

{% macro duckdb__inline_cte() -%}not materialized{%- endmacro %}
