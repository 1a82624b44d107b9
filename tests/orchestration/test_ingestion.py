"""Preparing the warehouse (``orchestration/ingestion.py``): the registry's part is written again
only when what it derives from changed."""

from __future__ import annotations

import shutil

import pytest

from territoire_hub.orchestration.ingestion import prepare_warehouse
from territoire_hub.registry import load_registry
from territoire_hub.settings import Settings
from territoire_hub.territory import TerritoryError
from territoire_hub.warehouse import connect


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
