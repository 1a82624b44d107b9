"""What ``hub status`` shows: deliveries per partner, rows per raw table, quarantine reasons, and
every drop-zone entry left in place. Names and reasons that come from outside are printed escaped
(one line each, see ``territoire_hub.names``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb

from territoire_hub.names import printable
from territoire_hub.registry import Registry
from territoire_hub.sources.dropzone import Unread
from territoire_hub.sources.landing import dataset_lateness
from territoire_hub.sources.loading import RAW_SCHEMA
from territoire_hub.warehouse import quote_ident


@dataclass(frozen=True)
class Quarantined:
    partner_id: str
    dataset_id: str
    filename: str
    delivery_id: str
    reasons: list[str]


@dataclass(frozen=True)
class Status:
    deliveries: list[tuple[str, str, int, int, int, int]]  # partner, dataset, loaded, quarantined, superseded, pending
    raw_rows: list[tuple[str, int | None]]                   # raw table, rows (None: not created yet)
    quarantined: list[Quarantined]
    transport_errors: list[tuple[str, str, str]] = ()        # dataset, origin, reason (not resolved since)
    marts: list[tuple[str, int]] = ()                        # marts.<model>, rows
    gate: list[tuple[str, bool, list[str], int]] = ()        # mart, publishable, blocking checks, flags
    flagged: list[tuple[str, str, int, list[str]]] = ()      # partner, dataset, deliveries, warning checks
    unread: list[Unread] = ()                                # drop-zone entries left in place
    late: list[str] = ()                                     # overdue deliveries, one message per dataset
    alerts: list[dict] = ()                                  # the latest alerts, newest first


def _has_catalogue(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = 'landing' AND table_name = 'deliveries'"
    ).fetchone())


def collect_status(con: duckdb.DuckDBPyConnection, registry: Registry, unread: list[Unread] = (),
                   alerts: list[dict] = (), now: datetime | None = None) -> Status:
    deliveries, quarantined, transport_errors = [], [], []
    if _has_catalogue(con):
        deliveries = con.execute(
            """
            SELECT partner_id, dataset_id,
                   count(*) FILTER (status IN ('loaded', 'partial')),
                   count(*) FILTER (status = 'quarantined' AND superseded_by IS NULL),
                   count(*) FILTER (superseded_by IS NOT NULL),
                   count(*) FILTER (status = 'landed')
            FROM landing.deliveries GROUP BY ALL ORDER BY ALL
            """
        ).fetchall()
        rows = con.execute(
            """
            SELECT d.partner_id, d.dataset_id, d.filename, d.delivery_id,
                   list(coalesce('line ' || i.line || ': ', '') || i.message || ' [' || i.code || ']'
                        ORDER BY i.line NULLS FIRST)
            FROM landing.deliveries d JOIN landing.issues i USING (delivery_id)
            WHERE d.status = 'quarantined' AND d.superseded_by IS NULL AND i.severity = 'error'
            GROUP BY ALL ORDER BY d.partner_id, d.dataset_id, d.filename
            """
        ).fetchall()
        quarantined = [Quarantined(*r) for r in rows]
        transport_errors = con.execute(
            """
            SELECT dataset_key, origin, arg_max(reason, recorded_at) FROM landing.transport_errors e
            WHERE NOT EXISTS (SELECT 1 FROM landing.deliveries d
                              WHERE d.origin = e.origin AND d.received_at > e.recorded_at)
            GROUP BY ALL ORDER BY ALL
            """
        ).fetchall()
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [RAW_SCHEMA]
    ).fetchall()}
    raw_rows = []
    for key in sorted(registry.datasets):
        count = None
        if key in tables:
            count = con.execute(f"SELECT count(*) FROM {RAW_SCHEMA}.{quote_ident(key)}").fetchone()[0]
        raw_rows.append((f"{RAW_SCHEMA}.{key}", count))
    marts = [
        (f"marts.{name}", con.execute(f"SELECT count(*) FROM marts.{quote_ident(name)}").fetchone()[0])
        for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY 1").fetchall()
    ]
    gate, flagged = [], []
    if con.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = 'quality' "
                   "AND table_name = 'mart_gate'").fetchone():
        gate = [(m, p, list(c), n) for m, p, c, n in con.execute(
            "SELECT mart, publishable, critical_failed, len(warnings) + len(upstream_flags) "
            "FROM quality.mart_status ORDER BY mart").fetchall()]
    if deliveries:
        flagged = [(p, d, n, list(codes)) for p, d, n, codes in con.execute(
            """
            SELECT d.partner_id, d.dataset_id, count(DISTINCT d.delivery_id), list(DISTINCT i.code ORDER BY i.code)
            FROM landing.deliveries d JOIN landing.issues i USING (delivery_id)
            WHERE d.status IN ('loaded', 'partial') AND d.superseded_by IS NULL AND i.severity = 'warning'
            GROUP BY ALL ORDER BY ALL
            """).fetchall()]
    now = now or datetime.now(timezone.utc)
    late = [lateness.message() for entry in registry.datasets.values()
            if (lateness := dataset_lateness(con, entry, now)) is not None]
    return Status(deliveries, raw_rows, quarantined, transport_errors, marts, gate, flagged, list(unread), late,
                  list(alerts))


def render_status(status: Status, max_reasons: int = 3) -> str:
    out = ["Deliveries per partner dataset", f"  {'partner':<24}{'dataset':<26}{'loaded':>8}{'quarant.':>10}{'supers.':>9}{'pending':>9}"]
    for partner, dataset, loaded, quarantined, superseded, pending in status.deliveries:
        out.append(f"  {partner:<24}{dataset:<26}{loaded:>8}{quarantined:>10}{superseded:>9}{pending:>9}")
    if not status.deliveries:
        out.append("  (no delivery landed yet: run `hub ingest`)")
    out += ["", "Rows per raw table"]
    for table, rows in status.raw_rows:
        out.append(f"  {table:<52}{'—' if rows is None else f'{rows:,}':>14}")
    out += ["", "Marts (regional indicators)"]
    for table, rows in status.marts:
        out.append(f"  {table:<52}{rows:>14,}")
    if not status.marts:
        out.append("  (none built yet: run `hub build`)")
    if status.gate:
        out += ["", "Publication gate (latest validation of each mart)"]
        for mart, publishable, critical, flags in status.gate:
            state = "publishable" if publishable else "BLOCKED"
            out.append(f"  marts.{mart:<46}{state:>12}" + (f"  ({flags} flags)" if flags else ""))
            for reason in critical[:max_reasons]:
                out.append(f"      - {reason}")
    if status.flagged:
        out += ["", "Flagged deliveries (warnings: loaded, the flag travels to the publication)"]
        for partner, dataset, n, codes in status.flagged:
            out.append(f"  {partner} / {dataset}: {n} deliveries ({', '.join(codes)})")
    out += ["", f"Quarantined deliveries ({len(status.quarantined)})"]
    for q in status.quarantined:
        out.append(f"  {q.partner_id} / {q.dataset_id} / {printable(q.filename)}  [{q.delivery_id}]")
        for reason in q.reasons[:max_reasons]:
            out.append(f"      - {printable(reason)}")
        if len(q.reasons) > max_reasons:
            out.append(f"      … {len(q.reasons) - max_reasons} more (hub status --all)")
    if not status.quarantined:
        out.append("  none")
    if status.transport_errors:
        out += ["", f"Transport errors not resolved since ({len(status.transport_errors)})"]
        for dataset, origin, reason in status.transport_errors:
            out.append(f"  {dataset}: {printable(origin)}\n      - {printable(reason)}")
    out += ["", f"Inbox entries left in place ({len(status.unread)})"]
    out += [f"  {u.line()}" for u in status.unread] or ["  none"]
    out += ["", f"Overdue deliveries ({len(status.late)})"]
    out += [f"  {printable(message)}" for message in status.late] or ["  none"]
    if status.alerts:
        out += ["", f"Latest alerts ({len(status.alerts)}, newest first; webhook HUB_ALERT_WEBHOOK)"]
        for alert in status.alerts:
            out.append(f"  {alert['at']}  {alert['kind']}: {printable(alert['subject'])}")
            out.append(f"      - {printable(alert['message'])} [{printable(alert.get('webhook', ''))}]")
    return "\n".join(out)
