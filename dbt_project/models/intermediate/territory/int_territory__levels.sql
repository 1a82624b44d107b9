-- Every territory at every level (commune, epci, departement, region) with its population: the
-- rows every mart starts from, so a territory without data still appears. A level only partly
-- in the territory (an EPCI, département or région of which some communes are not declared)
-- covers the territory's communes only: its population is theirs, its name says "partie"
-- (int_territory__communes.libelle_*), and `entier` is false.
{{ rollup_territories(ref('int_territory__communes'), measures={
    'population': 'cast(sum(f.population) as bigint)',
    'nb_communes': 'count(*)',
    'entier': "case when grouping(t.code_commune) = 0 then true when grouping(t.code_epci) = 0 then bool_and(t.epci_entier) when grouping(t.code_departement) = 0 then bool_and(t.departement_entier) else bool_and(t.region_entiere) end",
}) }}
