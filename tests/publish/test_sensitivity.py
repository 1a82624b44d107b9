"""The sensitivity check passes on the real snapshot and exports, and fails on each kind of leak;
the snapshot writer refuses a leaking file and keeps the previous snapshot."""

from __future__ import annotations

import hashlib
import shutil

import duckdb
import pytest

from territoire_hub.publish.sensitivity import check_file
from territoire_hub.settings import Settings
from territoire_hub.warehouse import connect
from tests.conftest import copy_home, hub


@pytest.fixture(scope="module")
def demo_settings(demo_home) -> Settings:
    return Settings.from_env({"HUB_HOME": str(demo_home)})


def leaked(demo_settings, tmp_path, *statements: str) -> list:
    """Findings on a copy of the demo snapshot after ``statements`` (``hub`` = the hub's warehouse)."""
    path = tmp_path / "leaky.duckdb"
    shutil.copyfile(demo_settings.shared_warehouse, path)
    con = duckdb.connect(str(path))
    try:
        con.execute(f"ATTACH '{demo_settings.warehouse}' AS hub (READ_ONLY)")
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()
    return check_file(path, demo_settings, registry_of(demo_settings))


def registry_of(settings):
    return settings.load_registry()


def test_the_real_snapshot_passes(demo_settings, registry):
    assert check_file(demo_settings.shared_warehouse, demo_settings, registry) == []


def test_a_column_of_a_commercial_dataset_is_caught(demo_settings, tmp_path):
    findings = leaked(demo_settings, tmp_path,
                      "ALTER TABLE marts.energie_territoire_annee ADD COLUMN nb_sites DOUBLE",
                      "UPDATE marts.energie_territoire_annee m SET nb_sites = r.nb_sites FROM "
                      "hub.raw.enedis__conso_annuelle_commune r WHERE r.code_commune = m.code_territoire")
    assert [(f.table, f.column) for f in findings] == [("marts.energie_territoire_annee", "nb_sites")]
    assert "enedis__conso_annuelle_commune (commercial)" in findings[0].reason
    assert str(findings[0]).startswith("leaky.duckdb: marts.energie_territoire_annee.nb_sites: ")


def test_an_undocumented_column_is_caught_whatever_its_name(demo_settings, tmp_path):
    findings = leaked(demo_settings, tmp_path, "ALTER TABLE marts.fiche_territoire ADD COLUMN pdl_principal VARCHAR")
    assert [(f.table, f.column) for f in findings] == [("marts.fiche_territoire", "pdl_principal")]
    assert "not in the table's documentation" in findings[0].reason


def test_a_raw_table_or_an_unknown_table_is_caught(demo_settings, tmp_path):
    findings = leaked(demo_settings, tmp_path,
                      "CREATE SCHEMA raw",
                      "CREATE TABLE raw.recharge_sud__irve_dynamique AS SELECT * FROM hub.raw.recharge_sud__irve_dynamique",
                      "CREATE TABLE marts.points_de_charge AS SELECT DISTINCT id_pdc_itinerance "
                      "FROM hub.raw.recharge_sud__irve_dynamique")
    assert {(f.table, f.column) for f in findings} == {("raw.recharge_sud__irve_dynamique", None),
                                                       ("marts.points_de_charge", None)}


def test_row_lineage_an_unaggregated_mart_and_other_objects_are_caught(demo_settings, tmp_path):
    findings = leaked(
        demo_settings, tmp_path,
        "ALTER TABLE marts.meteo_territoire_annee ADD COLUMN _delivery_id VARCHAR",
        # the EV usage per territory without its territory level: one row per… what?
        "ALTER TABLE marts.recharge_territoire_annee DROP COLUMN niveau",
        "ALTER TABLE ref.epci ADD COLUMN NB_Sites INTEGER",              # any case, outside the marts too
        "ALTER TABLE ref.communes ADD COLUMN pdl_principal VARCHAR",
        "CREATE MACRO marts.points() AS TABLE SELECT 'FRS01E0001' AS id",  # data in a macro…
        "CREATE TYPE marts.ids AS ENUM ('FRS01E0001')")                   # …or in a type
    reasons = {(f.table, f.column): f.reason for f in findings}
    assert "row-level lineage" in reasons[("marts.meteo_territoire_annee", "_delivery_id")]
    assert "not aggregated by territory, yet built from recharge_sud__irve_dynamique" in \
        reasons[("marts.recharge_territoire_annee", None)]
    assert "enedis__conso_annuelle_commune (commercial)" in reasons[("ref.epci", "NB_Sites")]
    assert "documentation" in reasons[("ref.communes", "pdl_principal")]
    assert reasons[("marts.points", None)] == "a macro: the hub shares tables and views only"
    assert reasons[("marts.ids", None)] == "a type: the hub shares tables and views only"


def test_secrecy_is_rechecked_from_the_registry_rule(demo_settings, tmp_path):
    flagged = "secret_statistique IS NOT NULL"      # a SQL condition: the cells under secrecy
    # a secret cell showing its measure, its number of points or its dominant share
    shown = leaked(demo_settings, tmp_path,
                   f"UPDATE marts.recharge_territoire SET taux_occupation_pct = 12.5 WHERE {flagged}",
                   f"UPDATE marts.recharge_territoire_annee SET points_observes = 1, part_point_dominant_pct = 99 "
                   f"WHERE {flagged}")
    assert {(f.table, f.column) for f in shown} == {
        ("marts.recharge_territoire", "taux_occupation_pct"), ("marts.recharge_territoire_annee", "points_observes"),
        ("marts.recharge_territoire_annee", "part_point_dominant_pct")}
    # the status column cleared and the values put back: the rule itself catches it
    cleared = leaked(demo_settings, tmp_path,
                     "UPDATE marts.recharge_territoire_annee SET secret_statistique = NULL, points_observes = 1, "
                     f"taux_occupation_pct = 40 WHERE {flagged}")
    (finding,) = cleared
    assert finding.table == "marts.recharge_territoire_annee" and "visible cells break the rule of the " \
        "irve_dynamique data (declared by recharge_sud__irve_dynamique: 3 points_observes minimum, " \
        "dominant share ≤ 85.0)" in finding.reason
    # a commune secret in the energy dataset whose electricity the fiche still shows
    fiche = leaked(demo_settings, tmp_path,
                   "UPDATE marts.energie_territoire_annee SET secret_statistique = 'primaire', conso_mwh = NULL, "
                   "conso_mwh_par_habitant = NULL, conso_kwh_par_point = NULL, conso_corrigee_climat_mwh = NULL, "
                   "points_de_livraison = NULL, part_point_dominant_min = NULL WHERE niveau = 'commune' AND "
                   "energie = 'electricite' AND secteur = 'TOUS' AND conso_mwh IS NOT NULL")
    (finding,) = fiche
    assert finding.table == "marts.fiche_territoire" and "of cells secret in energie_territoire_annee" in finding.reason


def test_another_partners_rows_in_an_export_are_caught(demo_home, tmp_path, registry):
    settings = copy_home(demo_home, tmp_path / "home")
    hub(settings.home, "partner", "export", "enedis")
    path = settings.exports_dir / "enedis.duckdb"
    assert check_file(path, settings, registry, partner="enedis") == []
    # the same file is not for Recharge Sud
    wrong = {(f.table, f.column) for f in check_file(path, settings, registry, partner="recharge-sud")}
    assert {("landing.deliveries", "partner_id"), ("raw.enedis__conso_annuelle_commune", None)} <= wrong
    con = duckdb.connect(str(path))
    try:
        con.execute(f"ATTACH '{settings.warehouse}' AS hub (READ_ONLY)")
        con.execute("INSERT INTO landing.issues SELECT * FROM hub.landing.issues i WHERE delivery_id IN "
                    "(SELECT delivery_id FROM hub.landing.deliveries WHERE partner_id = 'montpellier-metropole')")
        con.execute("INSERT INTO quality.validations SELECT * FROM hub.quality.validations "
                    "WHERE partner_id = 'meteo-france' LIMIT 3")
    finally:
        con.close()
    found = {(f.table, f.column): f.reason for f in check_file(path, settings, registry, partner="enedis")}
    assert found[("quality.validations", "partner_id")] == "3 rows of another partner"
    assert "deliveries that are not enedis's" in found[("landing.issues", "delivery_id")]


def test_the_writer_refuses_a_leaking_snapshot_and_keeps_the_previous_one(demo_home, tmp_path):
    settings = copy_home(demo_home, tmp_path / "home")
    before = hashlib.sha256(settings.shared_warehouse.read_bytes()).hexdigest()
    con = connect(settings.warehouse)     # a bad change upstream: a partner column reaches an approved mart
    try:
        con.execute("ALTER TABLE publication.fiche_territoire ADD COLUMN id_pdc_itinerance VARCHAR")
        snapshots = con.execute("SELECT count(*) FROM audit.events WHERE action = 'snapshot'").fetchone()[0]
    finally:
        con.close()
    done = hub(settings.home, "snapshot", check=False)
    assert done.returncode == 1
    assert "shared.duckdb not updated: the sensitivity check failed" in done.stderr
    assert "marts.fiche_territoire.id_pdc_itinerance: column of recharge_sud__irve_dynamique" in done.stderr
    assert hashlib.sha256(settings.shared_warehouse.read_bytes()).hexdigest() == before
    # the refused file is kept for the engineers, away from what analysts read, readable by its owner only
    (rejected,) = (settings.data_dir / "quarantine" / "sharing").glob("shared.*.rejected.duckdb")
    assert oct(rejected.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in settings.shared_warehouse.parent.iterdir()) == ["hub.duckdb", "shared.duckdb"]
    con = connect(settings.warehouse, read_only=True)
    try:      # nothing was shared: nothing audited
        assert con.execute("SELECT count(*) FROM audit.events WHERE action = 'snapshot'").fetchone()[0] == snapshots
    finally:
        con.close()


def test_the_cli_checks_each_file_for_its_own_audience(demo_home, tmp_path):
    settings = copy_home(demo_home, tmp_path / "home")
    hub(settings.home, "partner", "export", "enedis")
    assert hub(settings.home, "sensitivity", "check").stdout.count("ok ") == 2
    # Enedis's raw rows slipped into the analysts' file: --partner cannot make them acceptable there
    con = duckdb.connect(str(settings.shared_warehouse))
    try:
        con.execute(f"ATTACH '{settings.warehouse}' AS hub (READ_ONLY)")
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.enedis__conso_annuelle_commune AS "
                    "SELECT * FROM hub.raw.enedis__conso_annuelle_commune")
    finally:
        con.close()
    for args in (["sensitivity", "check"], ["sensitivity", "check", "--partner", "enedis"],
                 ["sensitivity", "check", "--partner", "enedis", str(settings.shared_warehouse)]):
        done = hub(settings.home, *args, check=False)
        assert done.returncode == 1 and f"FAIL {settings.shared_warehouse}" in done.stdout, args
    # an export renamed for another partner is checked as that partner's, and fails
    other = settings.exports_dir / "recharge-sud.duckdb"
    (settings.exports_dir / "enedis.duckdb").rename(other)
    done = hub(settings.home, "sensitivity", "check", check=False)
    assert f"FAIL {other} (for recharge-sud)" in done.stdout
    assert "the file is for partner:enedis, checked as a file for partner:recharge-sud" in done.stdout
