"""Opening the DuckDB warehouse: one function, the same session settings everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from territoire_hub.permissions import PRIVATE_DIR, private_file


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file (created with its folder if needed, both private) with UTC session time.

    Timestamps are stored as TIMESTAMPTZ instants; the session zone only changes how they
    print, and UTC keeps printed values equal to what is stored.
    """
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    con = duckdb.connect(str(path), read_only=read_only)
    if not read_only:
        private_file(path)   # partners' raw rows: the hub's account only, whatever the umask
    con.execute("SET TimeZone = 'UTC'")
    return con


@contextmanager
def _setting(con: duckdb.DuckDBPyConnection, name: str, value: str) -> Iterator[None]:
    """DuckDB setting ``name`` set to ``value`` (SQL) for a while, its previous value restored after."""
    before = con.execute(f"SELECT current_setting('{name}')").fetchone()[0]
    con.execute(f"SET {name} = {value}")
    try:
        yield
    finally:
        restored = ("true" if before else "false") if isinstance(before, bool) else quote_literal(str(before))
        con.execute(f"SET {name} = {restored}")


@contextmanager
def memory_limited(con: duckdb.DuckDBPyConnection, limit_bytes: int) -> Iterator[None]:
    """DuckDB's memory held to ``limit_bytes`` for a while (beyond, it spills to disk next to the
    warehouse); the previous limit is restored after."""
    with _setting(con, "memory_limit", f"'{int(limit_bytes)}B'"):
        yield


INGEST_WAL_BYTES = 1 << 30


@contextmanager
def checkpoint_after(con: duckdb.DuckDBPyConnection, wal_bytes: int = INGEST_WAL_BYTES) -> Iterator[None]:
    """Many small commits (one per delivery) with one checkpoint at the end: DuckDB folds its
    write-ahead log into the file once it reaches ``wal_autocheckpoint`` (16 MiB by default, about
    one traffic delivery), and each checkpoint costs a fixed ~0.1 s beside the rows it writes. The
    log may grow to ``wal_bytes`` meanwhile (replayed on the next open after a crash)."""
    try:
        with _setting(con, "wal_autocheckpoint", f"'{int(wal_bytes)}B'"):
            yield
    finally:
        con.execute("CHECKPOINT")


@contextmanager
def unordered(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Statements whose result order does not matter (``preserve_insertion_order`` off): DuckDB then
    needs much less memory for large joins and aggregates into a table; restored after."""
    with _setting(con, "preserve_insertion_order", "false"):
        yield


ROWS_PER_INSERT = 500


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[list], tail: str = "") -> None:
    """Insert ``rows`` (each a list of values) into ``table``, one statement per ``ROWS_PER_INSERT``
    rows (DuckDB's ``executemany`` runs one INSERT a row: ~1 ms each). ``tail``: SQL appended to
    every row's values, e.g. ``now()``."""
    if not rows:
        return
    extra = f", {tail}" if tail else ""
    for start in range(0, len(rows), ROWS_PER_INSERT):
        chunk = rows[start:start + ROWS_PER_INSERT]
        one = "(" + ", ".join(["?"] * len(chunk[0])) + extra + ")"
        con.execute(f"INSERT INTO {table} VALUES {', '.join([one] * len(chunk))}", [v for row in chunk for v in row])


def quote_ident(name: str) -> str:
    """Quote an identifier for SQL; names come from the registry, never from partner files."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
