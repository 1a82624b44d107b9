-- Annual consumption per département from the ORE portal's wide export (one column per sector,
-- `;`), current deliveries, unpivoted to one row per sector like the long layouts.
-- Grain: (operator, energy, year, code_departement, sector).
{%- set sectors = {'agriculture': 'AGRICULTURE', 'industrie': 'INDUSTRIE', 'tertiaire': 'TERTIAIRE',
                   'residentiel': 'RESIDENTIEL', 'inconnu': 'INCONNU'} %}
with current_rows_ as (
    {{ current_rows(source('formats', 'ore_conso_departement_large'),
                    ['operateur', 'annee', 'filiere', 'code_departement'], scope='national') }}
)

{% for column, sector in sectors.items() %}
select
    partner_id,
    dataset_key,
    trim(operateur) as operator,
    {{ ore_energy('filiere') }} as energy,
    cast(annee as {{ dbt.type_int() }}) as year,
    {{ departement_code('code_departement') }} as code_departement,
    '{{ sector }}' as sector,
    points_{{ column }} as delivery_points,
    cast(conso_{{ column }}_mwh as decimal(18, 3)) as consumption_mwh,
    mailles_secretisees_{{ column }} as secret_meshes,
    _delivery_id,
    _source_line,
    _delivery_sequence,
    _delivered_at
from current_rows_
{% if not loop.last %}union all{% endif %}
{% endfor %}
