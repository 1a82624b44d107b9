-- The region's communes (COG 2026, communes actuelles of the registry's EPCIs) with their
-- EPCI, département, région, population and chef-lieu coordinates.
select
    c.code_commune,
    c.nom_commune,
    c.population,
    c.latitude,
    c.longitude,
    c.code_epci,
    e.nom_epci,
    c.code_departement,
    d.nom_departement,
    c.code_region,
    r.nom_region
from {{ source('ref', 'communes') }} as c
inner join {{ source('registry', 'region_epcis') }} as re on re.code_epci = c.code_epci
inner join {{ source('ref', 'epci') }} as e on e.code_epci = c.code_epci
inner join {{ source('ref', 'departements') }} as d on d.code_departement = c.code_departement
inner join {{ source('ref', 'regions') }} as r on r.code_region = c.code_region
where c.type_commune = 'commune-actuelle'
