"""The shipped COG 2026 reference, loaded into a fresh DuckDB file."""

from __future__ import annotations

import duckdb
import pytest

from territoire_hub import cog

DEMO_EPCIS = ["243400017", "243400470", "243000593", "243000585"]
EXPECTED_COUNTS = {"regions": 26, "departements": 109, "epci": 1255, "communes": 37590, "postal_codes": 35493,
                   "anciens_codes": 4259, "commune_codes": 39273, "france_boxes": 13}
# the overseas communes no published source reachable here locates (territoire_hub/reference/README.md)
UNLOCATED = {"98411", "98413", "98414", "98415", "98901", "98806", "98832", "98833"} | {
    f"987{n}" for n in ("11", "13", "16", "17", "18", "20", "21", "26", "27", "28", "30", "32", "34", "37",
                        "39", "40", "41", "42", "43", "45", "46", "49", "50", "51", "52", "55", "56", "57")}


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
    assert {r[3] for r in rows} <= {"mairie", "contour"}


def test_every_current_commune_is_located_but_36_overseas(con):
    missing = _column(con, "SELECT code_commune FROM ref.communes WHERE type_commune = 'commune-actuelle' "
                           "AND latitude IS NULL")
    assert missing == UNLOCATED and len(missing) == 36
    # every location lies in a box of France (ref.france_boxes): no swapped or lost sign
    assert _one(con, """SELECT count(*) FROM ref.communes c WHERE latitude IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM ref.france_boxes b WHERE c.latitude BETWEEN b.lat_min AND b.lat_max
                                          AND c.longitude BETWEEN b.lon_min AND b.lon_max)""") == (0,)
    # Nord and Ain, the départements a new user tried, are complete; the town hall where it is valid
    assert _one(con, "SELECT count(*), count(latitude) FROM ref.communes WHERE type_commune = 'commune-actuelle' "
                     "AND code_departement = '59'") == (647, 647)
    assert _one(con, "SELECT count(*), count(latitude) FROM ref.communes WHERE type_commune = 'commune-actuelle' "
                     "AND code_departement = '01'") == (391, 391)
    # Dunkerque's town hall; 01036 Valromey-sur-Séran (home of station 01414001) is located
    lat, lon, source = _one(con, "SELECT latitude, longitude, coord_source FROM ref.communes "
                                 "WHERE code_commune = '59183' AND type_commune = 'commune-actuelle'")
    assert (round(lat, 3), round(lon, 3), source) == (51.038, 2.377, "mairie")
    assert _one(con, "SELECT latitude IS NOT NULL FROM ref.communes WHERE code_commune = '01036' "
                     "AND type_commune = 'commune-actuelle'") == (True,)


@pytest.mark.parametrize("code, commune, kind", [
    ("34172", "34172", "commune"),
    ("75114", "75056", "arrondissement"),          # Paris 14e
    ("69387", "69123", "arrondissement"),          # Lyon 7e
    ("13211", "13055", "arrondissement"),          # Marseille 11e
    ("01414", "01036", "commune_deleguee"),        # Sutrieu, in Valromey-sur-Séran
    ("74011", "74010", "commune_deleguee"),        # Annecy-le-Vieux, merged into Annecy
    ("20004", "2A004", "ancien_code"),             # Ajaccio before the two Corsican départements
    ("98511", "97611", "ancien_code"),             # Mamoudzou in Météo-France's Mayotte numbering
    ("97123", "97701", "ancien_code"),             # Saint-Barthélemy, once a commune of Guadeloupe
])
def test_every_code_a_partner_may_write_leads_to_its_current_commune(con, code, commune, kind):
    assert _one(con, "SELECT code_commune, kind FROM ref.commune_codes WHERE code = ?", [code]) == (commune, kind)


def test_unknown_and_taaf_station_codes_lead_nowhere(con):
    assert _one(con, "SELECT count(*) FROM ref.commune_codes WHERE code IN ('99999', '98403', '34999')") == (0,)


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
    # a warehouse loaded from other reference files (an older hub) is reloaded
    con.execute("UPDATE ref.meta SET files_sha256 = 'older'")
    assert not cog.is_loaded(con)
    con.close()
