-- Every territory of the region at every level (commune, epci, departement, region) with its
-- population: the rows every mart starts from, so a territory without data still appears.
-- Populations are sums of the region's communes (a département or région is only partly in
-- the demo region: its figure covers the communes of the region).
{{ rollup_territories(ref('int_territory__communes'), measures={
    'population': 'cast(sum(f.population) as bigint)',
    'nb_communes': 'count(*)',
}) }}
