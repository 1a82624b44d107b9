"""Per-run quality reports: one for the hub's agents, one per partner (their deliveries only).

Written to ``<data>/quality/reports/<run_id>/``:

* ``quality_report.json`` and ``summary.md``: every delivery validated in the run (loaded,
  flagged or quarantined, with the failed expectations) and every mart's publication verdict;
* ``partners/<partner>.json`` and ``partners/<partner>.md``: what one partner needs to fix,
  never another partner's data (only its own deliveries appear in its report).

Reports are built from the warehouse (``quality.*``, ``landing.*``), so any past run can be
reported again with ``hub quality report --run <id>``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb

from territoire_hub.permissions import private_dir
from territoire_hub.settings import Settings


def latest_run(con: duckdb.DuckDBPyConnection) -> str | None:
    """The latest run that processed a delivery or validated a mart."""
    row = con.execute(
        "SELECT run_id FROM (SELECT run_id, processed_at AS done_at FROM landing.deliveries WHERE run_id IS NOT NULL "
        "UNION ALL SELECT run_id, checked_at FROM quality.mart_gate) ORDER BY done_at DESC LIMIT 1").fetchone()
    return row[0] if row else None


def collect(con: duckdb.DuckDBPyConnection, run_id: str) -> dict:
    deliveries = con.execute(
        """
        SELECT d.delivery_id, d.partner_id, d.dataset_id, d.filename, d.period, d.status,
               d.rows_loaded, d.superseded_by IS NOT NULL AS superseded, d.rows_rejected
        FROM landing.deliveries d WHERE d.run_id = ?
        ORDER BY d.partner_id, d.dataset_id, d.period, d.sequence
        """, [run_id]).fetchall()
    issues: dict[str, list[dict]] = {}
    for delivery_id, severity, code, line, column, value, message in con.execute(
            """
            SELECT delivery_id, severity, code, line, column_name, value, message FROM landing.issues
            WHERE delivery_id IN (SELECT delivery_id FROM landing.deliveries WHERE run_id = ?)
            ORDER BY delivery_id, line NULLS FIRST, code
            """, [run_id]).fetchall():
        issues.setdefault(delivery_id, []).append(
            {"severity": "critical" if severity == "error" else "warning", "check": code, "line": line,
             "column": column, "value": value, "message": message})
    checks: dict[str, list[dict]] = {}
    for subject, suite, check, severity, success, element_count, unexpected in con.execute(
            """
            SELECT subject, suite, check_id, severity, bool_and(success), max(element_count), max(unexpected_count)
            FROM quality.validations WHERE run_id = ? GROUP BY ALL ORDER BY subject, suite, check_id
            """, [run_id]).fetchall():
        checks.setdefault(subject, []).append(
            {"suite": suite, "check": check, "severity": severity, "success": success,
             "evaluated": element_count, "failed": unexpected})
    out_deliveries = []
    for delivery_id, partner, dataset, filename, period, status, rows, superseded, rejected in deliveries:
        found = issues.get(delivery_id, [])
        verdict = {"loaded": "flagged" if any(i["severity"] == "warning" for i in found) else "accepted",
                   "quarantined": "quarantined"}.get(status, status)
        out_deliveries.append({
            "delivery_id": delivery_id, "partner": partner, "dataset": dataset, "file": filename, "period": period,
            "verdict": verdict, "rows_loaded": rows, "rows_rejected": rejected or 0, "superseded": superseded,
            "failed_checks": [c for c in checks.get(delivery_id, []) if not c["success"]],
            "problems": found,
        })
    gates = con.execute(
        "SELECT mart, publishable, critical_failed, warnings, upstream_flags FROM quality.mart_gate "
        "WHERE run_id = ? ORDER BY mart", [run_id]).fetchall()
    out_marts = [{"mart": m, "publishable": p, "critical_failed": list(c), "warnings": list(w),
                  "upstream_flags": list(f)} for m, p, c, w, f in gates]
    return {"run_id": run_id, "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "deliveries": out_deliveries, "marts": out_marts}


def _markdown(report: dict, title: str, max_problems: int = 20) -> str:
    counts = {}
    for d in report["deliveries"]:
        counts[d["verdict"]] = counts.get(d["verdict"], 0) + 1
    out = [f"# {title}", "", f"Run `{report['run_id']}`, generated {report['generated_at']}.", ""]
    out.append("Deliveries: " + (", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "none validated") + ".")
    out.append("")
    for d in report["deliveries"]:
        if d["verdict"] == "accepted":
            continue
        out.append(f"## {d['verdict'].upper()} — {d['partner']} / {d['dataset']} / {d['file']} (period {d['period']})")
        for p in d["problems"][:max_problems]:
            where = f"line {p['line']}" if p["line"] is not None else "file"
            column = f", column {p['column']!r}" if p["column"] else ""
            out.append(f"- [{p['severity']}] {where}{column}: {p['message']} (`{p['check']}`)")
        if len(d["problems"]) > max_problems:
            out.append(f"- … {len(d['problems']) - max_problems} more in the JSON report")
        out.append("")
    if report["marts"]:
        out += ["## Indicators (marts)", "", "| mart | publishable | blocking checks | flags |", "|---|---|---|---|"]
        for m in report["marts"]:
            flags = len(m["warnings"]) + len(m["upstream_flags"])
            out.append(f"| {m['mart']} | {'yes' if m['publishable'] else '**no**'} | "
                       f"{'; '.join(m['critical_failed'][:3]) or '—'} | {flags or '—'} |")
        out.append("")
    return "\n".join(out)


def write_reports(con: duckdb.DuckDBPyConnection, settings: Settings, run_id: str | None = None) -> Path | None:
    """Write the run's reports; returns their folder (None when nothing was validated yet)."""
    run_id = run_id or latest_run(con)
    if run_id is None:
        return None
    report = collect(con, run_id)
    folder = settings.data_dir / "quality" / "reports" / run_id
    private_dir(folder.parent.parent)   # quality/: partners' findings name their lines and values
    private_dir(folder / "partners")
    (folder / "quality_report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    (folder / "summary.md").write_text(_markdown(report, "Quality report"))
    for partner in sorted({d["partner"] for d in report["deliveries"]}):
        own = {**report, "partner": partner, "marts": [],
               "deliveries": [d for d in report["deliveries"] if d["partner"] == partner]}
        texts = {"json": json.dumps(own, indent=2, ensure_ascii=False, default=str),
                 "md": _markdown(own, f"Quality report for {partner}")}
        outbox = private_dir(outbox_dir(settings) / partner)
        for suffix, text in texts.items():
            (folder / "partners" / f"{partner}.{suffix}").write_text(text)
            # the partner's copy, in its outbox (what the operator's transfer hands over)
            (outbox / f"quality_report_{run_id}.{suffix}").write_text(text)
    return folder


def outbox_dir(settings: Settings) -> Path:
    """``<data>/outbox/<partner>/``: each run's quality report for the partner, 0600 in 0700."""
    return settings.data_dir / "outbox"
