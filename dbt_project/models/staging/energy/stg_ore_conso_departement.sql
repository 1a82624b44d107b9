-- Annual electricity and gas consumption per département, customer category, sector and NAF
-- division (Agence ORE, « agrégée département »), current deliveries. Same family as the commune
-- extract, another key. A secret cell (nb_sites and conso_totale_mwh blank) stays NULL, never 0.
-- Grain: (operator, energy, year, code_departement, customer_category, sector, naf_division).
with current_cells as (
    {{ current_rows(source('formats', 'ore_conso_departement'),
                    ['operateur', 'filiere', 'annee', 'code_departement', 'code_categorie_consommation',
                     'code_grand_secteur', 'code_secteur_naf2'], scope='national') }}
)

select
    partner_id,
    dataset_key,
    trim(operateur) as operator,
    {{ ore_energy('filiere') }} as energy,
    cast(annee as {{ dbt.type_int() }}) as year,
    {{ departement_code('code_departement') }} as code_departement,
    upper(trim(code_categorie_consommation)) as customer_category,
    {{ ore_sector('code_grand_secteur') }} as sector,
    case when length(trim(code_secteur_naf2)) = 1 then '0' || trim(code_secteur_naf2)
         else nullif(trim(code_secteur_naf2), '') end as naf_division,
    nb_sites as delivery_points,
    cast(conso_totale_mwh as decimal(18, 3)) as consumption_mwh,
    nb_sites is null and conso_totale_mwh is null as is_secret,
    _delivery_id,
    _source_line,
    _delivery_sequence,
    _delivered_at
from current_cells
