{#-
  Aggregate a commune-grain relation (alias f, with column code_commune) to every territory
  level at once with GROUPING SETS: commune, EPCI, département, région. Each measure is an
  aggregate expression evaluated on the base rows of the territory, so medians and shares
  are exact at every level (not averages of averages). A level only partly in the territory
  is named for what it covers (int_territory__communes.libelle_*). A commune of no EPCI (a few
  island and overseas communes) has no EPCI row.

  relation : a relation with code_commune
  measures : {output column: aggregate SQL over alias f}
  by       : extra grouping columns of f kept at every level (e.g. ['annee'])
-#}
{% macro rollup_territories(relation, measures, by=[]) -%}
{%- set extra = by | map('string') | list -%}
{%- set extra_f = [] -%}{%- for c in extra %}{%- do extra_f.append('f.' ~ c) -%}{%- endfor -%}
{%- set tail = (', ' ~ extra_f | join(', ')) if extra else '' -%}
select
    case
        when grouping(t.code_commune) = 0 then 'commune'
        when grouping(t.code_epci) = 0 then 'epci'
        when grouping(t.code_departement) = 0 then 'departement'
        else 'region'
    end as niveau,
    case
        when grouping(t.code_commune) = 0 then t.code_commune
        when grouping(t.code_epci) = 0 then t.code_epci
        when grouping(t.code_departement) = 0 then t.code_departement
        else t.code_region
    end as code_territoire,
    case
        when grouping(t.code_commune) = 0 then max(t.nom_commune)
        when grouping(t.code_epci) = 0 then max(t.libelle_epci)
        when grouping(t.code_departement) = 0 then max(t.libelle_departement)
        else max(t.libelle_region)
    end as nom_territoire
    {%- for c in extra %},
    f.{{ c }}
    {%- endfor %}
    {%- for name, expression in measures.items() %},
    {{ expression }} as {{ name }}
    {%- endfor %}
from {{ relation }} as f
inner join {{ ref('int_territory__communes') }} as t on t.code_commune = f.code_commune
group by grouping sets (
    (t.code_commune{{ tail }}),
    (t.code_epci{{ tail }}),
    (t.code_departement{{ tail }}),
    (t.code_region{{ tail }})
)
-- a commune of no EPCI is in no EPCI row
having not (grouping(t.code_commune) = 1 and grouping(t.code_epci) = 0 and t.code_epci is null)
{%- endmacro %}

{#- The name of a level as the territory covers it: the name alone when every commune of that
    level is in the territory, else "<name> (partie : <n> communes sur <total>)". -#}
{% macro covered_label(name, covered, total) -%}
    case when {{ covered }} = {{ total }} then {{ name }}
         else {{ name }} || ' (partie : ' || cast({{ covered }} as {{ dbt.type_string() }}) || ' commune'
              || case when {{ covered }} > 1 then 's' else '' end || ' sur '
              || cast({{ total }} as {{ dbt.type_string() }}) || ')' end
{%- endmacro %}
