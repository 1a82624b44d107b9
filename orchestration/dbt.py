"""Running the dbt project against the hub's warehouse (CLI and tests; Dagster uses dagster-dbt)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from contextlib import contextmanager
from typing import Iterator, Sequence

from territoire_hub.dbt_project import DBT_PROJECT_DIR
from territoire_hub.lineage import target_path
from territoire_hub.orchestration.dbt_client import SERVER_VARIABLE, run_via_server
from territoire_hub.permissions import private_dir
from territoire_hub.settings import Settings


def dbt_project(settings: Settings):
    """The DbtProject for Dagster, its manifest (re)parsed when missing or older than the project files.

    """
    from dagster_dbt import DbtProject

    manifest = target_path(settings) / "manifest.json"
    sources = [p for p in DBT_PROJECT_DIR.rglob("*") if p.suffix in (".sql", ".yml", ".csv") and "target" not in p.parts]
    newest = max((p.stat().st_mtime for p in sources), default=0)
    if not manifest.exists() or manifest.stat().st_mtime < newest:
        run_dbt(settings, ["parse"])
    return DbtProject(project_dir=DBT_PROJECT_DIR, target_path=target_path(settings), profiles_dir=DBT_PROJECT_DIR)


@contextmanager
def warehouse_for_dbt(settings: Settings) -> Iterator[None]:
    """dagster-dbt passes os.environ to dbt: point dbt's profile at the hub's warehouse
    (HUB_WAREHOUSE) and its memory (HUB_BUILD_MEMORY), and ``hub-dbt`` (the executable Dagster
    runs) at this process's dbt server, for the duration of one dbt step, then restore them."""
    values = {"HUB_WAREHOUSE": str(settings.warehouse), "HUB_BUILD_MEMORY": str(settings.limits.build_memory),
              SERVER_VARIABLE: _Server.ensure()}
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class DbtError(RuntimeError):
    """dbt failed; the message carries the failing nodes and dbt's own lines."""


def dbt_env(settings: Settings) -> dict[str, str]:
    """dbt's environment: the warehouse path from the hub's settings, logs and target under data/."""
    return {
        **os.environ,
        # relative to the folder dbt runs in (the warehouse's): the profile, hence dbt's parse
        # state, is then the same for every hub home and the state can be reused (see run_dbt)
        "HUB_WAREHOUSE": settings.warehouse.name,
        "HUB_BUILD_MEMORY": str(settings.limits.build_memory),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
        "DBT_TARGET_PATH": str(target_path(settings)),
        "DBT_LOG_PATH": str(settings.data_dir / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        # a selection runs only the tests whose every parent is selected
        "DBT_INDIRECT_SELECTION": os.environ.get("DBT_INDIRECT_SELECTION", "cautious"),
    }


# `dbt build` as the pipeline runs it: seeds, models and data tests. The unit tests of the models'
# SQL (fixed inputs, fixed outputs) say nothing about the day's data: they run once in the test
# suite (tests/dbt_project/test_docs.py), as dbt advises, not in every production build.
BUILD = ["build", "--exclude-resource-type", "unit_test"]


def dbt_executable() -> str:
    return str(Path(sys.executable).with_name("dbt"))


def dbt_client_executable() -> str:
    """``hub-dbt`` (dbt_client.py): dbt through this process's dbt server; what Dagster runs."""
    return str(Path(sys.executable).with_name("hub-dbt"))


class _Server:
    """The dbt server of this process (orchestration/dbt_server.py), started on first use; its
    socket lies in a private folder, named to dbt steps by ``HUB_DBT_SERVER``."""

    process: subprocess.Popen | None = None
    socket: str | None = None
    lock = threading.Lock()

    @classmethod
    def start(cls) -> None:
        """A server starting (none running), not waited for."""
        with cls.lock:
            if cls.process is None or cls.process.poll() is not None:
                if cls.socket is not None:                                 # of a server that died
                    shutil.rmtree(os.path.dirname(cls.socket), ignore_errors=True)
                folder = tempfile.mkdtemp(prefix="hub-dbt-server-")        # 0700
                cls.socket = os.path.join(folder, "dbt.sock")
                cls.process = subprocess.Popen(
                    [sys.executable, "-m", "territoire_hub.orchestration.dbt_server", cls.socket],
                    stdin=subprocess.PIPE, start_new_session=True)

    @classmethod
    def ensure(cls) -> str:
        """The socket of a running server (started, and waited for, when there is none)."""
        cls.start()
        with cls.lock:
            while not os.path.exists(cls.socket):                          # dbt's import, then it listens
                if cls.process.poll() is not None:
                    raise DbtError("the dbt server stopped (see the output above)")
                time.sleep(0.05)
            return cls.socket

    @classmethod
    def run(cls, request: dict, *, on_wait=lambda: None) -> int:
        streams = [os.open(os.devnull, os.O_RDONLY)] + \
            [os.open(request[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600) for name in ("output", "errors")]
        try:
            for attempt in (1, 2):                     # a server that died is started again, once
                try:
                    return run_via_server(cls.ensure(), request["args"], request["env"], request["cwd"],
                                          tuple(streams), on_wait=on_wait)
                except (ConnectionError, FileNotFoundError):
                    if attempt == 2:
                        raise DbtError("the dbt server stopped (see the output above)") from None
                    cls.stop()
        finally:
            for fd in streams:
                os.close(fd)

    @classmethod
    def stop(cls) -> None:
        if cls.process is not None and cls.process.poll() is None:
            os.killpg(cls.process.pid, signal.SIGTERM)
            cls.process.wait()
        if cls.socket is not None:
            shutil.rmtree(os.path.dirname(cls.socket), ignore_errors=True)
        cls.process = cls.socket = None


def start_dbt_server() -> None:
    """Start this process's dbt server without waiting for it, for a command that will run dbt:
    its import of dbt (~1.5 s) goes on beside the command's own imports and Dagster's definitions."""
    _Server.start()


def run_dbt(settings: Settings, args: Sequence[str], *, variables: dict | None = None,
            echo: bool = False) -> subprocess.CompletedProcess:
    """Run ``dbt <args>`` on the warehouse; raise DbtError with dbt's failing lines when it fails.

    With ``echo`` (the commands' console), dbt's own per-node log goes to a file,
    ``<data>/logs/dbt/<time>-<command>.log`` (0600), and the console gets a progress line every
    ``PROGRESS_SECONDS`` then one summary line: nodes, counts, time, where the log is."""
    command = [*args] + (["--vars", json.dumps(variables)] if variables else [])
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    cached = _reuse_parse_state(settings, variables)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hub-dbt-") as tmp:
        log, errors = Path(tmp) / "dbt.out", Path(tmp) / "dbt.err"
        if echo:
            log = private_dir(settings.data_dir / "logs" / "dbt") / \
                f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{args[0]}.log"
        progress = _Progress(log, " ".join(args[:1]), started) if echo else None
        code = _Server.run({"args": command, "env": dbt_env(settings), "cwd": str(settings.warehouse.parent),
                            "output": str(log), "errors": str(errors)},
                           on_wait=progress.tick if progress else (lambda: None))
        output = log.read_text(errors="replace") if log.exists() else ""
        error_output = errors.read_text(errors="replace") if errors.exists() else ""
    if progress:
        progress.summary(output, code)
    if code == 0 and cached is not None:
        _keep_parse_state(settings, cached)
    if code != 0:
        everything = _plain(output + error_output)
        failing = [line for line in everything.splitlines() if "ERROR" in line or "FAIL" in line]
        raise DbtError(f"dbt {' '.join(args)} failed:\n" + "\n".join(failing[-30:] or everything.splitlines()[-30:])
                       + (f"\n(dbt's log: {log})" if echo else ""))
    return subprocess.CompletedProcess([dbt_executable(), *command], code, output, error_output)


PROGRESS_SECONDS = 5.0
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_NODE = re.compile(r"^\S*\s+(\d+) of (\d+) (OK|PASS|WARN|ERROR|FAIL|SKIP)\b", re.M)
_DONE = re.compile(r"Done\. PASS=(\d+) WARN=(\d+) ERROR=(\d+) SKIP=(\d+)(?: NO-OP=\d+)? TOTAL=(\d+)")


def _plain(text: str) -> str:
    return _ANSI.sub("", text)


class _Progress:
    """dbt's progress on the console from its log: a line every PROGRESS_SECONDS, then a summary."""

    def __init__(self, log: Path, command: str, started: float) -> None:
        self.log, self.command, self.started, self.last = log, command, started, started

    def _nodes(self, text: str) -> tuple[int, int]:
        found = _NODE.findall(_plain(text))
        return len(found), int(found[-1][1]) if found else 0

    def tick(self) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_SECONDS or not self.log.exists():
            return
        self.last = now
        done, total = self._nodes(self.log.read_text(errors="replace"))
        if total:
            print(f"  dbt {self.command}: {done}/{total} nodes done ({now - self.started:.0f} s)…", flush=True)

    def summary(self, output: str, code: int) -> None:
        text = _plain(output)
        counts = _DONE.search(text)
        warned = [line.strip() for line in text.splitlines() if _NODE.search(line) and " WARN " in line]
        took = time.monotonic() - self.started
        if counts:
            passed, warn, error, skip, total = counts.groups()
            print(f"  dbt {self.command}: {total} nodes in {took:.0f} s — {passed} passed, {warn} warnings, "
                  f"{error} errors, {skip} skipped (dbt's log: {self.log})", flush=True)
        else:
            print(f"  dbt {self.command}: {'done' if code == 0 else 'failed'} in {took:.0f} s (dbt's log: {self.log})",
                  flush=True)
        for line in warned[:10]:
            print(f"    {line}", flush=True)


def _reuse_parse_state(settings: Settings, variables: dict | None) -> Path | None:
    """dbt parses the project (seconds) unless its target folder holds the state of an earlier parse
    with the same profile and variables. A new hub home starts from the account's cached state; dbt
    checks it (versions, files' checksums, profile, variables) and re-parses what changed. It does
    not check where the project lies, yet a seed's node holds its file's absolute path: each checkout
    keeps its own state (two clones sharing the account's cache would load each other's seeds)."""
    if settings.cache_dir is None:
        return None
    key = hashlib.sha256(json.dumps([str(DBT_PROJECT_DIR.resolve()), settings.warehouse.name, variables or {}],
                                    sort_keys=True).encode())
    cached = settings.cache_dir / "dbt" / f"partial_parse-{key.hexdigest()[:16]}.msgpack"
    state = target_path(settings) / "partial_parse.msgpack"
    if cached.exists() and not state.exists():
        state.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(cached, state)         # its time kept: copied back only if dbt rewrites it
    return cached


def _keep_parse_state(settings: Settings, cached: Path) -> None:
    """The state dbt left, cached for the next home when newer (written aside, then renamed)."""
    state = target_path(settings) / "partial_parse.msgpack"
    if not state.exists() or (cached.exists() and cached.stat().st_mtime >= state.stat().st_mtime):
        return
    settings.cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    cached.parent.mkdir(exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=cached.parent, suffix=".tmp")
    os.close(fd)
    shutil.copyfile(state, tmp)
    os.replace(tmp, cached)
