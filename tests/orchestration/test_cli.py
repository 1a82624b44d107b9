"""The `hub` CLI as a user runs it: a small demo region end to end, twice."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest

from territoire_hub.lineage import mart_datasets
from territoire_hub.settings import Settings

from tests.conftest import SMALL_DEMO, copy_home, hub
from tests.sources.test_loading import traffic_file, traffic_rows


def raw_fingerprint(warehouse: Path) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent hash of every raw table."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' ORDER BY 1").fetchall()]
        out = {}
        for table in tables:
            rows = sorted(map(repr, con.execute(f'SELECT * FROM raw."{table}"').fetchall()))
            out[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def own_home(demo_home, tmp_path_factory) -> Path:
    """A copy of the session's demo home, for the tests that run more commands on it."""
    return copy_home(demo_home, tmp_path_factory.mktemp("cli") / "home").home


def test_demo_run_lands_every_dataset_and_prints_a_summary(demo_run, registry):
    home, result = demo_run
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Rows per raw table" in out and "Quarantined deliveries" in out
    fingerprint = raw_fingerprint(home / "warehouse" / "hub.duckdb")
    assert set(fingerprint) == set(registry.datasets)
    assert all(rows > 0 for rows, _ in fingerprint.values()), fingerprint
    for key in registry.datasets:
        assert f"raw.{key}" in out
    # the demo's faulty deliveries: a gzip cut in transfer stays quarantined with its reason;
    # Beaucaire's UTF-8 tickets were superseded by the cp1252 correction, so they are not listed
    # make run builds every mart of the demo region; the status lists them with row counts
    marts = dict(line.split() for line in out.split("Marts (regional indicators)")[1].split("\n\n")[0].strip().splitlines())
    assert {"marts.fiche_territoire", "marts.meteo_territoire_jour", "marts.energie_territoire_annee",
            "marts.eclairage_territoire_annee", "marts.trafic_territoire_annee", "marts.recharge_territoire"} <= set(marts)
    # every mart the demo's datasets feed has rows; two are built empty: the demo delivers no
    # national road sections at all, and of the mobility-counter layouts only the site register
    # (its road counters' locations), no measures
    sources = mart_datasets(Settings.from_env({"HUB_HOME": str(home)}), registry)
    assert sources["trafic_troncon_annee"] == []
    assert sources["mobilites_site_annee"] and not registry.of_format("comptage_mobilites_measure")
    assert all(sources[mart] for mart in sources if mart not in {"trafic_troncon_annee", "mobilites_site_annee"})
    empty = {table for table, rows in marts.items() if int(rows.replace(",", "")) == 0}
    assert empty == {"marts.trafic_troncon_annee", "marts.mobilites_site_annee"}, marts
    assert "Quarantined deliveries (1)" in out
    assert "montpellier-metropole / capteurs_eclairage / capteurs_eclairage_" in out
    assert "gzip stream is truncated or corrupt" in out


def test_demo_run_gates_the_marts_and_writes_the_quality_outputs(demo_run):
    home, result = demo_run
    out = result.stdout
    gate = out.split("Publication gate (latest validation of each mart)")[1].split("\n\n")[0]
    assert "marts.energie_territoire_annee" in gate and "BLOCKED" not in gate
    assert gate.count("publishable") == 11
    # the Paris layout's repeated rows are flagged, loaded, and counted in the status
    assert "montpellier-metropole / comptages_routiers:" in out.split("Flagged deliveries")[1]
    reports = home / "data" / "quality" / "reports"
    (run,) = list(reports.iterdir())
    assert (run / "summary.md").exists() and (run / "quality_report.json").exists()
    assert {p.name for p in (run / "partners").iterdir()} >= {"enedis.json", "enedis.md", "montpellier-metropole.md"}
    assert (home / "data" / "quality" / "docs" / "index.html").exists()
    # the gates leave their pages to the build, which renders them once after its runs
    validations = home / "data" / "quality" / "docs" / "validations"
    gated = re.findall(r"marts\.(\w+)", gate)
    assert len(gated) == 11 and all(any((validations / f"mart__{m}__rows").rglob("*.html")) for m in gated)
    report = hub(home, "quality", "report")
    assert report.returncode == 0, report.stderr
    assert "QUARANTINED — montpellier-metropole / capteurs_eclairage" in report.stdout
    assert "| energie_territoire_annee | yes |" in report.stdout


def test_dbt_s_per_node_log_goes_to_a_file_and_the_console_gets_its_summary(demo_run):
    home, result = demo_run
    out = result.stdout
    assert " of 620 START " not in out and "Running with dbt=" not in out      # no per-node lines
    (summary,) = [line for line in out.splitlines() if line.startswith("  dbt build: ") and " nodes in " in line]
    logs = sorted((home / "data" / "logs" / "dbt").glob("*-dbt_*models.log"))
    assert summary.endswith(f"dbt's logs: {home / 'data' / 'logs' / 'dbt'})") and " 0 errors" in summary
    assert re.search(r"dbt build: (\d+) nodes in \d+ s — \1 passed, 0 warnings, 0 errors \(\d+ Dagster runs", summary)
    # the build's rounds, each dbt's own log of its nodes, private
    assert len(logs) == 5 and all("Done. PASS=" in log.read_text() for log in logs)
    assert all(log.stat().st_mode & 0o777 == 0o600 for log in logs)
    assert len(out.splitlines()) < 150       # the whole demo run's console, dbt's hundreds of lines gone
    # the pages of the deliveries' and the gates' validations, rendered once after the runs
    assert re.search(r"\n  Data Docs: \d+ validation pages rendered \(\d+ s after the runs\)\n", out), out


def test_the_demo_run_ends_with_where_everything_is_counted_as_hub_status_counts(demo_run):
    home, result = demo_run
    block = result.stdout.split("\nDone.\n")[1]
    loaded, quarantined = map(int, re.search(r"deliveries +(\d+) loaded, (\d+) quarantined", block).groups())
    status = hub(home, "status").stdout
    rows = status.split("Deliveries per partner dataset")[1].split("\n\n")[0].splitlines()[2:]
    assert loaded == sum(int(row.split()[-4]) for row in rows) > 0
    assert quarantined == int(re.search(r"Quarantined deliveries \((\d+)\)", status)[1]) > 0
    assert f"analysts       {home / 'warehouse' / 'shared.duckdb'}" in block
    assert re.search(r"quality +\S+/data/quality/reports/[^/]+/summary\.md", block)
    assert "portal" not in block             # the tests' demo runs with --no-publish


def test_second_run_leaves_every_raw_table_identical(own_home):
    home = own_home
    before = raw_fingerprint(home / "warehouse" / "hub.duckdb")
    # the same deliveries generated again and offered again (the build is not what this is about)
    again = hub(home, "demo", "run", *SMALL_DEMO, "--no-build", check=False)
    assert again.returncode == 0, again.stderr
    assert "0 new deliveries landed" in again.stdout
    assert raw_fingerprint(home / "warehouse" / "hub.duckdb") == before


def test_status_lists_quarantined_deliveries_with_reasons(own_home):
    home = own_home
    inbox = home / "data" / "inbox" / "herault-energies"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "tickets_pannes_202411.csv").write_bytes(b"")
    assert hub(home, "ingest", "--partner", "herault-energies").returncode == 0
    status = hub(home, "status")
    assert status.returncode == 0
    assert "herault-energies / tickets_pannes / tickets_pannes_202411.csv" in status.stdout
    assert "file is empty (no header, no rows)" in status.stdout


def test_hub_ingest_validates_without_great_expectations_and_leaves_its_pages_to_quality_docs(demo_home, tmp_path):
    """`hub ingest` validates inside DuckDB: Great Expectations is not imported by the process
    (≈ 230 MiB: bench/README.md), yet the result is stored in GX's store, and `hub quality docs`
    renders its Data Docs page, once. (pandas is: DuckDB's scan of an Arrow table imports
    pyarrow.dataset, which imports it.)"""
    home = copy_home(demo_home, tmp_path / "home").home
    rows = traffic_rows("2024-10-27")                          # the DST day: 25 hours
    fields = rows[7].split(";")
    fields[3] = "25000.0"                                      # line 9: a flow no road carries
    rows[7] = ";".join(fields)
    inbox = home / "data" / "inbox" / "montpellier-metropole"
    (inbox / "comptages_routiers_20241027.csv").write_text(traffic_file("2024-10-27", rows), encoding="utf-8")
    done = hub(home, "ingest", "--dataset", "montpellier_metropole__comptages_routiers",
               env={"PYTHONPROFILEIMPORTTIME": "1"})
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    assert "duckdb" in imported and "dagster" in imported          # the profile is there
    assert "great_expectations" not in imported
    stored = sorted((home / "data" / "quality" / "gx" / "gx" / "uncommitted" / "validations"
                     / "montpellier_metropole__comptages_routiers__rows").glob("*/*/*.json"))
    result = json.loads(stored[-1].read_text())
    (failed,) = [r for r in result["results"] if not r["success"]]
    assert failed["expectation_config"]["meta"]["check"] == "out_of_range"
    assert [row["_source_line"] for row in failed["result"]["unexpected_index_list"]] == [9]
    pending = home / "data" / "quality" / "gx" / "pending_docs.txt"
    assert pending.exists()

    docs = hub(home, "quality", "docs")
    page = Path(docs.stdout.strip()).parent / "validations" / stored[-1].relative_to(stored[-1].parents[3])
    page = page.with_suffix(".html")
    assert "out of range" in page.read_text() or "25000" in page.read_text()
    assert not pending.exists()
    assert hub(home, "quality", "docs").stdout == docs.stdout     # nothing left to render


def test_registry_command_lists_partners(tmp_path):
    result = hub(tmp_path, "registry")
    assert result.returncode == 0
    assert "enedis__conso_annuelle_commune" in result.stdout and "commercial" in result.stdout


def test_status_without_warehouse_says_what_to_do(tmp_path):
    result = hub(tmp_path, "status", check=False)
    assert result.returncode == 1
    assert "run `hub ingest`" in result.stderr


def test_an_ingest_where_every_transfer_failed_exits_non_zero(tmp_path, monkeypatch):
    """An expired token: every download of the partner answers 401. Nothing was received: that is a
    failure (exit 1), not a quiet day."""
    class Refusing(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(401)
            self.send_header("WWW-Authenticate", "Bearer")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("HUB_URL_RECHARGE_SUD", f"http://127.0.0.1:{server.server_address[1]}")
        monkeypatch.setenv("HUB_PARTNER_TOKEN_RECHARGE_SUD", "jeton-expire")
        done = hub(tmp_path, "ingest", "--dataset", "recharge_sud__irve_statique", check=False)
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 1, done.stdout + done.stderr
    assert "transport error [recharge_sud__irve_statique]" in done.stderr and "401" in done.stderr
    assert "1 transport error(s) and nothing received" in done.stderr
    assert "Ingestion: 0 new deliveries landed" in done.stdout
