{#- A double-precision float. dbt.type_float() is single precision (REAL) on DuckDB, which
    turns 576.1 into 576.0999…; measures need doubles. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'territoire_hub')()) }}
{%- endmacro %}

{% macro default__type_double() -%}double{%- endmacro %}

{% macro postgres__type_double() -%}double precision{%- endmacro %}
