"""The portal closed to the machine's other accounts and to anonymous abuse (issue 19): no secret on
a command line or in a file other than the three secret stores, PostgreSQL and Redis refuse another
local account, nobody but a sysadmin creates an organisation, user accounts are not public, slow
anonymous queries do not starve the portal, its logs are written, private and rotated."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from ckanapi import NotAuthorized, RemoteCKAN

from territoire_hub.publish.portal import PG_BIN, Portal
from tests.conftest import free_port

SECRET_STORES = ("portal.env", "ckan.ini", "redis/redis.conf")   # 0600, the only places a secret lives
AS_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="another local account is played with setpriv (root)")


def as_nobody(*command: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``command`` run by the unprivileged account ``nobody`` (no supplementary group)."""
    return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command],
                          capture_output=True, text=True, env={"PATH": os.environ["PATH"], **(env or {})}, timeout=60)


class CommandLines:
    """Every command line of the machine, sampled every few milliseconds while active."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            for proc in Path("/proc").iterdir():
                try:
                    self.seen.add((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
                except OSError:
                    pass
            time.sleep(0.005)

    def __enter__(self) -> "CommandLines":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture(scope="module")
def rotated(portal):
    """A portal of its own, brought up then given new secrets, both watched: its secrets before and
    after, and every command line seen meanwhile."""
    root = Path(tempfile.mkdtemp(prefix="hub-portal-secrets-"))
    own = Portal(root=root, venv=portal.venv, port=free_port(), pg_port=free_port(), redis_port=free_port())
    try:
        with CommandLines() as commands:
            own.up(echo=lambda *_: None)
            before = own.secrets()
            own.rotate_secrets(echo=lambda *_: None)
        yield own, before, own.secrets(), commands.seen
    finally:
        own.down(echo=lambda *_: None)
        shutil.rmtree(root, ignore_errors=True)


SECRETS = ("CKAN_DB_PASSWORD", "DATASTORE_RO_PASSWORD", "REDIS_PASSWORD", "HUB_CKAN_TOKEN")


def test_no_secret_ever_appears_on_a_command_line(rotated):
    own, before, after, seen = rotated
    # the sampling saw the steps that handle secrets: the test would catch one on a command line
    assert any(" user add hub-admin" in c for c in seen) and any("psql" in c for c in seen)
    assert any("gunicorn" in c for c in seen) and any("redis-server" in c for c in seen)
    secrets = [values[key] for values in (before, after) for key in SECRETS]
    assert all(len(s) >= 16 for s in secrets) and len(set(secrets)) == 8   # rotation changed every one
    leaks = [(key, c) for values in (before, after) for key in SECRETS for c in seen if values[key] in c]
    assert leaks == []


def test_secrets_live_in_three_private_files_and_nowhere_else(rotated):
    own, before, after, _ = rotated
    secrets = {f"{key} ({when})": values[key].encode()
               for when, values in (("before", before), ("after", after)) for key in SECRETS}
    found = {}
    for path in own.root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            content = path.read_bytes()
            found.update({f"{name} in {path.relative_to(own.root)}": True
                          for name, value in secrets.items() if value in content})
    stores = {str(own.root / s) for s in SECRET_STORES}
    assert {k for k in found if not any(k.endswith(" in " + s) for s in SECRET_STORES)} == set()
    # the current ones are where CKAN and Redis read them, the old ones are gone everywhere
    assert "HUB_CKAN_TOKEN (after) in portal.env" in found and "REDIS_PASSWORD (after) in redis/redis.conf" in found
    assert not any("(before)" in k for k in found)
    for store in stores:
        assert os.stat(store).st_mode & 0o777 == 0o600
    logs = own.root / "logs"
    assert logs.stat().st_mode & 0o777 == 0o700
    assert {p.name: p.stat().st_mode & 0o777 for p in logs.iterdir()} == {p.name: 0o600 for p in logs.iterdir()}


def test_rotation_revokes_the_old_token_and_the_old_database_password(rotated):
    own, before, after, _ = rotated
    with pytest.raises(NotAuthorized):
        RemoteCKAN(own.url, apikey=before["HUB_CKAN_TOKEN"]).action.api_token_list(user_id="hub-admin")
    assert [t["name"] for t in RemoteCKAN(own.url, apikey=after["HUB_CKAN_TOKEN"]).action.api_token_list(
        user_id="hub-admin")] == ["hub"]

    def psql(password: str) -> int:
        return subprocess.run([str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(own.pg_port), "-U", "ckan", "-w",
                               "-d", own.db, "-c", "SELECT 1"], capture_output=True,
                              env={**os.environ, "PGPASSWORD": password}).returncode

    assert psql(before["CKAN_DB_PASSWORD"]) != 0
    assert psql(after["CKAN_DB_PASSWORD"]) == 0


@AS_ROOT
def test_another_local_account_reaches_neither_the_database_nor_redis_nor_the_files(portal):
    psql = [str(PG_BIN / "psql"), "-w", "-p", str(portal.pg_port), "-c", "SELECT 1"]
    attempts = {
        "superuser over TCP": as_nobody(*psql, "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"),
        "superuser on the socket": as_nobody(*psql, "-h", str(portal.socket_dir), "-U", "postgres", "-d", "postgres"),
        "CKAN's role without its password": as_nobody(*psql, "-h", "127.0.0.1", "-U", "ckan", "-d", portal.db),
        "the DataStore reader without its password": as_nobody(*psql, "-h", "127.0.0.1", "-U", "datastore_ro",
                                                               "-d", portal.datastore_db),
    }
    for what, done in attempts.items():
        assert done.returncode != 0 and "(1 row)" not in done.stdout, what
    assert "no pg_hba.conf entry" in attempts["superuser over TCP"].stderr
    assert "Permission denied" in attempts["superuser on the socket"].stderr
    assert "no password supplied" in attempts["CKAN's role without its password"].stderr
    redis = as_nobody("redis-cli", "-p", str(portal.redis_port), "keys", "*")
    assert "NOAUTH" in redis.stdout + redis.stderr
    # the control: root, with the password, is let in (so the refusals above are not a broken server)
    assert subprocess.run(["redis-cli", "-p", str(portal.redis_port), "ping"], capture_output=True, text=True,
                          env={**os.environ, "REDISCLI_AUTH": portal.secrets()["REDIS_PASSWORD"]}).stdout.strip() == "PONG"
    # the folder is crossed by the postgres account, never listed nor read by another one
    assert portal.root.stat().st_mode & 0o777 == 0o701
    for path in ("", "portal.env", "ckan.ini", "logs/access.log", "pg/data/PG_VERSION", "storage"):
        done = as_nobody("cat" if path.endswith((".env", ".ini", ".log", "VERSION")) else "ls", str(portal.root / path))
        assert done.returncode != 0 and "Permission denied" in done.stderr, path


def test_only_a_sysadmin_creates_organisations_and_groups(admin, portal):
    admin.action.user_create(name="agent-commune", email="agent@example.org", password=secrets.token_urlsafe(24))   # a throwaway user of the test portal
    token = admin.action.api_token_create(user="agent-commune", name="test")["token"]
    agent = RemoteCKAN(portal.url, apikey=token)
    for action in ("organization_create", "group_create"):
        with pytest.raises(NotAuthorized):
            getattr(agent.action, action)(name="structure-regionale-donnees", title="Structure régionale")
    with pytest.raises(NotAuthorized):
        agent.action.package_create(name="electricite-valide", title="Électricité (validé)", license_id="lov2")
    assert admin.action.organization_create(name="syndicat-energie-test")["name"] == "syndicat-energie-test"


def test_user_accounts_are_not_public(anonymous, admin):
    for action, args in (("user_list", {}), ("user_show", {"id": "hub-admin"})):
        with pytest.raises(NotAuthorized):
            getattr(anonymous.action, action)(**args)
    assert "hub-admin" in [u["name"] for u in admin.action.user_list()]


def _get(url: str, timeout: float = 120) -> tuple[int, dict, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.load(response), time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, json.load(error), time.monotonic() - started


def test_two_slow_anonymous_queries_do_not_starve_the_portal(portal):
    slow = {"sql": "SELECT count(*) FROM generate_series(1, 100000000) a, generate_series(1, 100) b"}
    url = f"{portal.url}/api/3/action/datastore_search_sql?{urllib.parse.urlencode(slow)}"
    answers: list = []
    threads = [threading.Thread(target=lambda: answers.append(_get(url))) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.5)   # both are running
    status, body, seconds = _get(f"{portal.url}/api/3/action/status_show", timeout=30)
    for t in threads:
        t.join()
    assert status == 200 and body["success"] and seconds < 2
    # both cancelled after the anonymous limit (5 s), not CKAN's 60 s, with the reason
    assert [(code, body["error"].get("query")) for code, body, _ in answers] == [(409, ["Query took too long"])] * 2, answers
    assert all(4.5 < s < 15 for _, _, s in answers)


def test_access_and_error_logs_are_written_private_and_rotated(portal):
    logs = portal.root / "logs"
    _get(f"{portal.url}/api/3/action/package_search?q=rotation-avant")
    _get(f"{portal.url}/api/3/action/package_show?id=n-existe-pas")
    time.sleep(0.3)
    assert "rotation-avant" in (logs / "access.log").read_text()
    assert "404 /api/3/action/package_show" in (logs / "error.log").read_text()   # CKAN's own log records
    rotated = portal.rotate_logs(max_bytes=1)
    assert {"access.log", "error.log"} <= {p.name for p in rotated}
    _get(f"{portal.url}/api/3/action/package_search?q=rotation-apres")
    time.sleep(0.5)   # the server reopened its files (SIGUSR1): the next request is in the new one
    assert "rotation-apres" in (logs / "access.log").read_text()
    assert "rotation-apres" not in (logs / "access.log.1").read_text()
    assert "rotation-avant" in (logs / "access.log.1").read_text()
    for path in logs.iterdir():
        assert path.stat().st_mode & 0o777 == 0o600, path.name


def test_logs_an_earlier_portal_left_with_secrets_are_made_private_and_redacted_at_up(portal):
    values = portal.secrets()
    legacy = portal.root / "logs" / "legacy.log"   # what the step logs of an earlier hub looked like
    legacy.write_text(f"$ ckan config-tool ckan.ini sqlalchemy.url = postgresql://ckan:{values['CKAN_DB_PASSWORD']}"
                      f"@127.0.0.1:{portal.pg_port}/{portal.db}\n$ ckan user token add hub-admin hub\n"
                      f"{values['HUB_CKAN_TOKEN']}\n$ ckan user add hub-admin password=ancien-mot-de-passe\n")
    legacy.chmod(0o644)
    said: list[str] = []
    portal.up(echo=said.append)
    text = legacy.read_text()
    assert legacy.stat().st_mode & 0o777 == 0o600
    assert values["CKAN_DB_PASSWORD"] not in text and values["HUB_CKAN_TOKEN"] not in text
    assert "ancien-mot-de-passe" not in text and "postgresql://ckan:***@" in text and "password=***" in text
    assert any("legacy.log" in line and "hub portal rotate-secrets" in line for line in said)
