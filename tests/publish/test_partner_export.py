"""`hub partner export`: each partner's file holds its own deliveries, rows, staged rows and
quality reports, and the shared marts — and nothing of any other partner. Exports are audited."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from territoire_hub.warehouse import connect
from tests.conftest import copy_home, hub

# every partner of the registry: private companies (commercial data), collectivités (personal and
# restricted data), Météo-France
PARTNERS = ("enedis", "herault-energies", "meteo-france", "montpellier-metropole", "recharge-sud", "ville-beaucaire")


@pytest.fixture(scope="module")
def exported(demo_home, tmp_path_factory):
    settings = copy_home(demo_home, tmp_path_factory.mktemp("exports") / "home")
    outputs = {p: hub(settings.home, "partner", "export", p).stdout for p in PARTNERS}
    return settings, outputs


def _open(settings, partner):
    return duckdb.connect(str(settings.exports_dir / f"{partner}.duckdb"), read_only=True)


def _digest(con, relation: str) -> tuple[int, str]:
    return con.execute(f"SELECT count(*), md5(coalesce(string_agg(t::VARCHAR, '|' ORDER BY t::VARCHAR), '')) "
                       f"FROM {relation} t").fetchone()


def test_each_export_holds_the_partners_own_data_and_the_shared_marts(exported, registry):
    settings, outputs = exported
    assert set(PARTNERS) == set(registry.partners)
    hub_con = connect(settings.warehouse, read_only=True)
    try:
        for partner in PARTNERS:
            assert f"Export for {partner}" in outputs[partner] and "sensitivity check passed" in outputs[partner]
            con = _open(settings, partner)
            try:
                own = sorted(r[0] for r in hub_con.execute(
                    "SELECT delivery_id FROM landing.deliveries WHERE partner_id = ?", [partner]).fetchall())
                assert own and sorted(r[0] for r in con.execute(
                    "SELECT delivery_id FROM landing.deliveries").fetchall()) == own
                for entry in registry.of_partner(partner):       # their rows, exactly as loaded and as staged
                    key, model = entry.key, f"staging.stg_{entry.spec.id}"
                    assert _digest(con, f"raw.{key}") == _digest(hub_con, f"raw.{key}")
                    mine = f"(SELECT * FROM {model} WHERE dataset_key = '{key}')"
                    assert _digest(con, mine) == _digest(hub_con, mine) and _digest(con, mine)[0] > 0
                assert con.execute("SELECT count(*), count(DISTINCT partner_id), min(partner_id) "
                                   "FROM quality.validations").fetchone() == (
                    hub_con.execute("SELECT count(*) FROM quality.validations WHERE partner_id = ? "
                                    "AND subject_type = 'delivery'", [partner]).fetchone()[0], 1, partner)
                reports = con.execute("SELECT fichier, contenu FROM quality.rapports").fetchall()
                assert {f for f, _ in reports} == {f"{partner}.json", f"{partner}.md"}
                assert con.execute("SELECT audience FROM meta.snapshot").fetchone()[0] == f"partner:{partner}"
                assert con.execute("SELECT count(*) FROM marts.fiche_territoire").fetchone()[0] == \
                    hub_con.execute("SELECT count(*) FROM publication.fiche_territoire").fetchone()[0]
            finally:
                con.close()
    finally:
        hub_con.close()


def test_no_export_holds_anything_of_another_partner(exported, registry):
    settings, _ = exported
    hub_con = connect(settings.warehouse, read_only=True)
    try:
        for partner in PARTNERS:
            others = [p for p in registry.partners if p != partner]
            other_keys = [e.key for p in others for e in registry.of_partner(p)]
            foreign = pa.table({"v": [r[0] for r in hub_con.execute(
                "SELECT delivery_id FROM landing.deliveries WHERE partner_id <> ? UNION ALL "
                "SELECT sha256 FROM landing.deliveries WHERE partner_id <> ?", [partner, partner]).fetchall()]
                + others + other_keys})
            assert foreign.num_rows > len(others) + len(other_keys)
            con = _open(settings, partner)
            try:
                con.register("foreign_values", foreign)
                tables = [f"{s}.{t}" for s, t in con.execute(
                    "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal").fetchall()]
                assert not [t for t in tables for k in other_keys if k in t]
                # every text cell of every table: no other partner's id, dataset, delivery or file checksum
                leaks = []
                for schema, table, column in con.execute(
                        "SELECT schema_name, table_name, column_name FROM duckdb_columns() WHERE NOT internal "
                        "AND data_type = 'VARCHAR' AND schema_name <> 'ref' AND database_name = current_database()").fetchall():
                    found = con.execute(f'SELECT count(*) FROM {schema}."{table}" WHERE "{column}" IN '
                                        f"(SELECT v FROM foreign_values)").fetchone()[0]
                    if found:
                        leaks.append((f"{schema}.{table}.{column}", found))
                assert leaks == []
            finally:
                con.close()
    finally:
        hub_con.close()


def test_exports_pass_the_sensitivity_check_and_are_audited(exported):
    settings, _ = exported
    done = hub(settings.home, "sensitivity", "check")
    assert done.stdout.count("ok ") == 1 + len(PARTNERS) and "FAIL" not in done.stdout
    audit = hub(settings.home, "audit", "--action", "partner_export").stdout
    for partner in PARTNERS:
        assert f"partner_export  {partner}" in audit and f"exports/{partner}.duckdb" in audit
    assert "snapshot" not in hub(settings.home, "audit", "--for", "enedis").stdout


def test_an_unknown_partner_is_a_clear_error(exported):
    settings, _ = exported
    done = hub(settings.home, "partner", "export", "grdf", check=False)
    assert done.returncode == 1
    assert "unknown partner 'grdf'; known: enedis, herault-energies" in done.stderr
    assert not (settings.exports_dir / "grdf.duckdb").exists()


def test_an_export_since_a_day_holds_only_what_was_processed_from_that_day(demo_home, tmp_path):
    """--since: the partner's deliveries processed on or after the day, their raw and staged rows —
    the older ones stay out (their processing moved back to 2024 here); the shared part is whole."""
    settings = copy_home(demo_home, tmp_path / "home")
    partner, key = "montpellier-metropole", "montpellier_metropole__comptages_routiers"
    con = connect(settings.warehouse)
    try:
        ids = [r[0] for r in con.execute("SELECT delivery_id FROM landing.deliveries WHERE partner_id = ? "
                                         "ORDER BY sequence", [partner]).fetchall()]
        older = ids[: len(ids) // 2]
        # one minute before midnight in Paris on the eve of the cut: still before it
        con.execute("UPDATE landing.deliveries SET processed_at = TIMESTAMPTZ '2025-01-31 23:59:00+01' "
                    "WHERE delivery_id IN (SELECT unnest(?::VARCHAR[]))", [older])
        recent = set(ids) - set(older)
        raw_rows = con.execute(f"SELECT count(*) FROM raw.{key} WHERE _delivery_id IN (SELECT unnest(?::VARCHAR[]))",
                               [sorted(recent)]).fetchone()[0]
        marts = con.execute("SELECT count(*) FROM publication.fiche_territoire").fetchone()[0]
    finally:
        con.close()
    assert older and recent and raw_rows > 0
    output = tmp_path / "recent.duckdb"
    done = hub(settings.home, "partner", "export", partner, "--since", "2025-02-01", "--output", str(output))
    assert "(processed since 2025-02-01)" in done.stdout
    exported = duckdb.connect(str(output), read_only=True)
    try:
        assert {r[0] for r in exported.execute("SELECT delivery_id FROM landing.deliveries").fetchall()} == recent
        assert exported.execute(f"SELECT count(*), count(*) FILTER (WHERE _delivery_id IN "
                                f"(SELECT unnest(?::VARCHAR[]))) FROM raw.{key}", [sorted(recent)]).fetchone() \
            == (raw_rows, raw_rows)
        staged = exported.execute("SELECT count(*), count(*) FILTER (WHERE _delivery_id IN (SELECT unnest(?::VARCHAR[]))) "
                                  "FROM staging.stg_comptage_routier_horaire", [sorted(recent)]).fetchone()
        assert staged[0] > 0 and staged[0] == staged[1]
        assert exported.execute("SELECT count(*) FROM marts.fiche_territoire").fetchone()[0] == marts
    finally:
        exported.close()
