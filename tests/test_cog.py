"""The shipped COG 2026 reference, loaded into a fresh DuckDB file."""

from __future__ import annotations

import duckdb
import pytest

from territoire_hub import cog

DEMO_EPCIS = ["243400017", "243400470", "243000593", "243000585"]
EXPECTED_COUNTS = {"regions": 26, "departements": 109, "epci": 1255, "communes": 37590, "postal_codes": 35493}


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    connection = duckdb.connect(str(tmp_path_factory.mktemp("cog") / "hub.duckdb"))
    cog.load_reference(connection)
    yield connection
    connection.close()


def _one(con, sql, params=()):
    return con.execute(sql, list(params)).fetchone()


def _column(con, sql, params=()):
    return {row[0] for row in con.execute(sql, list(params)).fetchall()}


def test_montpellier(con):
    row = _one(con, "SELECT population, code_epci, code_departement, code_region, code_commune_parente "
                    "FROM ref.communes WHERE code_commune = '34172' AND type_commune = 'commune-actuelle'")
    assert row == (310240, "243400017", "34", "76", "34172")


def test_montpellier_metropole_has_31_members(con):
    assert _one(con, "SELECT count(*) FROM ref.communes WHERE code_epci = '243400017'") == (31,)
    assert _one(con, "SELECT type_epci FROM ref.epci WHERE code_epci = '243400017'") == ("METRO",)


def test_petite_camargue_members(con):
    members = _column(con, "SELECT code_commune FROM ref.communes WHERE code_epci = '243000593'")
    assert members == {"30341", "30033", "30006", "30059", "30020"}


def test_postal_code_75015_is_paris_15e(con):
    assert _column(con, "SELECT code_commune FROM ref.postal_codes WHERE code_postal = '75015'") == {"75115"}
    row = _one(con, "SELECT type_commune, code_commune_parente FROM ref.communes WHERE code_commune = '75115'")
    assert row == ("arrondissement-municipal", "75056")


def test_ajaccio_keeps_corsican_code(con):
    row = _one(con, "SELECT nom_commune, code_departement, code_region FROM ref.communes "
                    "WHERE code_commune = '2A004' AND type_commune = 'commune-actuelle'")
    assert row == ("Ajaccio", "2A", "94")
    # Leading zeros survive the CSV round trip.
    assert _one(con, "SELECT count(*) FROM ref.communes WHERE code_commune = '01001'") == (1,)


def test_demo_epci_communes_have_coordinates_in_herault_gard(con):
    rows = con.execute(
        "SELECT code_commune, latitude, longitude, coord_source FROM ref.communes "
        "WHERE code_epci IN (SELECT unnest(?::VARCHAR[]))", [DEMO_EPCIS]
    ).fetchall()
    assert len(rows) == 31 + 8 + 5 + 5
    outside = [r for r in rows if r[1] is None or not (43.2 <= r[1] <= 44.5 and 3.2 <= r[2] <= 4.9)]
    assert outside == []
    assert {r[0] for r in rows if r[3] == "manual"} == {"34259", "34164", "34176"}
    assert {r[3] for r in rows} == {"geonames", "manual"}


def test_referential_integrity(con):
    # Every parent is a commune-actuelle, every code points at a row of its table.
    assert _one(con, """
        SELECT count(*) FROM ref.communes c WHERE NOT EXISTS (
            SELECT 1 FROM ref.communes p
            WHERE p.code_commune = c.code_commune_parente AND p.type_commune = 'commune-actuelle')""") == (0,)
    assert _one(con, "SELECT count(*) FROM ref.communes WHERE code_epci NOT IN (SELECT code_epci FROM ref.epci)") == (0,)
    assert _one(con, "SELECT count(*) FROM ref.communes "
                     "WHERE code_departement NOT IN (SELECT code_departement FROM ref.departements)") == (0,)
    assert _one(con, "SELECT count(*) FROM ref.departements "
                     "WHERE code_region NOT IN (SELECT code_region FROM ref.regions)") == (0,)
    # EPCI population is the sum of its member communes.
    assert _one(con, """
        SELECT count(*) FROM ref.epci e
        WHERE e.population <> (SELECT sum(c.population) FROM ref.communes c WHERE c.code_epci = e.code_epci)""") == (0,)


def test_load_is_idempotent_and_marks_vintage(tmp_path):
    con = duckdb.connect(str(tmp_path / "hub.duckdb"))
    assert not cog.is_loaded(con)
    first = cog.load_reference(con)
    second = cog.load_reference(con)
    assert first == second == EXPECTED_COUNTS
    assert {t: _one(con, f"SELECT count(*) FROM ref.{t}")[0] for t in EXPECTED_COUNTS} == EXPECTED_COUNTS
    assert cog.is_loaded(con)
    con.execute("UPDATE ref.meta SET cog_vintage = ?", [cog.COG_VINTAGE - 1])
    assert not cog.is_loaded(con)
    con.close()
