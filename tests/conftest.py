"""Shared fixtures: a hub home in a temporary folder, the real registry, a real DuckDB file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from territoire_hub.settings import Settings
from territoire_hub.orchestration.ingestion import prepare_warehouse
from territoire_hub.registry import load_registry
from territoire_hub.warehouse import connect

SHARED_FORMATS = Path(__file__).resolve().parents[2] / "shared" / "formats"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({"HUB_HOME": str(tmp_path), "HUB_HTTP_BACKOFF": "0.01", "HUB_HTTP_TIMEOUT": "2"})


@pytest.fixture(scope="session")
def registry():
    return Settings.from_env({}).load_registry()


@pytest.fixture(scope="session")
def warehouse_template(tmp_path_factory) -> Path:
    """A warehouse with the catalogue and the COG loaded, built once and copied per test."""
    path = tmp_path_factory.mktemp("template") / "hub.duckdb"
    con = connect(path)
    prepare_warehouse(con, Settings.from_env({}).load_registry())
    con.close()
    return path


@pytest.fixture
def warehouse(settings: Settings, warehouse_template: Path):
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(warehouse_template, settings.warehouse)
    con = connect(settings.warehouse)
    yield con
    con.close()


def drop(settings: Settings, partner: str, name: str, content: bytes | str, encoding: str = "utf-8") -> Path:
    """Put a file in a partner's inbox, as the partner's SFTP client would."""
    folder = settings.inbox / partner
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path
