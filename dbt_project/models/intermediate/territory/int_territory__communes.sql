-- The territory's communes (COG 2026, communes actuelles resolved from the registry's codes:
-- régions, départements, EPCI, communes) with their EPCI, département, région, population and
-- location, and the label of each level *as covered by the territory*: a level only partly in
-- the territory is never called by its name alone ("Occitanie (partie : 49 communes sur
-- 4 454)"), so a figure covering 49 communes is not read as the whole région's.
-- A commune without a location (latitude/longitude NULL) stays: every model says what it
-- cannot compute for it instead of failing.
with territory as (
    select c.*
    from {{ source('ref', 'communes') }} as c
    inner join {{ source('registry', 'territory_communes') }} as t on t.code_commune = c.code_commune
    where c.type_commune = 'commune-actuelle'
),

cog_counts as (  -- communes of each EPCI, département and région in the whole COG
    select
        code_commune,
        count(*) over (partition by code_epci) as epci_communes,
        count(*) over (partition by code_departement) as departement_communes,
        count(*) over (partition by code_region) as region_communes
    from {{ source('ref', 'communes') }}
    where type_commune = 'commune-actuelle'
),

covered as (
    select
        t.*,
        count(*) over (partition by t.code_epci) as epci_covered,
        count(*) over (partition by t.code_departement) as departement_covered,
        count(*) over (partition by t.code_region) as region_covered
    from territory as t
)

select
    c.code_commune,
    c.nom_commune,
    c.population,
    c.latitude,
    c.longitude,
    c.coord_source,
    c.code_epci,
    e.nom_epci,
    {{ covered_label('e.nom_epci', 'c.epci_covered', 'n.epci_communes') }} as libelle_epci,
    c.code_departement,
    d.nom_departement,
    {{ covered_label('d.nom_departement', 'c.departement_covered', 'n.departement_communes') }} as libelle_departement,
    c.code_region,
    r.nom_region,
    {{ covered_label('r.nom_region', 'c.region_covered', 'n.region_communes') }} as libelle_region,
    c.epci_covered = n.epci_communes as epci_entier,
    c.departement_covered = n.departement_communes as departement_entier,
    c.region_covered = n.region_communes as region_entiere
from covered as c
inner join cog_counts as n on n.code_commune = c.code_commune
left join {{ source('ref', 'epci') }} as e on e.code_epci = c.code_epci
inner join {{ source('ref', 'departements') }} as d on d.code_departement = c.code_departement
inner join {{ source('ref', 'regions') }} as r on r.code_region = c.code_region
