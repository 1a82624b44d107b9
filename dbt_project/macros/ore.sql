{#- Agence ORE's filière as the hub's energy: 'electricity' | 'gas'; other spellings NULL (a test fails). -#}
{% macro ore_energy(column) -%}
    case
        when lower(trim({{ column }})) in ('electricité', 'électricité', 'electricite', 'électricite', 'elec', 'electricity') then 'electricity'
        when lower(trim({{ column }})) in ('gaz', 'gas') then 'gas'
    end
{%- endmacro %}

{#- ORE's sector, by name (commune and département extracts) or by letter (portal NAF exports:
    A, I, T, R, X), as the hub's sector names. -#}
{% macro ore_sector(column) -%}
    case upper(trim({{ column }}))
        when 'A' then 'AGRICULTURE'
        when 'I' then 'INDUSTRIE'
        when 'T' then 'TERTIAIRE'
        when 'R' then 'RESIDENTIEL'
        when 'X' then 'INCONNU'
        else upper(trim({{ column }}))
    end
{%- endmacro %}

{#- A département or région code as the COG writes it: '1' → '01', '2a' → '2A'. -#}
{% macro departement_code(column) -%}
    case when length(trim({{ column }})) = 1 then '0' || trim({{ column }}) else upper(trim({{ column }})) end
{%- endmacro %}
