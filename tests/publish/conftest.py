"""A real CKAN portal for the session: fresh database and uploads on free ports, torn down at the end.

CKAN's virtualenv is the project's (``data/portal/venv``): installed by the first session that
needs it (~40 s), reused by the next ones.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from territoire_hub.publish.portal import Portal
from territoire_hub.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def portal() -> Portal:
    # private (0700) like a real one: the portal lets the `postgres` account cross it (o+x), no more
    root = Path(tempfile.mkdtemp(prefix="hub-portal-"))
    venv = Settings.from_env({"HUB_HOME": str(REPO)}).portal_venv
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


# the small demo run (SMALL_DEMO), its home (demo_home) and copy_home are shared with the CLI tests:
# they live in tests/conftest.py
