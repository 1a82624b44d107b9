"""The territory backbone: region communes and the roll-up to every level."""

from __future__ import annotations

from tests.dbt_harness import build, ingest, query


def test_region_communes_and_levels(settings, registry):
    ingest(settings, registry, [])  # prepares the warehouse: COG + registry, no delivery
    build(settings, "int_territory__communes", "int_territory__levels")
    levels = dict(query(settings, "SELECT niveau, count(*) FROM intermediate.int_territory__levels GROUP BY 1"))
    assert levels == {"commune": 49, "epci": 4, "departement": 2, "region": 1}
    # the EPCI roll-up equals the sum of its communes
    epci, communes = query(settings, """
        SELECT (SELECT population FROM intermediate.int_territory__levels WHERE niveau = 'epci' AND code_territoire = '243000593'),
               (SELECT sum(population) FROM intermediate.int_territory__communes WHERE code_epci = '243000593')""")[0]
    assert epci == communes and epci > 0
    # the région and the départements are only partly in the territory: their rows say so
    assert query(settings, "SELECT nom_territoire, nb_communes, entier FROM intermediate.int_territory__levels "
                           "WHERE niveau IN ('region', 'departement') ORDER BY code_territoire") == [
        ("Gard (partie : 10 communes sur 350)", 10, False), ("Hérault (partie : 39 communes sur 341)", 39, False),
        ("Occitanie (partie : 49 communes sur 4446)", 49, False)]
    # an EPCI entirely in the territory keeps its own name
    assert query(settings, "SELECT nom_territoire, entier FROM intermediate.int_territory__levels "
                           "WHERE code_territoire = '243400017'") == [("Montpellier Méditerranée Métropole", True)]
