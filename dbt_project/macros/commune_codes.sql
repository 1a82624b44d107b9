{#-
  The current commune (COG) that an INSEE code delivered by a partner means: the code itself for
  a current commune; the commune of a municipal arrondissement (75114 → 75056); the commune
  nouvelle of a commune déléguée or associée (01414 → 01036); the commune a former code became
  (20004 → 2A004, 74011 → 74010, Mayotte 98511 → 97611). NULL for a code the COG does not know
  (such a delivery is quarantined at ingestion, so it does not reach the models).
  The loader records each mapping as a warning naming the line and the code (mapped_insee_code).
  Every INSEE column of every staging model goes through this one step.
-#}
{#- (the lookup's columns are renamed so that `code` may name any column of the calling model,
    code_commune included, without being captured by the subquery) -#}
{% macro current_commune(code) -%}
    (select m._cog_current from (select code as _cog_code, code_commune as _cog_current
                                 from {{ source('ref', 'commune_codes') }}) as m
     where m._cog_code = {{ code }})
{%- endmacro %}

{#- How the code was read: commune | arrondissement | commune_deleguee | commune_associee | ancien_code. -#}
{% macro commune_code_kind(code) -%}
    (select m._cog_kind from (select code as _cog_code, kind as _cog_kind
                              from {{ source('ref', 'commune_codes') }}) as m
     where m._cog_code = {{ code }})
{%- endmacro %}

{#- The commune a partner IS (a commune partner: the current commune whose SIREN is the
    partner's, registry.partners.siren); NULL for any other partner. -#}
{% macro partner_commune(partner_id) -%}
    (select pc._commune from (
        select p.partner_id as _partner, c.code_commune as _commune
        from {{ source('registry', 'partners') }} as p
        inner join {{ source('ref', 'communes') }} as c
            on c.siren = p.siren and c.type_commune = 'commune-actuelle'
     ) as pc
     where pc._partner = {{ partner_id }})
{%- endmacro %}
