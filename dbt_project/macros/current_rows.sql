{#-
  Rows of a raw table that belong to current deliveries: loaded, not quarantined, not
  superseded by a correction. Exact duplicates at the grain keep one row, the latest
  delivery (then the last line) winning. Adds _delivery_sequence and _delivered_at.
-#}
{% macro current_rows(raw_relation, grain) -%}
select *
from (
    select
        r.*,
        d.sequence as _delivery_sequence,
        d.processed_at as _delivered_at,
        row_number() over (
            partition by {{ grain | join(', ') }}
            order by d.sequence desc, r._source_line desc
        ) as _rank_in_grain
    from {{ raw_relation }} as r
    inner join {{ source('landing', 'deliveries') }} as d
        on d.delivery_id = r._delivery_id
    where d.status = 'loaded'
      and d.superseded_by is null
) as ranked
where _rank_in_grain = 1
{%- endmacro %}
