"""Validation results in the warehouse (schema ``quality``) and as problems a partner can act on.

``quality.validations`` keeps one row per expectation per validated subject (a delivery or a
mart) and run: what the reports, ``hub status`` and the publication gate read.
``quality.mart_gate`` keeps, per mart and run, whether it may be published.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import duckdb

from territoire_hub.problems import Problem
from territoire_hub.warehouse import insert_rows

QUALITY_DDL = """
CREATE SCHEMA IF NOT EXISTS quality;
CREATE TABLE IF NOT EXISTS quality.validations (
    run_id           VARCHAR NOT NULL,
    subject_type     VARCHAR NOT NULL,     -- delivery | mart
    subject          VARCHAR NOT NULL,     -- delivery id or mart name
    partner_id       VARCHAR,              -- for deliveries
    suite            VARCHAR NOT NULL,
    check_id         VARCHAR NOT NULL,     -- stable name of the rule (out_of_range, meter_spike, ...)
    expectation      VARCHAR NOT NULL,     -- the GX expectation type
    column_name      VARCHAR,
    severity         VARCHAR NOT NULL,     -- critical | warning
    success          BOOLEAN NOT NULL,
    element_count    BIGINT,
    unexpected_count BIGINT,
    observed         VARCHAR,              -- a short JSON of what was found
    gx_result        VARCHAR,              -- the GX validation result id (Data Docs page)
    validated_at     TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS quality.mart_gate (
    mart             VARCHAR NOT NULL,
    run_id           VARCHAR NOT NULL,
    checked_at       TIMESTAMPTZ NOT NULL,
    publishable      BOOLEAN NOT NULL,
    critical_failed  VARCHAR[] NOT NULL,   -- the checks that block publication
    warnings         VARCHAR[] NOT NULL,   -- failed warning checks of the mart itself
    upstream_flags   VARCHAR[] NOT NULL    -- warnings on the current deliveries the mart is built from
);
"""
# the latest gate of each mart; its definition's digest is the view's comment, so that preparing
# the warehouse writes nothing when it is current (every raw asset prepares it: a write costs a
# checkpoint when the asset closes its connection, ~0.15 s)
MART_STATUS = ("SELECT * FROM quality.mart_gate "
               "QUALIFY row_number() OVER (PARTITION BY mart ORDER BY checked_at DESC) = 1")

MAX_LISTED = 50   # problems listed per expectation; the rest are counted


def new_run_id() -> str:
    """A run id for CLI runs (Dagster runs use their own)."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def ensure_quality_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The quality schema's tables and view, created or brought up to date; nothing written when
    they are (``IF NOT EXISTS`` writes nothing for an existing table)."""
    con.execute(QUALITY_DDL)
    digest = hashlib.sha256(MART_STATUS.encode()).hexdigest()[:16]
    current = con.execute("SELECT comment FROM duckdb_views() WHERE database_name = current_database() "
                          "AND schema_name = 'quality' AND view_name = 'mart_status'").fetchone()
    if current is None or current[0] != digest:
        con.execute(f"CREATE OR REPLACE VIEW quality.mart_status AS {MART_STATUS}")
        con.execute(f"COMMENT ON VIEW quality.mart_status IS '{digest}'")


def _severity(config) -> str:
    value = getattr(config.severity, "value", config.severity)
    return str(value or "critical")


def _format(template: str, fields: dict[str, Any]) -> str:
    values = defaultdict(lambda: "?", {k: v for k, v in fields.items()})
    try:
        return template.format_map(values)
    except (ValueError, TypeError, KeyError):
        return template.split("{")[0].strip() or template


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):       # numpy scalars
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _exception(result) -> str | None:
    """GX reports an expectation that could not run (e.g. a missing column) in exception_info."""
    info = result.exception_info or {}
    candidates = [info] + [v for v in info.values() if isinstance(v, dict)]
    for item in candidates:
        if item.get("raised_exception"):
            return str(item.get("exception_message") or "unknown error").splitlines()[0][:300]
    return None


@dataclass(frozen=True)
class Failure:
    """One failed expectation on one row (or on the whole batch when ``delivery_id`` is None)."""

    delivery_id: str | None
    check: str
    expectation: str
    severity: str                      # critical | warning
    problem: Problem


def failures(validation, extra: dict[str, Any] | None = None) -> list[Failure]:
    """Every failed expectation of a validation, one per failing row, as problems a partner can
    act on: ``critical`` becomes an error (quarantine), ``warning`` stays a warning."""
    found: list[Failure] = []
    for result in validation.result.results:
        if result.success:
            continue
        config = result.expectation_config
        meta, severity = config.meta or {}, _severity(config)
        level = "error" if severity == "critical" else "warning"
        check, template = meta.get("check", config.type), meta.get("message", config.type)

        def add(delivery_id, problem, _check=check, _type=config.type, _severity=severity):
            found.append(Failure(delivery_id, _check, _type, _severity, problem))

        failure = _exception(result)
        if failure:
            add(None, Problem("validation_error", f"{check} could not be evaluated: {failure}",
                              column=meta.get("column"), severity="error"))
            continue
        rows = result.result.get("unexpected_index_list") or []
        if not rows:   # a table-level expectation (schema): the whole batch
            observed = result.result.get("observed_value")
            add(None, Problem(check, _format(template, {"value": observed, **(extra or {})}),
                              column=meta.get("column"), severity=level))
            continue
        value_from = meta.get("value_from") or config.kwargs.get("column")
        for row in rows:
            fields = {k: _plain(v) for k, v in row.items()}
            value = fields.get(value_from)
            fields.update(extra or {})
            fields.setdefault("period", fields.get("_period"))
            fields["value"] = value
            line = fields.get("_source_line")
            add(fields.get("_delivery_id"),
                Problem(check, _format(template, fields), line=int(line) if line is not None else None,
                        column=meta.get("column"), value=None if value is None else str(value), severity=level))
    return found


def problems_by_subject(found: list[Failure], subjects: list[str],
                        totals: dict[str, int] | None = None) -> dict[str, list[Problem]]:
    """Each subject's problems (a batch-wide failure counts for every subject): the first
    MAX_LISTED per check, then a count of the rest, in line order. ``totals``: failing rows per
    check when fewer were listed (one subject)."""
    out: dict[str, list[Problem]] = {}
    for subject in subjects:
        per_check: dict[str, list[Problem]] = {}
        for f in found:
            if f.delivery_id is None or f.delivery_id == subject or len(subjects) == 1:
                per_check.setdefault(f.check, []).append(f.problem)
        problems: list[Problem] = []
        for check, listed in per_check.items():
            problems += listed[:MAX_LISTED]
            count = max(len(listed), (totals or {}).get(check, 0) if len(subjects) == 1 else 0)
            if count > MAX_LISTED:
                problems.append(Problem(check, f"{count} values fail {check!r} in all; the first {MAX_LISTED} "
                                        "are listed", column=listed[0].column, severity=listed[0].severity))
        out[subject] = sorted(problems, key=lambda p: (p.line is None, p.line or 0, p.code))
    return out


def record_validation(con: duckdb.DuckDBPyConnection, validation, found: list[Failure], *, run_id: str,
                      subject_type: str, subjects: dict[str, int], partner_id: str | None = None) -> None:
    """One row per expectation and subject. ``subjects``: subject -> its number of rows in the
    batch (a batch of deliveries is split back into its deliveries)."""
    by_subject: dict[tuple[str | None, str], int] = {}
    for f in found:
        by_subject[(f.delivery_id, f.expectation + f.check)] = by_subject.get((f.delivery_id, f.expectation + f.check), 0) + 1
    result_id = None if validation.result_key is None else "/".join(validation.result_key)
    rows = []
    for result in validation.result.results:
        config = result.expectation_config
        meta = config.meta or {}
        check = meta.get("check", config.type)
        res = result.result or {}
        whole_batch = by_subject.get((None, config.type + check), 0)
        for subject, element_count in subjects.items():
            failed = whole_batch or by_subject.get((subject, config.type + check), 0) \
                or (not result.success and len(subjects) == 1)
            count = by_subject.get((subject, config.type + check), 0)
            if len(subjects) == 1 and not result.success:     # the rows listed may be fewer than those failing
                count = max(count, res.get("unexpected_count") or 0)
            observed = {k: _plain(res[k]) for k in ("observed_value",) if res.get(k) is not None}
            rows.append([run_id, subject_type, subject, partner_id, validation.suite, check, config.type,
                         config.kwargs.get("column") or meta.get("column"), _severity(config), not failed,
                         element_count, count, json.dumps(observed, default=str, ensure_ascii=False)[:2000],
                         result_id])
    insert_rows(con, "quality.validations", rows, tail="now()")


def latest_gate_run(con: duckdb.DuckDBPyConnection) -> str | None:
    """The run of the latest quality gate: the marts a snapshot takes were approved by it or before."""
    try:
        row = con.execute("SELECT run_id FROM quality.mart_gate ORDER BY checked_at DESC LIMIT 1").fetchone()
    except duckdb.CatalogException:
        return None
    return row[0] if row else None
