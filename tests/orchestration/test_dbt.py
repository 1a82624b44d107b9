"""Running dbt: a fresh child of the dbt server per command, the parse state reused across homes."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from territoire_hub.dbt_project import DBT_PROJECT_DIR
from territoire_hub.orchestration import dbt
from territoire_hub.orchestration.dbt import DbtError, _Server, run_dbt
from territoire_hub.settings import Settings
from territoire_hub.warehouse import connect


def test_a_new_home_starts_from_the_parse_state_of_the_previous_one(tmp_path, warehouse_template):
    outputs = {}
    for name in ("first", "second"):
        settings = Settings.from_env({"HUB_HOME": str(tmp_path / name), "HUB_CACHE_DIR": str(tmp_path / "cache")})
        settings.warehouse.parent.mkdir(parents=True)
        shutil.copyfile(warehouse_template, settings.warehouse)
        outputs[name] = run_dbt(settings, ["run", "--select", "stg_irve_statique"]).stdout
        con = connect(settings.warehouse, read_only=True)     # each home's own warehouse got the view
        try:
            assert con.execute("SELECT count(*) FROM staging.stg_irve_statique").fetchone() == (0,)
        finally:
            con.close()
    assert "Starting full parse" in outputs["first"]
    assert "full parse" not in outputs["second"] and "Completed successfully" in outputs["second"]
    assert not list(DBT_PROJECT_DIR.glob("*.duckdb"))         # the profile's relative path: the home's folder
    assert {p.stat().st_mode & 0o777 for p in (tmp_path / "cache").rglob("*")} == {0o700, 0o600}


def test_dbt_errors_come_back_and_a_dead_server_is_replaced(settings):
    with pytest.raises(DbtError, match="No such command 'bogus'"):
        run_dbt(settings, ["bogus"])
    os.killpg(_Server.process.pid, signal.SIGKILL)
    _Server.process.wait()
    dead = Path(_Server.socket).parent
    assert "Core:" in run_dbt(settings, ["--version"]).stdout
    assert not dead.exists() and Path(_Server.socket).parent != dead   # its private folder went with it
    stopped = Path(_Server.socket).parent
    _Server.stop()                                                     # a stopped server cleans up too
    assert not stopped.exists()


def test_dbt_s_duckdb_works_within_hub_build_memory(tmp_path, warehouse_template):
    settings = Settings.from_env({"HUB_HOME": str(tmp_path / "home"), "HUB_CACHE_DIR": str(tmp_path / "cache"),
                                  "HUB_BUILD_MEMORY": str(3 << 30)})
    assert settings.limits.build_memory == 3 << 30
    settings.warehouse.parent.mkdir(parents=True)
    shutil.copyfile(warehouse_template, settings.warehouse)
    shown = run_dbt(settings, ["show", "--inline", "select current_setting('memory_limit') as memory"]).stdout
    assert "3.0 GiB" in shown, shown


def test_two_checkouts_sharing_the_cache_load_their_own_seeds(tmp_path, warehouse_template, monkeypatch):
    """A seed's parsed node holds its file's absolute path, which dbt's partial parse does not check:
    a second clone reusing the first one's state loaded the first clone's files (gone with it)."""
    other = tmp_path / "other-clone" / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, other, ignore=shutil.ignore_patterns("target", "logs", "__pycache__"))
    expected = len(DBT_PROJECT_DIR.joinpath("seeds", "dju_normales.csv").read_text().splitlines()) - 1
    for name, project in (("first", other), ("second", DBT_PROJECT_DIR)):
        monkeypatch.setattr(dbt, "DBT_PROJECT_DIR", project)
        settings = Settings.from_env({"HUB_HOME": str(tmp_path / name), "HUB_CACHE_DIR": str(tmp_path / "cache")})
        settings.warehouse.parent.mkdir(parents=True)
        shutil.copyfile(warehouse_template, settings.warehouse)
        run_dbt(settings, ["seed", "--select", "dju_normales"])
        if project == other:
            shutil.rmtree(other.parent)                       # the first clone is deleted
        con = connect(settings.warehouse, read_only=True)
        try:
            assert con.execute("SELECT count(*) FROM parameters.dju_normales").fetchone() == (expected,)
        finally:
            con.close()
