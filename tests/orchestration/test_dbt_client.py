"""``hub-dbt``: dbt through the hub's dbt server, on the caller's own streams, with dbt's exit
code; dbt itself when no server answers."""

from __future__ import annotations

import os
import subprocess

from territoire_hub.orchestration.dbt import _Server, dbt_client_executable, dbt_executable
from territoire_hub.orchestration.dbt_client import SERVER_VARIABLE


def _hub_dbt(*args: str, server: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != SERVER_VARIABLE}
    if server is not None:
        env[SERVER_VARIABLE] = server
    return subprocess.run([dbt_client_executable(), *args], env=env, capture_output=True, text=True, timeout=120)


def _dbt(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([dbt_executable(), *args], env=os.environ, cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_hub_dbt_streams_what_dbt_prints_and_exits_with_its_code(tmp_path):
    server = _Server.ensure()
    shown = _hub_dbt("--version", server=server)
    assert shown.returncode == 0 and "installed:" in shown.stdout and shown.stdout == _dbt("--version").stdout
    wrong = _hub_dbt("bogus", server=server)
    assert wrong.returncode == 2 and "No such command 'bogus'" in wrong.stderr
    # dbt's exit code for a failed command, not the client's (a missing project: 2 as dbt says)
    elsewhere = subprocess.run([dbt_client_executable(), "parse"], env={**os.environ, SERVER_VARIABLE: server},
                               cwd=tmp_path, capture_output=True, text=True, timeout=120)
    direct = _dbt("parse", cwd=tmp_path)
    assert elsewhere.returncode == direct.returncode != 0
    # the same complaint on the same stream (which one dbt names depends on the home; not ours to assert)
    assert elsewhere.stderr.strip() and elsewhere.stderr.strip() == direct.stderr.strip()


def test_hub_dbt_without_a_server_is_dbt(tmp_path):
    for server in (None, str(tmp_path / "gone.sock")):
        shown = _hub_dbt("--version", server=server)
        assert shown.returncode == 0 and shown.stdout == _dbt("--version").stdout, server
