"""Ingestion composed (``orchestration/ingestion.py``): the registry's part of the warehouse is
written again only when what it derives from changed; deliveries are read ahead by one thread."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from territoire_hub.orchestration import ingestion
from territoire_hub.orchestration.ingestion import prepare_warehouse
from territoire_hub.sources import loading
from territoire_hub.sources.ingest import collect_and_land, pending_deliveries
from territoire_hub.registry import load_registry
from territoire_hub.settings import Settings
from territoire_hub.territory import TerritoryError
from territoire_hub.warehouse import connect
from tests.conftest import drop
from tests.sources.test_loading import traffic_file


def test_the_registry_part_is_rewritten_only_when_the_registry_changes(tmp_path, warehouse_template):
    settings = Settings.from_env({"HUB_HOME": str(tmp_path / "home")})
    settings.warehouse.parent.mkdir(parents=True)
    shutil.copyfile(warehouse_template, settings.warehouse)     # prepared with the demo registry
    folder = tmp_path / "registry"
    shutil.copytree(settings.registry_dir, folder)
    con = connect(settings.warehouse)
    try:
        prepare_warehouse(con, load_registry(folder))
        con.execute("INSERT INTO registry.partners VALUES ('marker', 'left alone', 'x', NULL)")
        prepare_warehouse(con, load_registry(folder))            # the same registry: nothing rewritten
        assert con.execute("SELECT nom FROM registry.partners WHERE partner_id = 'marker'").fetchone() == \
            ("left alone",)

        path = folder / "enedis.yaml"
        text = path.read_text()
        path.write_text(text.replace("name: Enedis (", "name: Enedis SA (", 1))
        assert path.read_text() != text
        prepare_warehouse(con, load_registry(folder))            # a partner renamed: the registry's part again
        assert con.execute("SELECT count(*) FROM registry.partners WHERE partner_id = 'marker'").fetchone() == (0,)
        assert con.execute("SELECT nom FROM registry.partners WHERE partner_id = 'enedis'").fetchone()[0] \
            .startswith("Enedis SA (")

        con.execute("DROP VIEW formats.comptage_routier_horaire")       # not the hub's doing: the digest still holds
        prepare_warehouse(con, load_registry(folder))
        assert not con.execute("SELECT count(*) FROM duckdb_views() WHERE schema_name = 'formats' "
                               "AND view_name = 'comptage_routier_horaire'").fetchone()[0]
        con.execute("DROP TABLE registry.prepared")              # the way to force it
        prepare_warehouse(con, load_registry(folder))
        assert con.execute("SELECT count(*) FROM duckdb_views() WHERE schema_name = 'formats' "
                           "AND view_name = 'comptage_routier_horaire'").fetchone()[0] == 1
    finally:
        con.close()


def test_a_territory_code_the_cog_lacks_is_refused_every_time(tmp_path, warehouse_template):
    """The digest is written last: a preparation that failed is not taken for done."""
    settings = Settings.from_env({"HUB_HOME": str(tmp_path / "home")})
    settings.warehouse.parent.mkdir(parents=True)
    shutil.copyfile(warehouse_template, settings.warehouse)
    folder = tmp_path / "registry"
    shutil.copytree(settings.registry_dir, folder)
    path = folder / "territory.yaml"
    path.write_text(path.read_text().replace('"243400470"', '"243499999"', 1))   # no such EPCI
    con = connect(settings.warehouse)
    try:
        for _ in range(2):
            with pytest.raises(TerritoryError, match="243499999"):
                prepare_warehouse(con, load_registry(folder))
    finally:
        con.close()


def test_preparing_a_prepared_warehouse_writes_nothing(tmp_path, warehouse_template):
    """Every raw asset of a `hub ingest` and every `hub build` prepares the warehouse; a write left in
    the WAL costs a checkpoint when the connection closes (~0.15 s each). Once prepared — the
    quality view brought up to date included — preparing it again leaves no WAL."""
    settings = Settings.from_env({"HUB_HOME": str(tmp_path / "home")})
    settings.warehouse.parent.mkdir(parents=True)
    shutil.copyfile(warehouse_template, settings.warehouse)
    wal = settings.warehouse.with_name(settings.warehouse.name + ".wal")
    registry = load_registry(settings.registry_dir)
    con = connect(settings.warehouse)
    try:
        con.execute("CREATE OR REPLACE VIEW quality.mart_status AS SELECT * FROM quality.mart_gate")  # an older definition
        con.execute("CHECKPOINT")
        prepare_warehouse(con, registry)
        assert con.execute("SELECT count(*) FROM duckdb_views() WHERE schema_name = 'quality' AND view_name = "
                           "'mart_status' AND sql LIKE '%row_number()%'").fetchone()[0] == 1   # brought up to date
        con.execute("CHECKPOINT")
    finally:
        con.close()
    con = connect(settings.warehouse)
    try:
        prepare_warehouse(con, registry)
        assert not wal.exists() or wal.stat().st_size == 0
    finally:
        con.close()


def _three_traffic_deliveries(settings: Settings, registry) -> list[str]:
    """A day of counts, an HTML page in its place, another day: dropped and landed."""
    entry = registry.dataset("montpellier_metropole__comptages_routiers")
    drop(settings, "montpellier-metropole", "comptages_routiers_20240612.csv", traffic_file("2024-06-12"))
    drop(settings, "montpellier-metropole", "comptages_routiers_20240613.csv",
         "<!DOCTYPE html><html><body>Session expirée</body></html>\n")
    drop(settings, "montpellier-metropole", "comptages_routiers_20240614.csv", traffic_file("2024-06-14"))
    return entry


def test_deliveries_are_read_ahead_in_their_order_by_one_thread(settings, registry, warehouse, monkeypatch):
    """While a delivery is typed, checked and committed, the next one is read by the read-ahead
    thread; the outcomes are those of reading them one after the other, and no scratch file stays."""
    entry = _three_traffic_deliveries(settings, registry)
    collect_and_land(warehouse, settings, entry)
    pending = pending_deliveries(warehouse, entry)
    reads, read_file = [], ingestion.read_file

    def recorded(entry, path, *args, **kwargs):
        reads.append((Path(path), threading.current_thread().name))
        return read_file(entry, path, *args, **kwargs)

    monkeypatch.setattr(ingestion, "read_file", recorded)
    loaded = ingestion.load_deliveries(warehouse, entry, pending, scratch=settings.scratch)

    assert [path for path, _ in reads] == [path for _, path in pending]
    assert all(thread.startswith("read-ahead") for _, thread in reads)
    assert [(d, rows) for d, rows in loaded] == [(pending[0][0], 24), (pending[1][0], 0), (pending[2][0], 24)]
    assert warehouse.execute("SELECT status, count(*) FROM landing.deliveries GROUP BY 1 ORDER BY 1").fetchall() == \
        [("loaded", 2), ("quarantined", 1)]
    assert warehouse.execute("SELECT code FROM landing.issues WHERE delivery_id = ?", [pending[1][0]]).fetchall() == \
        [("not_a_csv",)]
    assert list(settings.scratch.iterdir()) == []


def test_a_batch_stopped_by_an_error_leaves_no_scratch_file(settings, registry, warehouse, monkeypatch):
    """The delivery read ahead when an unexpected error stops the batch has its scratch folder
    (decoded text, record lines) removed too."""
    entry = registry.dataset("montpellier_metropole__comptages_routiers")
    for day in ("2024-06-12", "2024-06-13"):
        drop(settings, "montpellier-metropole", f"comptages_routiers_{day.replace('-', '')}.csv", traffic_file(day))
    collect_and_land(warehouse, settings, entry)
    pending = pending_deliveries(warehouse, entry)

    def broken(*args, **kwargs):
        raise RuntimeError("disk gone")

    readings, read_file = [], ingestion.read_file

    def kept(*args, **kwargs):      # held here too: the loader must close them, not the garbage collector
        readings.append(read_file(*args, **kwargs))
        return readings[-1]

    monkeypatch.setattr(ingestion, "read_file", kept)
    monkeypatch.setattr(ingestion, "validate_delivery", broken)
    with pytest.raises(RuntimeError, match="disk gone"):
        ingestion.load_deliveries(warehouse, entry, pending, scratch=settings.scratch)
    assert len(readings) == 2 and list(settings.scratch.iterdir()) == []
    assert warehouse.execute("SELECT status FROM landing.deliveries WHERE delivery_id = ?",
                             [pending[0][0]]).fetchone() == ("landed",)


def test_only_a_small_text_is_parsed_ahead(settings, registry, warehouse, monkeypatch):
    """Reading ahead holds a delivery's parsed text in memory only when its text is at most
    READ_AHEAD_BYTES (its decoded text can go, the parts are read); a larger one is parsed a part
    at a time as it is typed, from its decoded text (memory follows the part), and the loader
    reads a landed file that large in its turn, not ahead."""
    entry = _three_traffic_deliveries(settings, registry)
    collect_and_land(warehouse, settings, entry)
    pending = pending_deliveries(warehouse, entry)
    small = loading.read_file(entry, pending[0][1], settings.scratch, ahead=True)
    small.decoded.path.unlink()
    assert sum(p.num_rows for p in small.parts) == 24
    small.close()
    monkeypatch.setattr(loading, "READ_AHEAD_BYTES", 100)
    large = loading.read_file(entry, pending[0][1], settings.scratch, ahead=True)
    large.decoded.path.unlink()
    with pytest.raises(FileNotFoundError):
        next(iter(large.parts))
    large.close()
    assert list(settings.scratch.iterdir()) == []

    monkeypatch.setattr(ingestion, "READ_AHEAD_BYTES", 10)     # every landed file is larger
    reads, read_file = [], ingestion.read_file

    def recorded(entry, path, *args, **kwargs):
        reads.append(threading.current_thread().name)
        return read_file(entry, path, *args, **kwargs)

    monkeypatch.setattr(ingestion, "read_file", recorded)
    loaded = ingestion.load_deliveries(warehouse, entry, pending, scratch=settings.scratch)
    assert [rows for _, rows in loaded] == [24, 0, 24]
    assert reads == ["MainThread"] * 3
