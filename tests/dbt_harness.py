"""Test harness for the dbt models: hand-made deliveries in, a real dbt build, exact values out."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from territoire_hub.orchestration.dbt import BUILD, run_dbt
from territoire_hub.settings import Settings
from territoire_hub.orchestration.ingestion import ingest_all
from territoire_hub.registry import Registry
from territoire_hub.warehouse import connect
from tests.conftest import drop


def deliver(settings: Settings, partner: str, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    """Drop a hand-made delivery in a partner's inbox."""
    return drop(settings, partner, name, content, encoding)


def ingest(settings: Settings, registry: Registry, keys: list[str] | None = None):
    con = connect(settings.warehouse)
    try:
        return ingest_all(con, settings, registry, keys)
    finally:
        con.close()


def build(settings: Settings, *select: str, full_refresh: bool = False, variables: dict | None = None):
    """``dbt build`` (models + tests) of the selection ('+model' for its parents)."""
    args = BUILD + (["--select", *select] if select else []) + (["--full-refresh"] if full_refresh else [])
    return run_dbt(settings, args, variables=variables)


def run_models(settings: Settings, *, full_refresh: bool = False):
    """Seeds and every model, no tests: for the tests about what the models hold (the data tests
    run in the builds of the domain tests and of the territory over four régions)."""
    args = ["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
    return run_dbt(settings, args + (["--full-refresh"] if full_refresh else []))


def query(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    con = connect(settings.warehouse, read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def build_and_compare(settings: Settings, root: Path, wave: str, models: Sequence[str],
                      rows_of: Callable[[Settings], object]):
    """``dbt run`` of ``models`` incrementally; a copy of the warehouse refreshed in full
    (``<root>/refresh-<wave>``) must hold the same rows (``rows_of``: a list of rows, or a dict of
    them per model). Returns the incremental rows."""
    run_dbt(settings, ["run", "--select", *models])
    rows = rows_of(settings)
    copy = Settings.from_env({"HUB_HOME": str(root / f"refresh-{wave}"), "HUB_REGISTRY": str(settings.registry_dir)})
    copy.warehouse.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(settings.warehouse, copy.warehouse)
    run_dbt(copy, ["run", "--select", *models, "--full-refresh"])
    refreshed = rows_of(copy)
    assert rows == refreshed, (wave, _difference(rows, refreshed))
    return rows


def _difference(rows, refreshed) -> object:
    if isinstance(rows, dict):
        return {model: _difference(rows[model], refreshed[model]) for model in rows if rows[model] != refreshed[model]}
    return sorted(set(rows) ^ set(refreshed))[:4]


def compiled(settings: Settings, *model_path: str) -> str:
    """The SQL dbt last compiled for the model at ``models/<model_path>.sql``."""
    *folders, name = model_path
    return settings.data_dir.joinpath("dbt", "target", "compiled", "territoire_hub", "models", *folders,
                                      f"{name}.sql").read_text()
