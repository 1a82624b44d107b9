"""The audit log: every snapshot, partner export and publication, for whom, when, from which run.

One table in the hub's warehouse, ``audit.events``, append-only; ``hub audit`` prints it. The
confidentiality promise is only as good as the record of what left the warehouse.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass
from datetime import datetime

import duckdb

ACTIONS = ("snapshot", "partner_export", "publication")

DDL = """
CREATE SCHEMA IF NOT EXISTS audit;
CREATE TABLE IF NOT EXISTS audit.events (
    recorded_at TIMESTAMPTZ NOT NULL,
    action      VARCHAR NOT NULL,      -- snapshot | partner_export | publication
    audience    VARCHAR NOT NULL,      -- 'analysts', a partner id, or 'public'
    target      VARCHAR NOT NULL,      -- file written or portal dataset URL
    run_id      VARCHAR,               -- the pipeline run whose approved marts were used
    actor       VARCHAR NOT NULL,      -- the system account that ran it
    detail      VARCHAR                -- JSON: tables, rows, checksums, changed resources…
);
"""


@dataclass(frozen=True)
class Event:
    recorded_at: datetime
    action: str
    audience: str
    target: str
    run_id: str | None
    actor: str
    detail: dict


def record(con: duckdb.DuckDBPyConnection, action: str, audience: str, target: str, run_id: str | None,
           detail: dict | None = None) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; known: {', '.join(ACTIONS)}")
    con.execute(DDL)
    con.execute("INSERT INTO audit.events VALUES (now(), ?, ?, ?, ?, ?, ?)",
                [action, audience, target, run_id, _actor(), json.dumps(detail or {}, ensure_ascii=False,
                                                                       sort_keys=True, default=str)])


def events(con: duckdb.DuckDBPyConnection, *, action: str | None = None, audience: str | None = None,
           limit: int = 50) -> list[Event]:
    """The latest events first."""
    exists = con.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = 'audit' "
                         "AND table_name = 'events'").fetchone()
    if not exists:
        return []
    rows = con.execute(
        "SELECT recorded_at, action, audience, target, run_id, actor, detail FROM audit.events "
        "WHERE (? IS NULL OR action = ?) AND (? IS NULL OR audience = ?) "
        "ORDER BY recorded_at DESC LIMIT ?", [action, action, audience, audience, limit]).fetchall()
    return [Event(*row[:6], json.loads(row[6] or "{}")) for row in rows]


def render(found: list[Event]) -> str:
    if not found:
        return "No audit event recorded yet."
    lines = [f"{'when (UTC)':<20} {'action':<15} {'for':<22} {'run':<22} target"]
    for e in found:
        lines.append(f"{e.recorded_at:%Y-%m-%d %H:%M:%S} {e.action:<15} {e.audience:<22} {e.run_id or '-':<22} "
                     f"{e.target}")
    return "\n".join(lines)


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):     # no passwd entry (some containers)
        return "unknown"
