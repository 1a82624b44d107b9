-- Annual electricity (and gas) consumption per commune, customer category, sector and NAF
-- division (Agence ORE layout), every dataset of the format, current deliveries only: a
-- `_rectificatif` delivery supersedes the original of its year (current_rows); two datasets
-- delivering the same ORE cell (operator included) deliver the same cell, the latest wins.
-- Grain: one row per (operator, energy, year, code_commune_delivered, customer_category,
-- sector, naf_division) — the ORE cell, as delivered (the COG of the data year).
-- Statistical secrecy: the source blanks nb_sites and conso_totale_mwh (or writes 's', read
-- as missing by the loader) and writes 0.0 in conso_moyenne_mwh. Such a cell stays NULL and
-- is flagged is_secret; it never becomes 0.
with current_cells as (
    {{ current_rows(source('formats', 'ore_conso_commune'),
                    ['operateur', 'filiere', 'annee', 'code_commune', 'code_categorie_consommation',
                     'code_grand_secteur', 'code_secteur_naf2'], scope='national') }}
),

cells as (
    select
        *,
        nb_sites is null and conso_totale_mwh is null as secret_cell
    from current_cells
)

select
    partner_id,
    dataset_key,
    trim(operateur) as operator,
    -- 'Electricité' / 'Gaz' (and spellings seen in other exports); anything else stays NULL
    -- and fails the accepted_values test instead of being dropped
    case
        when lower(trim(filiere)) in ('electricité', 'électricité', 'electricite', 'électricite', 'elec', 'electricity') then 'electricity'
        when lower(trim(filiere)) in ('gaz', 'gas') then 'gas'
    end as energy,
    cast(annee as {{ dbt.type_int() }}) as year,
    -- the COG of the data year: a commune that has merged since (commune déléguée / associée,
    -- former code) or a municipal arrondissement is counted in its current commune
    {{ current_commune('code_commune') }} as code_commune,
    code_commune as code_commune_delivered,
    upper(trim(code_categorie_consommation)) as customer_category,
    upper(trim(code_grand_secteur)) as sector,
    -- NAF rev.2 division, two digits (a division that lost its leading zero is padded back)
    case
        when length(trim(code_secteur_naf2)) = 1 then '0' || trim(code_secteur_naf2)
        else nullif(trim(code_secteur_naf2), '')
    end as naf_division,
    nb_sites as delivery_points,
    -- exact decimals (ORE publishes 3 decimals): sums then do not depend on the order in which
    -- parallel threads add them, so an incremental build and a full refresh agree to the last digit
    cast(conso_totale_mwh as decimal(18, 3)) as consumption_mwh,
    cast(conso_totale_mwh as decimal(18, 3)) * 1000 as consumption_kwh,
    -- the source writes 0.0 under secrecy: NULL here
    case when secret_cell then null else conso_moyenne_mwh end as mean_mwh_per_site,
    secret_cell as is_secret,
    -- INSEE context attached by ORE to residential rows (pandas exports add float noise)
    round(nombre_d_habitants, 3) as population_context,
    taux_de_chauffage_electrique as electric_heating_rate,
    _delivery_id,
    _source_line,
    _delivery_sequence,
    _delivered_at
from cells
