"""Raw tables: one per partner dataset, explicitly typed, with lineage columns.

``raw.<partner>__<dataset>`` holds the rows of every accepted delivery, superseded ones
included (the staging layer picks the current delivery); ``_delivery_id`` and
``_source_line`` say where each row came from. Loading a delivery replaces its own rows
only, so running it again changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from territoire_hub.sources.decoding import decode_delivery
from territoire_hub.sources.landing import mark, record_problems
from territoire_hub.sources.parsing import check_insee, read_text_columns, stage_delivery
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


def load_delivery(con: duckdb.DuckDBPyConnection, entry: PartnerDataset, delivery_id: str, stored_path: Path) -> int:
    """Parse a landed delivery into its raw table; on failure quarantine it with its problems.

    Returns the number of rows loaded (0 when quarantined).
    """
    spec = entry.spec
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
        check_insee(con, spec, staged)
    except DeliveryRejected as rejected:
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(staged)}")
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM landing.issues WHERE delivery_id = ?", [delivery_id])
        record_problems(con, delivery_id, rejected.problems)
        mark(con, delivery_id, "quarantined")
        con.execute("COMMIT")
        return 0
    except OSError as exc:
        problem = Problem("unreadable_landing", f"landed file cannot be read: {exc}")
        record_problems(con, delivery_id, [problem])
        mark(con, delivery_id, "quarantined")
        return 0

    ensure_raw_table(con, entry)
    names = ", ".join(quote_ident(c.name) for c in spec.columns)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM {raw_table(entry)} WHERE _delivery_id = ?", [delivery_id])
        con.execute(
            f"INSERT INTO {raw_table(entry)} (_delivery_id, _source_line, {names}) "
            f"SELECT ?, _source_line, {names} FROM {quote_ident(staged)} ORDER BY _source_line",
            [delivery_id],
        )
        rows = con.execute(f"SELECT count(*) FROM {quote_ident(staged)}").fetchone()[0]
        con.execute("DELETE FROM landing.issues WHERE delivery_id = ?", [delivery_id])
        record_problems(con, delivery_id, warnings)
        mark(con, delivery_id, "loaded", rows=rows, encoding=decoded.encoding, separator=decoded.separator)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(staged)}")
    return rows
