"""Running the dbt project against the hub's warehouse (CLI and tests; Dagster uses dagster-dbt)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from contextlib import contextmanager
from typing import Iterator, Sequence

from territoire_hub.dbt_project import DBT_PROJECT_DIR
from territoire_hub.lineage import target_path
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
    """dagster-dbt passes os.environ to dbt: point dbt's profile (HUB_WAREHOUSE) at the hub's
    warehouse for the duration of one dbt step, then restore it."""
    previous = os.environ.get("HUB_WAREHOUSE")
    os.environ["HUB_WAREHOUSE"] = str(settings.warehouse)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("HUB_WAREHOUSE", None)
        else:
            os.environ["HUB_WAREHOUSE"] = previous


class DbtError(RuntimeError):
    """dbt failed; the message carries the failing nodes and dbt's own lines."""


def dbt_env(settings: Settings) -> dict[str, str]:
    """dbt's environment: the warehouse path from the hub's settings, logs and target under data/."""
    return {
        **os.environ,
        "HUB_WAREHOUSE": str(settings.warehouse),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
        "DBT_TARGET_PATH": str(target_path(settings)),
        "DBT_LOG_PATH": str(settings.data_dir / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        # a selection runs only the tests whose every parent is selected
        "DBT_INDIRECT_SELECTION": os.environ.get("DBT_INDIRECT_SELECTION", "cautious"),
    }


def dbt_executable() -> str:
    return str(Path(sys.executable).with_name("dbt"))


def run_dbt(settings: Settings, args: Sequence[str], *, variables: dict | None = None,
            echo: bool = False) -> subprocess.CompletedProcess:
    """Run ``dbt <args>`` on the warehouse; raise DbtError with dbt's output when it fails."""
    command = [dbt_executable(), *args]
    if variables:
        command += ["--vars", json.dumps(variables)]
    result = subprocess.run(command, cwd=DBT_PROJECT_DIR, env=dbt_env(settings), text=True,
                            capture_output=not echo)
    if result.returncode != 0:
        output = (result.stdout or "") + (result.stderr or "")
        failing = [line for line in output.splitlines() if "ERROR" in line or "FAIL" in line]
        raise DbtError(f"dbt {' '.join(args)} failed:\n" + "\n".join(failing[-30:] or output.splitlines()[-30:]))
    return result
