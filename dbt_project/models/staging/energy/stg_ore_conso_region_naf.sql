-- Annual electricity and gas consumption per région, customer category, sector and NAF code
-- (Agence ORE portal export « par NAF », `;`), current deliveries. code_grand_secteur is a letter
-- there (A, I, T, R, X), read as the commune extract's sector names. metered_share: ORE's quality
-- index (share of the consumption actually metered, 0–1). Grain: (operator, energy, year,
-- code_region, customer_category, sector, naf_code).
with current_cells as (
    {{ current_rows(source('formats', 'ore_conso_region_naf'),
                    ['operateur', 'annee', 'filiere', 'code_categorie_consommation', 'code_grand_secteur',
                     'code_naf', 'code_region'], scope='national') }}
)

select
    partner_id,
    dataset_key,
    trim(operateur) as operator,
    {{ ore_energy('filiere') }} as energy,
    cast(annee as {{ dbt.type_int() }}) as year,
    {{ departement_code('code_region') }} as code_region,
    upper(trim(code_categorie_consommation)) as customer_category,
    {{ ore_sector('code_grand_secteur') }} as sector,
    nullif(trim(code_naf), '') as naf_code,
    pdl as delivery_points,
    cast(conso as decimal(18, 3)) as consumption_mwh,
    indqual as metered_share,
    nombre_mailles_secretisees as secret_meshes,
    _delivery_id,
    _source_line,
    _delivery_sequence,
    _delivered_at
from current_cells
