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
    The grain's values are kept as columns _grain_1 … _grain_n. -#}
{%- set key = (['r.dataset_key'] if scope == 'dataset' else []) + grain -%}
with eligible as (
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
        max(struct_pack(s := _delivery_sequence, l := _source_line)) as _winner
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
   or struct_pack(s := eligible._delivery_sequence, l := eligible._source_line) = repeated._winner
{%- endmacro %}
