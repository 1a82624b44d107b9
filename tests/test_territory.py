"""A territory is declared by codes of any level; its communes come from the COG."""

from __future__ import annotations

import duckdb
import pytest

from territoire_hub import cog
from territoire_hub.registry import Territory
from territoire_hub.registry_tables import write_registry
from territoire_hub.territory import TerritoryError, check_codes, resolve


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    cog.load_reference(connection)
    yield connection
    connection.close()


def _resolve(con, registry, territory: Territory):
    write_registry(con, registry.model_copy(update={"territory": territory}))
    return resolve(con, territory)


def test_a_departement_alone(con, registry):
    nord = _resolve(con, registry, Territory(name="Nord", cog_vintage=2026, departements=["59"]))
    assert (nord.communes, nord.departements, nord.regions) == (647, 1, 1)
    assert con.execute("SELECT count(*) FROM registry.territory_communes WHERE declared_by = 'departement 59'"
                       ).fetchone() == (647,)


def test_any_mix_of_levels_without_double_counting(con, registry):
    mixed = Territory(name="Mixte", cog_vintage=2026, regions=["94"], epcis=["248400251"],
                      communes=["34172", "2A004", "74011"])
    got = _resolve(con, registry, mixed)
    corsica = con.execute("SELECT count(*) FROM ref.communes WHERE type_commune = 'commune-actuelle' "
                          "AND code_region = '94'").fetchone()[0]
    # Corsica, the Grand Avignon (16 communes over the Gard and the Vaucluse), Montpellier, Annecy;
    # Ajaccio (2A004) is in Corsica already and counted once
    assert got.communes == corsica + 16 + 1 + 1
    assert got.regions == 4   # Corse, Occitanie, Provence-Alpes-Côte d'Azur, Auvergne-Rhône-Alpes
    # 74011 (Annecy-le-Vieux) is a commune déléguée of Annecy: noted, counted as Annecy
    assert got.mapped == [("74011", "74010", "commune_deleguee")]
    assert con.execute("SELECT declared_by FROM registry.territory_communes WHERE code_commune = '2A004'"
                       ).fetchone() == ("commune 2A004, region 94",)


def test_unknown_codes_are_named_by_level(con):
    wrong = Territory(name="Faux", cog_vintage=2026, regions=["99"], departements=["20"], epcis=["123456789"],
                      communes=["34999"])
    with pytest.raises(TerritoryError) as err:
        check_codes(con, wrong)
    message = str(err.value)
    for fragment in ("region '99'", "departement '20'", "epci '123456789'", "commune '34999'"):
        assert fragment in message


def test_a_territory_needs_a_code():
    with pytest.raises(ValueError, match="at least one code"):
        Territory(name="Vide", cog_vintage=2026)
