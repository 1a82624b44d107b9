{#- A double-precision float. dbt.type_float() is single precision (REAL) on DuckDB, which
    turns 576.1 into 576.0999…; measures need doubles. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'territoire_hub')()) }}
{%- endmacro %}

{% macro default__type_double() -%}double{%- endmacro %}

{% macro postgres__type_double() -%}double precision{%- endmacro %}

{#- A number as a label: 785.2 → '785.2', 0.0 → '0' (no trailing '.0' for whole numbers). -#}
{% macro number_label(x) -%}
    case when {{ x }} = round({{ x }}) then cast(cast({{ x }} as {{ dbt.type_bigint() }}) as {{ dbt.type_string() }})
         else cast({{ x }} as {{ dbt.type_string() }}) end
{%- endmacro %}
