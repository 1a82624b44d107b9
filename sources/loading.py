"""Raw tables: one per partner dataset, explicitly typed, with lineage columns.

``raw.<partner>__<dataset>`` holds the rows of every accepted delivery, superseded ones
included (the staging layer picks the current delivery); ``_delivery_id`` and
``_source_line`` say where each row came from. Loading a delivery replaces its own rows
only, so running it again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb

from territoire_hub.sources.decoding import decode_delivery
from territoire_hub.sources.landing import mark, record_problems
from territoire_hub.sources.parsing import read_text_columns, stage_delivery
from territoire_hub.sources.problems import DeliveryRejected, Problem
from territoire_hub.sources.registry import PartnerDataset
from territoire_hub.warehouse import quote_ident

RAW_SCHEMA = "raw"
LINEAGE = [("_delivery_id", "VARCHAR NOT NULL"), ("_source_line", "BIGINT NOT NULL")]


def raw_table(entry: PartnerDataset) -> str:
    return f"{RAW_SCHEMA}.{quote_ident(entry.key)}"


def ensure_raw_table(con: duckdb.DuckDBPyConnection, entry: PartnerDataset) -> None:
    """Create the raw table, or add columns a newer format version declares."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    columns = LINEAGE + [(c.name, c.sql_type) for c in entry.spec.columns]
    ddl = ", ".join(f"{quote_ident(n)} {t}" for n, t in columns)
    con.execute(f"CREATE TABLE IF NOT EXISTS {raw_table(entry)} ({ddl})")
    existing = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
        [RAW_SCHEMA, entry.key],
    ).fetchall()}
    for name, sql_type in columns:
        if name not in existing:
            con.execute(f"ALTER TABLE {raw_table(entry)} ADD COLUMN {quote_ident(name)} {sql_type.replace(' NOT NULL', '')}")


BATCH_ROWS = 1_000_000   # deliveries are validated together up to this many rows


@dataclass
class Parsed:
    """A delivery parsed into temp table ``staged``, waiting for its quality verdict."""

    delivery_id: str
    staged: str
    period: str
    rows: int
    warnings: list[Problem]
    encoding: str
    separator: str


def parse_delivery(con: duckdb.DuckDBPyConnection, entry: PartnerDataset, delivery_id: str,
                   stored_path: Path, run_id: str) -> Parsed | None:
    """Decode and type a landed delivery; on a parse error quarantine it and return None."""
    spec = entry.spec
    period = con.execute("SELECT period FROM landing.deliveries WHERE delivery_id = ?", [delivery_id]).fetchone()[0]
    staged = f"_staged_{delivery_id}"
    try:
        decoded = decode_delivery(
            Path(stored_path).read_bytes(),
            encodings=entry.encodings,
            separators=entry.separators,
            required=spec.required_sources,
            expected=spec.source_columns,
            compression=list(spec.compression),
        )
        table = read_text_columns(decoded, spec)
        warnings = stage_delivery(con, table, spec, staged, entry.partner.departements)
    except DeliveryRejected as rejected:
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(staged)}")
        quarantine(con, delivery_id, rejected.problems, run_id)
        return None
    except OSError as exc:
        quarantine(con, delivery_id, [Problem("unreadable_landing", f"landed file cannot be read: {exc}")], run_id)
        return None
    rows = con.execute(f"SELECT count(*) FROM {quote_ident(staged)}").fetchone()[0]
    return Parsed(delivery_id, staged, period, rows, warnings, decoded.encoding, decoded.separator)


def commit_delivery(con: duckdb.DuckDBPyConnection, entry: PartnerDataset, parsed: Parsed,
                    problems: list[Problem], run_id: str) -> int:
    """Quarantine the delivery if a critical expectation failed, else load it with its warnings."""
    problems = parsed.warnings + problems
    try:
        if any(p.severity == "error" for p in problems):
            quarantine(con, parsed.delivery_id, problems, run_id)
            return 0
        ensure_raw_table(con, entry)
        names = ", ".join(quote_ident(c.name) for c in entry.spec.columns)
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"DELETE FROM {raw_table(entry)} WHERE _delivery_id = ?", [parsed.delivery_id])
            con.execute(
                f"INSERT INTO {raw_table(entry)} (_delivery_id, _source_line, {names}) "
                f"SELECT ?, _source_line, {names} FROM {quote_ident(parsed.staged)} ORDER BY _source_line",
                [parsed.delivery_id],
            )
            con.execute("DELETE FROM landing.issues WHERE delivery_id = ?", [parsed.delivery_id])
            record_problems(con, parsed.delivery_id, problems)
            mark(con, parsed.delivery_id, "loaded", rows=parsed.rows, encoding=parsed.encoding,
                 separator=parsed.separator, run_id=run_id)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        return parsed.rows
    finally:
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(parsed.staged)}")


def load_deliveries(con: duckdb.DuckDBPyConnection, entry: PartnerDataset, pending: list[tuple[str, Path]], *,
                    quality=None, run_id: str | None = None,
                    on_delivery: Callable[[], None] | None = None) -> list[tuple[str, int]]:
    """Parse, validate (the Great Expectations suites of ``expectations/``) and load deliveries,
    in order. A parse error or a failed critical expectation quarantines a delivery with its
    problems; failed warnings are recorded and the delivery goes through, flagged.

    Deliveries are validated in batches of up to BATCH_ROWS rows (one GX run per suite and
    batch); a dataset whose checks read earlier deliveries (a meter's history) is validated one
    delivery at a time, so each sees the previous one loaded. Returns (delivery id, rows loaded).
    """
    from territoire_hub.expectations.deliveries import rules_for
    from territoire_hub.expectations.gate import Staged, validate_deliveries
    from territoire_hub.expectations.results import new_run_id
    from territoire_hub.expectations.runtime import QualityContext

    quality = quality or QualityContext.in_memory()
    run_id = run_id or new_run_id()
    limit = 1 if rules_for(entry.spec).meter else BATCH_ROWS
    loaded: list[tuple[str, int]] = []
    batch: list[Parsed] = []

    def flush() -> None:
        if not batch:
            return
        verdicts = validate_deliveries(con, quality, entry, [Staged(p.delivery_id, p.staged, p.period, p.rows)
                                                              for p in batch], run_id)
        for parsed in batch:
            loaded.append((parsed.delivery_id, commit_delivery(con, entry, parsed, verdicts[parsed.delivery_id], run_id)))
            if on_delivery:
                on_delivery()
        batch.clear()

    for delivery_id, stored_path in pending:
        parsed = parse_delivery(con, entry, delivery_id, stored_path, run_id)
        if parsed is None:
            loaded.append((delivery_id, 0))
            if on_delivery:
                on_delivery()
            continue
        batch.append(parsed)
        if sum(p.rows for p in batch) >= limit:
            flush()
    flush()
    return loaded


def load_delivery(con: duckdb.DuckDBPyConnection, entry: PartnerDataset, delivery_id: str, stored_path: Path,
                  *, quality=None, run_id: str | None = None) -> int:
    """One delivery through :func:`load_deliveries`; returns the rows loaded (0 when quarantined)."""
    return load_deliveries(con, entry, [(delivery_id, Path(stored_path))], quality=quality, run_id=run_id)[0][1]


def quarantine(con: duckdb.DuckDBPyConnection, delivery_id: str, problems: list[Problem], run_id: str | None = None) -> None:
    """Keep the delivery in landing with its problems; the deliveries it was to replace become
    current again (a bad correction must not erase good data)."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM landing.issues WHERE delivery_id = ?", [delivery_id])
        record_problems(con, delivery_id, problems)
        mark(con, delivery_id, "quarantined", run_id=run_id)
        con.execute("UPDATE landing.deliveries SET superseded_by = NULL WHERE superseded_by = ?", [delivery_id])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
