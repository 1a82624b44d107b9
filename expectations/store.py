"""Where validation results are kept: Great Expectations' result store, and the pages to render.

Every validation, by GX (the marts) or inside DuckDB (the deliveries, ``engine.py``), is kept in
GX's file store, ``<data>/quality/gx/gx/uncommitted/validations/<suite>/<run name>/<run time>/
<batch>.json``, in the JSON GX writes itself, so that GX renders its Data Docs page and
retention prunes it like any other. The ingesting process writes its results without importing
GX; the pages are rendered later, by the next process that builds the Data Docs (``hub build``,
``hub quality docs``, a replay): each written result is appended to ``pending_docs.txt``, and
:func:`take_pending` hands them over once.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from territoire_hub.expectations.suites import Suite
from territoire_hub.permissions import private_dir

GX_VERSION = "1.24.1"             # the version whose JSON this writes (pinned in pyproject.toml)
BATCH = "hub_batches-frames"      # GX's batch id of the hub's one dataframe asset (runtime.py)
PENDING = "pending_docs.txt"
ResultKey = tuple[str, str, str, str]   # (suite, run name, run time, batch): GX's ValidationResultIdentifier


@dataclass(frozen=True)
class Validation:
    """The outcome of one suite on one batch, with the key its stored result (and Data Docs page)
    has. ``result`` has GX's shape: ``success`` and ``results[i]`` (``expectation_config``,
    ``result``, ``exception_info``, ``success``)."""

    suite: str
    result: Any
    result_key: ResultKey | None = None     # None: not stored (an in-memory context)

    @property
    def success(self) -> bool:
        return bool(self.result.success)


def results_dir(root: Path) -> Path:
    """GX's validation result store under a GX project root."""
    return root / "gx" / "uncommitted" / "validations"


def run_time_key(when: dt.datetime) -> str:
    """A run time as GX names its folder (``20261206T194901.253073Z``)."""
    return when.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")


def path_of(root: Path, key: ResultKey) -> Path:
    suite, run_name, run_time, batch = key
    return results_dir(root) / suite / run_name / run_time / f"{batch}.json"


def _json_value(value: Any) -> Any:
    """What GX's JSON holds for a value: dates as ISO text, NaN/inf as None, numpy/Decimal as numbers."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if hasattr(value, "item"):
        return _json_value(value.item())
    try:
        return float(value)            # Decimal
    except (TypeError, ValueError):
        return str(value)


def _condition(clauses) -> dict[str, Any]:
    """The hub's row condition (``suites.py``) as GX serialises its ``Column`` conditions."""
    conditions = [{"column": {"name": column}, "is_null": True, "type": "nullity"} if operator == "is_null" else
                  {"column": {"name": column}, "operator": operator, "parameter": _json_value(value), "type": "comparison"}
                  for column, operator, value in clauses]
    return conditions[0] if len(conditions) == 1 else {"conditions": conditions, "type": "and"}


def _config(expectation: Any, batch: str) -> dict[str, Any]:
    kwargs = {**expectation.kwargs, "batch_id": batch}
    if kwargs.get("row_condition"):
        kwargs["row_condition"] = _condition(kwargs["row_condition"])
    return {"id": None, "type": expectation.type, "kwargs": _json_value(kwargs),
            "meta": _json_value(expectation.meta or {}), "severity": expectation.severity}


def write_result(root: Path, suite: Suite, outcome: Any, *, run_name: str,
                 when: dt.datetime | None = None, batch: str = BATCH) -> ResultKey:
    """Store a suite's outcome (``engine.SuiteOutcome``) as GX stores a validation result, and
    list it for the next Data Docs build. Returns its key."""
    when = when or dt.datetime.now(dt.timezone.utc)
    key: ResultKey = (suite.name, run_name, run_time_key(when), batch)
    results = [{"success": bool(o.success), "expectation_config": _config(o.expectation_config, batch),
                "result": _json_value(o.result), "meta": {},
                "exception_info": {"raised_exception": False, "exception_message": None,
                                   "exception_traceback": None, **_json_value(o.exception_info or {})}}
               for o in outcome.results]
    passed = sum(r["success"] for r in results)
    document = {
        "id": None,
        "success": bool(outcome.success),
        "suite_name": suite.name,
        "suite_parameters": {},
        "results": results,
        "statistics": {"evaluated_expectations": len(results), "successful_expectations": passed,
                       "unsuccessful_expectations": len(results) - passed,
                       "success_percent": 100.0 * passed / len(results) if results else None},
        "meta": {"great_expectations_version": GX_VERSION, "checkpoint_id": None,
                 "run_id": {"run_name": run_name, "run_time": when.astimezone(dt.timezone.utc).isoformat()},
                 "validation_id": str(uuid.uuid4()), "validation_time": when.astimezone(dt.timezone.utc).isoformat(),
                 "active_batch_definition": {"datasource_name": "hub_batches", "data_connector_name": "fluent",
                                             "data_asset_name": "frames",
                                             "batch_identifiers": {"table": "(evaluated in DuckDB)"}},
                 "batch_spec": {"evaluated_in": "duckdb"}, "batch_markers": {}, "batch_parameters": {}},
    }
    path = path_of(root, key)
    private_dir(path.parent)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1))
    add_pending(root, [key])
    return key


def add_pending(root: Path, keys: list[ResultKey]) -> None:
    """List results whose Data Docs pages are not rendered yet (one appended line each: writers
    in parallel processes do not interleave within a line)."""
    if not keys:
        return
    private_dir(root)
    lines = "".join(json.dumps(list(k)) + "\n" for k in keys)
    fd = os.open(root / PENDING, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, lines.encode())
    finally:
        os.close(fd)


def take_pending(root: Path) -> list[ResultKey]:
    """The results listed since the last call whose file still exists (retention may have pruned
    some), each once; the list is emptied."""
    pending = root / PENDING
    taking = root / f"{PENDING}.{os.getpid()}"
    try:
        os.rename(pending, taking)           # later writers start a new list
    except FileNotFoundError:
        return []
    keys: dict[ResultKey, None] = {}         # in the listed order, each once
    for line in taking.read_text().splitlines():
        try:
            key = tuple(json.loads(line))
        except ValueError:
            continue                         # a line cut by a crash
        if len(key) == 4 and key not in keys and path_of(root, key).exists():
            keys[key] = None
    taking.unlink()
    return list(keys)
