"""Running the dbt project against the hub's warehouse (CLI and tests; Dagster uses dagster-dbt)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from territoire_hub.dbt_project import DBT_PROJECT_DIR
from territoire_hub.settings import Settings


class DbtError(RuntimeError):
    """dbt failed; the message carries the failing nodes and dbt's own lines."""


def dbt_env(settings: Settings) -> dict[str, str]:
    """dbt's environment: the warehouse path from the hub's settings, logs and target under data/."""
    return {
        **os.environ,
        "HUB_WAREHOUSE": str(settings.warehouse),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
        "DBT_TARGET_PATH": str(settings.data_dir / "dbt" / "target"),
        "DBT_LOG_PATH": str(settings.data_dir / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
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
