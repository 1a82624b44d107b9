"""The analysts' snapshot: what it holds (approved marts under secrecy, the COG, documented views,
nothing raw), the documented example queries, and readers that keep a whole snapshot while the
pipeline swaps a new one in."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from territoire_hub.expectations.results import latest_gate_run
from territoire_hub.publish import catalogue
from territoire_hub.publish.publisher import protected_table
from territoire_hub.publish.shared_contents import REFERENCE, VIEWS
from territoire_hub.settings import Settings
from territoire_hub.warehouse import connect
from tests.conftest import SMALL_DEMO, copy_home, hub

REPO = Path(__file__).resolve().parents[2]

# one string per snapshot state: its run and every table's rows, hashed
FINGERPRINT = """
SELECT (SELECT run_id FROM meta.snapshot) AS run_id,
       (SELECT string_agg(table_schema || '.' || table_name || ':' || lignes, ',' ORDER BY table_name) FROM meta.tables)
"""


def fingerprint(con: duckdb.DuckDBPyConnection) -> dict:
    run_id, tables = con.execute(FINGERPRINT).fetchone()
    marts = {name: con.execute(f"SELECT md5(coalesce(string_agg(t::VARCHAR, '|' ORDER BY t::VARCHAR), '')) "
                               f"FROM marts.{name} t").fetchone()[0]
             for (name,) in con.execute("SELECT table_name FROM meta.tables WHERE table_schema = 'marts'").fetchall()}
    return {"run_id": run_id, "tables": tables, "marts": marts}


@pytest.fixture(scope="module")
def snapshot(demo_home) -> duckdb.DuckDBPyConnection:
    settings = Settings.from_env({"HUB_HOME": str(demo_home)})
    con = duckdb.connect(str(settings.shared_warehouse), read_only=True)
    yield con
    con.close()


def test_the_snapshot_holds_the_approved_marts_the_cog_and_views_and_nothing_raw(demo_home, snapshot, registry):
    tables = {f"{s}.{t}" for s, t in snapshot.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal").fetchall()}
    views = {f"{s}.{v}" for s, v in snapshot.execute(
        "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    marts = {f"marts.{t.mart}" for f in catalogue.FAMILIES for t in f.tables}
    assert tables == marts | {f"ref.{r}" for r in REFERENCE} | {"meta.snapshot", "meta.tables"}
    assert views == {f"vues.{v}" for v in VIEWS}
    settings = Settings.from_env({"HUB_HOME": str(demo_home)})
    hub_con = connect(settings.warehouse, read_only=True)
    try:
        assert snapshot.execute("SELECT run_id, audience FROM meta.snapshot").fetchone() == \
            (latest_gate_run(hub_con), "analysts")
        for family in catalogue.FAMILIES:        # each mart is the portal's table: approved copy, secrecy applied
            for table in family.tables:
                expected, _ = protected_table(hub_con, registry, table)
                got = snapshot.execute(f"SELECT * FROM marts.{table.mart}").fetch_arrow_table()
                assert got.column_names == expected.column_names
                assert got.to_pylist() == expected.to_pylist(), table.mart
        secret = snapshot.execute("SELECT count(*) FROM marts.recharge_territoire_annee "
                                  "WHERE secret_statistique IS NOT NULL").fetchone()[0]
        assert secret > 0 and snapshot.execute(
            "SELECT count(taux_occupation_pct) FROM marts.recharge_territoire_annee "
            "WHERE secret_statistique IS NOT NULL").fetchone()[0] == 0
        assert snapshot.execute("SELECT count(*) FROM ref.communes").fetchone()[0] == \
            hub_con.execute("SELECT count(*) FROM ref.communes").fetchone()[0]
    finally:
        hub_con.close()


def test_every_table_view_and_column_is_documented(snapshot):
    undocumented = snapshot.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE NOT internal AND "
        "coalesce(comment, '') = '' UNION ALL SELECT schema_name || '.' || view_name FROM duckdb_views() "
        "WHERE NOT internal AND coalesce(comment, '') = ''").fetchall()
    assert undocumented == []
    columns = snapshot.execute("SELECT schema_name || '.' || table_name || '.' || column_name FROM duckdb_columns() "
                               "WHERE NOT internal AND coalesce(comment, '') = ''").fetchall()
    assert columns == []
    comment = snapshot.execute("SELECT comment FROM duckdb_columns() WHERE table_name = 'energie_territoire_annee' "
                               "AND column_name = 'conso_mwh_par_habitant'").fetchone()[0]
    assert "habitant" in comment
    listed = {f"{s}.{t}" for s, t in snapshot.execute("SELECT table_schema, table_name FROM meta.tables").fetchall()}
    every = {f"{s}.{t}" for s, t in snapshot.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal UNION ALL "
        "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    assert listed == every
    sources = dict(snapshot.execute("SELECT table_name, sources FROM meta.tables").fetchall())
    assert sources["energie_territoire_annee"] == ["enedis__conso_annuelle_commune", "meteo_france__observations_horaires"]


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def test_the_documented_example_queries_run_on_the_demo_snapshot(demo_home, monkeypatch, capsys):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## The shared warehouse"):]
    section = section[:section.index("\n## ", 5)] if "\n## " in section[5:] else section
    overview = (REPO / "dbt_project" / "models" / "overview.md").read_text(encoding="utf-8")
    monkeypatch.chdir(demo_home)                   # the examples use the default relative paths
    sql = _blocks(section, "sql") + _blocks(overview, "sql")
    assert len(sql) >= 15
    for query in sql:
        con = duckdb.connect(":memory:") if "ATTACH" in query else \
            duckdb.connect("warehouse/shared.duckdb", read_only=True)
        try:
            assert con.execute(query).fetchall(), query   # each returns rows on the demo
        finally:
            con.close()
    for block in _blocks(section, "python"):
        exec(compile(block, "README.md", "exec"), {})
        assert "nom_territoire" in capsys.readouterr().out
    shell = [b for b in _blocks(section, "sh") if "shared.duckdb" in b]
    assert shell
    for command in shell:
        line = command.strip().replace(".venv/bin/duckdb", str(Path(sys.executable).with_name("duckdb")))
        done = subprocess.run(line, shell=True, cwd=demo_home, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "energie_territoire_annee" in done.stdout, done.stderr


READER = """
import duckdb, json, sys, time
sys.path.insert(0, {repo!r})
from tests.publish.test_shared_warehouse import fingerprint
con = duckdb.connect({path!r}, read_only=True)
print(json.dumps(fingerprint(con)), flush=True)
while sys.stdin.readline():
    print(json.dumps(fingerprint(con)), flush=True)
"""


def test_a_reader_keeps_its_snapshot_while_the_pipeline_swaps_in_a_new_one(demo_home, tmp_path):
    settings = copy_home(demo_home, tmp_path / "home")
    path = settings.shared_warehouse
    # an analyst's session, in its own process, holding the snapshot open
    reader = subprocess.Popen([sys.executable, "-c", READER.format(repo=str(REPO), path=str(path))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    before = json.loads(reader.stdout.readline())
    answers, opened, errors, stop = [], [], [], threading.Event()

    def keep_reading() -> None:
        while not stop.is_set():
            try:
                reader.stdin.write("\n")
                reader.stdin.flush()
                answers.append(json.loads(reader.stdout.readline()))
                fresh = duckdb.connect(str(path), read_only=True)   # a new session at any moment: a whole snapshot
                try:
                    for schema, name, rows in fresh.execute("SELECT table_schema, table_name, lignes "
                                                            "FROM meta.tables").fetchall():
                        assert fresh.execute(f"SELECT count(*) FROM {schema}.{name}").fetchone()[0] == rows
                    opened.append(fresh.execute("SELECT run_id FROM meta.snapshot").fetchone()[0])
                finally:
                    fresh.close()
            except Exception as exc:      # noqa: BLE001 — reported below
                errors.append(repr(exc))
            time.sleep(0.25)           # often enough to see the swap, without starving the pipeline

    thread = threading.Thread(target=keep_reading)
    thread.start()
    try:
        # the pipeline: new deliveries (another seed: other values for the same periods), ingest,
        # build, gate, new snapshot
        hub(settings.home, "demo", "run", *SMALL_DEMO, "--seed", "43")     # exits 0: it did not wait
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join()
    reader.stdin.write("\n")
    reader.stdin.flush()
    still = json.loads(reader.stdout.readline())
    reader.stdin.close()
    assert reader.wait(timeout=30) == 0
    assert errors == []
    assert len(answers) > 20 and all(a == before for a in answers)     # the open session never saw a change
    assert still == before
    after_con = duckdb.connect(str(path), read_only=True)
    try:
        after = fingerprint(after_con)
    finally:
        after_con.close()
    hub_con = connect(settings.warehouse, read_only=True)
    try:
        assert after["run_id"] == latest_gate_run(hub_con) != before["run_id"]
    finally:
        hub_con.close()
    assert after["marts"] != before["marts"]              # new figures
    # sessions opened during the run saw the old snapshot, then the new one: never a mix, never back
    switch = opened.index(after["run_id"])
    assert switch > 0 and set(opened[:switch]) == {before["run_id"]} and set(opened[switch:]) == {after["run_id"]}
    assert not list(path.parent.glob("*.tmp*")) and not (settings.data_dir / "quarantine" / "sharing").exists()


def test_the_dagster_asset_writes_the_snapshot_of_its_run(demo_home, tmp_path):
    import dagster as dg

    from territoire_hub.orchestration.resources import HubResource
    from territoire_hub.orchestration.sharing import shared_warehouse_asset

    settings = copy_home(demo_home, tmp_path / "home")
    (asset,) = shared_warehouse_asset({t.mart for f in catalogue.FAMILIES for t in f.tables})
    result = dg.materialize([asset], resources={"hub": HubResource(home=str(settings.home))})
    assert result.success
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    assert meta["tables"].value == len([t for f in catalogue.FAMILIES for t in f.tables]) \
        + len(REFERENCE)
    con = duckdb.connect(str(settings.shared_warehouse), read_only=True)
    try:
        assert con.execute("SELECT run_id FROM meta.snapshot").fetchone()[0] == result.run_id
    finally:
        con.close()
    hub_con = connect(settings.warehouse, read_only=True)
    try:
        assert hub_con.execute("SELECT audience, run_id FROM audit.events WHERE action = 'snapshot' "
                               "ORDER BY recorded_at DESC LIMIT 1").fetchone() == ("analysts", result.run_id)
    finally:
        hub_con.close()
