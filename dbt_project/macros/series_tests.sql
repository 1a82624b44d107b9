{#-
  Data tests of the big time series' staging views check the rows of the new deliveries, not the
  whole history again (issue 22): the delivery suites have already checked each delivery; what a
  staging test adds is the view of current rows (a correction replacing a file, duplicates across
  deliveries), and only the days new deliveries touched can have changed.

  A staging model opts in with meta `new_rows: {stamp: <UTC instant column>, since: <model>}`:
  `since` is the incremental model built from it, whose latest _built_at marks the previous build
  (its tests run before it is rebuilt). A test on that view then reads only the rows whose stamp
  lies within the local days of the deliveries processed since (new_delivery_window: ±1 day),
  as literals DuckDB pushes below the view's window of current rows. Every row is tested again
  on a full refresh, on a first build, when no delivery is new (the model's code or the registry
  changed) or when a new delivery's period is not a date.

  get_where_subquery is dbt's own hook for the `where` config of tests; an explicit `where` still
  applies, with the window.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set clauses = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}{%- do clauses.append('(' ~ where ~ ')') -%}{%- endif -%}
    {%- set window = new_rows_clause(relation) -%}
    {%- if window -%}{%- do clauses.append(window) -%}{%- endif -%}
    {%- if clauses -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ clauses | join(' and ') ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}


{#- The window clause of a test on `relation` (see above), or '' to test every row. -#}
{% macro new_rows_clause(relation) -%}
    {%- if not execute or flags.FULL_REFRESH or relation is string or not relation.identifier -%}{{ return('') }}{%- endif -%}
    {%- set specs = [] -%}   {#- a list: a `set` inside a loop does not outlive it -#}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == relation.identifier -%}
        {%- do specs.append(node.config.meta.get('new_rows')) -%}
    {%- endfor -%}
    {%- set spec = specs[0] if specs else none -%}
    {%- if not spec -%}{{ return('') }}{%- endif -%}
    {%- set built = [] -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == spec['since'] -%}
        {%- do built.append(adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias)) -%}
    {%- endfor -%}
    {%- if not built or built[0] is none -%}{{ return('') }}{%- endif -%}
    {%- set window = new_delivery_window(relation, built[0]) -%}
    {%- if window is none or window == 'none' -%}{{ return('') }}{%- endif -%}
    {{ return(spec['stamp'] ~ " >= cast('" ~ window[0] ~ " 00:00:00+00' as timestamp with time zone) - interval '1 day'"
              ~ " and " ~ spec['stamp'] ~ " < cast('" ~ window[1] ~ " 00:00:00+00' as timestamp with time zone) + interval '2 day'") }}
{%- endmacro %}
