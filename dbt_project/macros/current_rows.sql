{#-
  Rows of a format's view (formats.<format>: every partner dataset of that format) that belong
  to current deliveries: loaded, not quarantined, not superseded by a correction. Exact
  duplicates at the grain keep one row, the latest delivery (then the last line) winning.
  Adds _delivery_sequence and _delivered_at.

  scope 'dataset'  : the grain is a partner's own key (a counter id, a ticket number): two
                     partners' rows with the same key are two things, dataset_key is part of it;
  scope 'national' : the key is national (an IRVE point id, a Météo-France station, an ORE
                     cell): two datasets delivering it deliver the same thing, the latest wins.

  where: a condition on the raw rows `r` applied before ranking — whole grain groups only (a
  condition on the grain's columns), or a group would lose its latest row: the big series'
  incremental ranges (macros/current_series.sql).
-#}
{% macro current_rows(relation, grain, scope='dataset', where='1 = 1') -%}
{%- set partition = (['r.dataset_key'] if scope == 'dataset' else []) + grain -%}
select *
from (
    select
        r.*,
        d.sequence as _delivery_sequence,
        d.processed_at as _delivered_at,
        row_number() over (
            partition by {{ partition | join(', ') }}
            order by d.sequence desc, r._source_line desc
        ) as _rank_in_grain
    from {{ relation }} as r
    inner join {{ source('landing', 'deliveries') }} as d
        on d.delivery_id = r._delivery_id
    where d.status in ('loaded', 'partial')
      and d.superseded_by is null
      and ({{ where }})
) as ranked
where _rank_in_grain = 1
{%- endmacro %}
