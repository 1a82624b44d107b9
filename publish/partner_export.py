"""``hub partner export <partner>``: one DuckDB file with a partner's own data and the shared marts.

A partner may see everything the hub holds *of theirs* — what they delivered and how it was
read — and what everybody sees; nothing of another partner. The file holds:

- ``landing.deliveries`` / ``landing.issues`` / ``landing.rejected_rows`` /
  ``landing.transport_errors``: their deliveries, the problems found in them (file, line, column,
  value), the records of theirs kept aside and the failed collections;
- ``raw.<their dataset>``: their rows as loaded (with ``_delivery_id`` / ``_source_line``);
- ``staging.stg_<format>``: the same rows as the hub's dbt models read them (the staging model of
  each format they deliver, their rows only);
- ``quality.validations`` (their deliveries' checks) and ``quality.rapports`` (their reports);
- the shared part, as in the analysts' snapshot: ``marts`` (secrecy applied), ``ref``, ``vues``,
  ``meta``.

``since`` (``hub partner export --since DAY``) keeps, of the partner's own part, what was processed
on or after that Europe/Paris day: the deliveries, their problems, rows, staged rows and checks (the
shared part is whole: ``--since`` keeps the file small). DuckDB works within ``HUB_BUILD_MEMORY`` and
spills beyond where it can; the staged rows are still read through the window of current rows over
the format's whole history (issue 22).

Written to a new file, checked by the sensitivity check for *that* partner, then renamed into
place; recorded in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from territoire_hub.publish import audit
from territoire_hub.publish.sensitivity import check_file
from territoire_hub.publish.shared_contents import partner_keys, partner_staging
from territoire_hub.publish.shared_warehouse import document, rejected_folder, shared_tables, write_file
from territoire_hub.settings import Settings
from territoire_hub.registry import Registry
from territoire_hub.warehouse import memory_limited, quote_ident, quote_literal


@dataclass(frozen=True)
class Export:
    path: Path
    partner: str
    tables: dict[str, int]


def _relations(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = ?", [schema]).fetchall()}


def _copy(con: duckdb.DuckDBPyConnection, target: str, select: str, params: list | None = None) -> int:
    con.execute(f"CREATE TABLE {target} AS {select}", params or [])
    return con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]


def _on_or_after(column: str, since: date | None) -> str:
    """`` AND <column> on or after the Europe/Paris day since`` ('' without a day)."""
    if since is None:
        return ""
    return f" AND {column} >= (CAST({quote_literal(since.isoformat())} AS TIMESTAMP) AT TIME ZONE 'Europe/Paris')"


def own_tables(con: duckdb.DuckDBPyConnection, settings: Settings, registry: Registry, partner_id: str,
               into: str, since: date | None = None) -> dict[str, int]:
    """Copy the partner's own landed, staged and quality data into the attached catalog ``into``
    (``since``: only what was processed on or after that day)."""
    keys = partner_keys(registry, partner_id)
    target = quote_ident(into)
    for schema in ("landing", "raw", "staging", "quality"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {target}.{schema}")
    key_list = ", ".join(quote_literal(k) for k in keys)
    tables = {
        "landing.deliveries": _copy(con, f"{target}.landing.deliveries",
                                    "SELECT * EXCLUDE (stored_path) FROM landing.deliveries WHERE partner_id = ?"
                                    + _on_or_after("processed_at", since), [partner_id]),
        "landing.issues": _copy(con, f"{target}.landing.issues",
                                "SELECT i.* FROM landing.issues i JOIN landing.deliveries d USING (delivery_id) "
                                "WHERE d.partner_id = ?" + _on_or_after("d.processed_at", since), [partner_id]),
        "landing.rejected_rows": _copy(con, f"{target}.landing.rejected_rows",
                                       "SELECT r.* FROM landing.rejected_rows r JOIN landing.deliveries d "
                                       "USING (delivery_id) WHERE d.partner_id = ?" + _on_or_after("d.processed_at", since),
                                       [partner_id]),
        "landing.transport_errors": _copy(con, f"{target}.landing.transport_errors",
                                          f"SELECT * FROM landing.transport_errors WHERE dataset_key IN ({key_list})"
                                          + _on_or_after("recorded_at", since)),
    }
    # raw and staged rows of the deliveries exported (a staging table's _delivered_at is the
    # processing time when it was built, not necessarily the delivery's latest)
    recent = "" if since is None else (
        f" AND _delivery_id IN (SELECT delivery_id FROM landing.deliveries WHERE partner_id = {quote_literal(partner_id)}"
        + _on_or_after("processed_at", since) + ")")
    raw, staging = _relations(con, "raw"), _relations(con, "staging")
    for key in keys:
        if key in raw:
            tables[f"raw.{key}"] = _copy(con, f"{target}.raw.{quote_ident(key)}",
                                         f"SELECT * FROM raw.{quote_ident(key)} WHERE true{recent}")
    for model, model_keys in partner_staging(registry, partner_id).items():
        if model in staging:     # the format's staging model, the partner's rows only
            tables[f"staging.{model}"] = _copy(con, f"{target}.staging.{quote_ident(model)}",
                                               f"SELECT * FROM staging.{quote_ident(model)} "
                                               f"WHERE dataset_key IN (SELECT unnest(?::VARCHAR[])){recent}", [model_keys])
    if "validations" in _relations(con, "quality"):
        tables["quality.validations"] = _copy(
            con, f"{target}.quality.validations",
            "SELECT * FROM quality.validations WHERE partner_id = ? AND subject_type = 'delivery'"
            + _on_or_after("validated_at", since), [partner_id])
    reports = sorted((settings.data_dir / "quality" / "reports").glob(f"*/partners/{partner_id}.*"))
    con.execute(f"CREATE TABLE {target}.quality.rapports (run_id VARCHAR, fichier VARCHAR, contenu VARCHAR)")
    con.executemany(f"INSERT INTO {target}.quality.rapports VALUES (?, ?, ?)",
                    [[p.parent.parent.name, p.name, p.read_text(encoding="utf-8")] for p in reports])
    tables["quality.rapports"] = len(reports)
    return tables


def export_partner(con: duckdb.DuckDBPyConnection, settings: Settings, registry: Registry, partner_id: str,
                   run_id: str, lineage: dict[str, list[str]], output: Path | None = None,
                   since: date | None = None) -> Export:
    """Write, check and put in place ``<exports>/<partner>.duckdb``; record it in the audit log.

    ``con`` is a read-write connection to the hub's warehouse (the audit table lives there)."""

    partner_keys(registry, partner_id)          # unknown partner: clear error before any file
    final = output or settings.exports_dir / f"{partner_id}.duckdb"
    shared: dict[str, int] = {}

    def fill(target: str) -> dict[str, int]:
        tables = own_tables(con, settings, registry, partner_id, target, since)
        shared.update(shared_tables(con, registry, target)[0])
        return {**tables, **shared}

    with memory_limited(con, settings.limits.build_memory):
        tables = write_file(
            con, final, fill,
            lambda path, _: document(path, settings, run_id=run_id, audience=f"partner:{partner_id}", tables=shared,
                                     lineage=lineage),
            lambda path: check_file(path, settings, registry, partner=partner_id), rejected_folder(settings))
    audit.record(con, "partner_export", partner_id, str(final), run_id,
                 {"tables": tables, "bytes": final.stat().st_size, "since": since.isoformat() if since else None})
    return Export(final, partner_id, tables)
