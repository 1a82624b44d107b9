"""Shared fixtures: a hub home in a temporary folder, the real registry, a real DuckDB file, and
the small demo region run once per session as `make run` does (`hub demo run`)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from territoire_hub.settings import Settings
from territoire_hub.orchestration.ingestion import prepare_warehouse
from territoire_hub.publish.portal import Portal
from territoire_hub.warehouse import connect

SHARED_FORMATS = Path(__file__).resolve().parents[2] / "shared" / "formats"
REPO_ROOT = Path(__file__).resolve().parents[1]


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


# a small demo region: every domain, a few days around the October DST change, about a minute
SMALL_DEMO = ["--days", "4", "--start", "2024-10-26", "--counters", "3", "--lamp-sensors", "3", "--stations", "2",
              "--charge-points", "6", "--lamp-points", "40", "--no-publish"]


def hub(home: Path, *args: str, timeout: float = 900, check: bool = True,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the `hub` command of this virtualenv for the hub home ``home`` (``env``: more variables)."""
    exe = Path(sys.executable).with_name("hub")
    done = subprocess.run([str(exe), *args], env={**os.environ, "HUB_HOME": str(home), "HUB_HTTP_BACKOFF": "0.01",
                                                  **(env or {})},
                          cwd=home, capture_output=True, text=True, timeout=timeout)
    if check:
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """`hub demo run` of the small demo, once per session: its home and what it printed. Tests must
    not change the home (copy it first: ``copy_home``)."""
    home = tmp_path_factory.mktemp("demo-home")
    return home, hub(home, "demo", "run", *SMALL_DEMO, check=False)


@pytest.fixture(scope="session")
def demo_home(demo_run) -> Path:
    """The small demo, ingested, built and gated; its analysts' snapshot written."""
    home, done = demo_run
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return home


def copy_home(source: Path, target: Path) -> Settings:
    """A hub home of one's own, copied from the demo (warehouse, landing, reports, dbt target)."""
    shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns("scratch", "portal"))
    return Settings.from_env({"HUB_HOME": str(target)})


# A real CKAN portal for the session: fresh database and uploads on free ports, torn down at the end.
# CKAN's virtualenv is the project's (data/portal/venv): installed by the first session that needs it.
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def portal() -> Portal:
    # private (0700) like a real one: the portal lets the `postgres` account cross it (o+x), no more
    root = Path(tempfile.mkdtemp(prefix="hub-portal-"))
    venv = Settings.from_env({"HUB_HOME": str(REPO_ROOT)}).portal_venv
    # non-default database names: they are configurable (HUB_PORTAL_DB, HUB_PORTAL_DATASTORE_DB)
    target = Portal(root=root, venv=venv, port=free_port(), pg_port=free_port(), redis_port=free_port(),
                    db="hub_ckan", datastore_db="hub_datastore")
    try:
        target.up(echo=lambda *_: None)
        yield target
    finally:
        target.down(echo=lambda *_: None)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def admin(portal):
    from ckanapi import RemoteCKAN

    return RemoteCKAN(portal.url, apikey=portal.secrets()["HUB_CKAN_TOKEN"])


@pytest.fixture(scope="session")
def anonymous(portal):
    from ckanapi import RemoteCKAN

    return RemoteCKAN(portal.url)




def latest_release(ckan, family: str) -> dict:
    """The dataset of a family's latest release: the last member of its series (publish/releases.py)."""
    series = ckan.action.package_show(id=family)
    assert series["type"] == "dataset_series", family
    return ckan.action.package_show(id=series["series_navigation"]["last"]["name"])
