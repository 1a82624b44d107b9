"""Raw tables: one per partner dataset, explicitly typed, with lineage columns.

``raw.<partner>__<dataset>`` holds the rows of every accepted delivery, superseded ones
included (the staging layer picks the current delivery); ``_delivery_id`` and
``_source_line`` say where each row came from. Loading a delivery replaces its own rows
only, so running it again changes nothing.
"""

from __future__ import annotations

import collections
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

import pyarrow as pa

from territoire_hub.settings import Limits
from territoire_hub.sources.compression import mib
from territoire_hub.sources.containers import read_geojson, read_shapefile
from territoire_hub.sources.decoding import DecodedFile, decode_delivery, unknown_columns
from territoire_hub.sources.landing import mark, record_problems
from territoire_hub.sources.parsing import (bad_records_sql, has_commune_codes, insert_parts, stage_delivery,
                                            staged_problems, text_parts, typed_select)
from territoire_hub.sources.sniffing import SNIFF_BYTES, sniff
from territoire_hub.problems import DeliveryRejected, Problem, Verdict
from territoire_hub.formats import FormatSpec
from territoire_hub.registry import PartnerDataset, Registry
from territoire_hub.warehouse import quote_ident, quote_literal

RAW_SCHEMA = "raw"
LINEAGE = [("_delivery_id", "VARCHAR NOT NULL"), ("_source_line", "BIGINT NOT NULL")]


def raw_table(entry: PartnerDataset) -> str:
    return entry.raw_relation


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


FORMATS_SCHEMA = "formats"


def _format_view_sql(spec: FormatSpec, entries: list[PartnerDataset]) -> str:
    """All raw rows of a format, whichever partner delivered them, with ``partner_id`` and
    ``dataset_key``: a typed empty relation first, so the view has every column of the format
    even when no dataset uses it (or a raw table predates a column)."""
    empty = ", ".join(["NULL::VARCHAR AS partner_id", "NULL::VARCHAR AS dataset_key"]
                      + [f"NULL::{t.replace(' NOT NULL', '')} AS {quote_ident(n)}" for n, t in LINEAGE]
                      + [f"NULL::{c.sql_type} AS {quote_ident(c.name)}" for c in spec.columns])
    parts = [f"SELECT {empty} WHERE false"]
    names = ", ".join(quote_ident(n) for n, _ in LINEAGE) + ", " + ", ".join(quote_ident(c.name) for c in spec.columns)
    for entry in sorted(entries, key=lambda e: e.key):
        parts.append(f"SELECT {quote_literal(entry.partner.id)} AS partner_id, {quote_literal(entry.key)} AS dataset_key, "
                     f"{names} FROM {raw_table(entry)}")
    return " UNION ALL BY NAME ".join(parts)


def ensure_format_views(con: duckdb.DuckDBPyConnection, registry: Registry) -> None:
    """One view per known format, ``formats.<format>``: the rows of every dataset of that format.

    The staging layer reads these views, so a new partner of a known format reaches the marts
    with its registry entry alone."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {FORMATS_SCHEMA}")
    for format_id, spec in registry.formats.items():
        con.execute(f"CREATE OR REPLACE VIEW {FORMATS_SCHEMA}.{quote_ident(format_id)} AS "
                    f"{_format_view_sql(spec, registry.of_format(format_id))}")


@dataclass
class Parsed:
    """A delivery parsed into temp table ``staged``, waiting for its quality verdict."""

    delivery_id: str
    staged: str
    period: str
    rows: int
    problems: list[Problem]     # found while typing: warnings, and the bad records' errors (quarantine: rows)
    encoding: str
    separator: str


READ_AHEAD_BYTES = 64 << 20     # a delivery whose text is larger is parsed a part at a time while typed


@dataclass
class Reading:
    """A delivered file read without the warehouse, waiting to be typed into it: a container's
    text columns (``table``), or a CSV file's decoded text and its Arrow parts (parsed already
    when read ahead, else parsed a part at a time as they are typed). Holds the scratch folder: ``close()``."""

    work: tempfile.TemporaryDirectory
    encoding: str | None
    separator: str | None
    warnings: list[Problem]
    table: pa.Table | None = None
    decoded: DecodedFile | None = None
    parts: Iterable[pa.Table] = ()

    def close(self) -> None:
        if isinstance(self.parts, Generator):     # stopped early (a typing error): its files close now
            self.parts.close()
        self.parts = ()
        self.work.cleanup()


def read_file(entry: PartnerDataset, stored_path: Path, scratch: Path | None = None,
              formats: dict[str, FormatSpec] | None = None, limits: Limits = Limits(),
              ahead: bool = False) -> Reading:
    """Read a landed file for :func:`parse_delivery`, whatever its container, a piece at a time
    (scratch files in a private folder under ``scratch``): a file that is not what its format
    expects is refused naming what it is (a zip, a spreadsheet, an HTML page, …). ``ahead``: parse
    a CSV file whose text is at most ``READ_AHEAD_BYTES`` now (run by the read-ahead thread)."""
    if scratch is not None:
        scratch.mkdir(mode=0o700, parents=True, exist_ok=True)
    work = tempfile.TemporaryDirectory(prefix="delivery-", dir=scratch)
    try:
        return _read(entry, Path(stored_path), work, formats, limits, ahead)
    except BaseException:
        work.cleanup()
        raise


def _read(entry: PartnerDataset, stored_path: Path, work: tempfile.TemporaryDirectory,
          formats: dict[str, FormatSpec] | None, limits: Limits, ahead: bool) -> Reading:
    spec = entry.spec
    size = stored_path.stat().st_size
    if size > limits.max_delivery_bytes:
        raise DeliveryRejected([Problem(
            "too_large", f"the file is {mib(size)}, more than {mib(limits.max_delivery_bytes)} (limit "
            "HUB_MAX_DELIVERY_BYTES): never read; deliver it split by period")])
    with open(stored_path, "rb") as stream:
        sniffed = sniff(stream.read(SNIFF_BYTES), stored_path)
    if spec.container == "shapefile_zip":
        if sniffed.kind != "shapefile_zip":
            raise DeliveryRejected([Problem("not_a_shapefile", f"not a zipped shapefile: {sniffed.what or 'a CSV file'}")])
        return Reading(work, None, None, [], table=read_shapefile(stored_path, spec, spec.crs).table)
    if spec.container == "geojson":
        if not (sniffed.kind == "not_a_csv" and sniffed.what == "JSON document"):
            raise DeliveryRejected([Problem("not_geojson", f"not a GeoJSON document: {sniffed.what or 'a CSV file'}")])
        return Reading(work, "utf-8", None, [], table=read_geojson(stored_path, spec).table)
    if sniffed.kind != "csv":
        raise DeliveryRejected([Problem("not_a_csv", f"not a CSV file: {sniffed.what}")])
    decoded = decode_delivery(stored_path, Path(work.name), spec=spec, encodings=entry.encodings,
                              separators=entry.separators, formats=formats, limits=limits)
    # a small text is parsed ahead and typed on every core; a large one a part at a time, on one
    # core, its memory that of one part (a 1 GB file's peak ~30 MiB lower)
    small = decoded.path.stat().st_size <= READ_AHEAD_BYTES
    parts = text_parts(decoded, spec, limits, parallel=small)
    if ahead and small:
        parts = _handed_over(collections.deque(parts))
    return Reading(work, decoded.encoding, decoded.separator, unknown_columns(decoded.header, spec),
                   decoded=decoded, parts=parts)


def _handed_over(parts: collections.deque) -> Iterator[pa.Table]:
    """The parts read ahead, each let go as it is handed over (typed parts are not kept)."""
    while parts:
        yield parts.popleft()


def stage_reading(con: duckdb.DuckDBPyConnection, entry: PartnerDataset, reading: Reading, staged: str) -> None:
    """Temp table ``staged`` of typed columns (+ ``_source_line`` and ``_problems``, see
    :func:`~territoire_hub.sources.parsing.typed_select`) from what :func:`read_file` read."""
    spec = entry.spec
    if reading.table is not None:
        con.register("_container", reading.table)
        try:
            stage_delivery(con, "_container", spec, staged, entry.partner.departements)
        finally:
            con.unregister("_container")
        return
    codes = has_commune_codes(con)
    insert_parts(con, reading.parts, reading.decoded, staged,
                 cast=lambda present: typed_select(spec, present, entry.partner.departements, codes, "_part"))


def parse_delivery(con: duckdb.DuckDBPyConnection, entry: PartnerDataset, delivery_id: str,
                   read: Callable[[], Reading], run_id: str) -> Parsed | None:
    """Type a landed delivery (``read()`` gives it read: :func:`read_file`, maybe by the read-ahead
    thread); on a parse error quarantine it and return None. Its scratch files go after."""
    spec = entry.spec
    period = con.execute("SELECT period FROM landing.deliveries WHERE delivery_id = ?", [delivery_id]).fetchone()[0]
    staged = f"_staged_{delivery_id}"
    try:
        reading = read()
        try:
            stage_reading(con, entry, reading, staged)
        finally:
            reading.close()
        found = reading.warnings + staged_problems(con, spec, staged, keep_bad_rows=entry.dataset.quarantine == "rows")
    except DeliveryRejected as rejected:
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(staged)}")
        quarantine(con, delivery_id, rejected.problems, run_id)
        return None
    except OSError as exc:
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(staged)}")
        quarantine(con, delivery_id, [Problem("unreadable_landing", f"landed file cannot be read: {exc}")], run_id)
        return None
    rows = con.execute(f"SELECT count(*) FROM {quote_ident(staged)}").fetchone()[0]
    if entry.dataset.period == "content":
        period = content_period(con, entry, staged) or period
        con.execute("UPDATE landing.deliveries SET period = ? WHERE delivery_id = ?", [period, delivery_id])
    return Parsed(delivery_id, staged, period, rows, found, reading.encoding, reading.separator)


def content_period(con: duckdb.DuckDBPyConnection, entry: PartnerDataset, staged: str) -> str | None:
    """``YYYYMMDD-YYYYMMDD``: the first and last days of the delivery's records (Europe/Paris days,
    UTC days for a format stamped in UTC), for a dataset whose period is read from its content."""
    column = entry.spec.column(entry.spec.event_time)
    value = quote_ident(column.name)
    if column.type == "integer":            # a year
        day = f"make_date(CAST({value} AS INTEGER), 1, 1)"
        last = f"make_date(CAST(max({value}) AS INTEGER), 12, 31)"
        first = f"min({day})"
    else:
        zone = "UTC" if column.timezone == "UTC" else "Europe/Paris"
        day = value if column.type == "date" else f"CAST(timezone('{zone}', {value}) AS DATE)"
        first, last = f"min({day})", f"max({day})"
    row = con.execute(f"SELECT strftime({first}, '%Y%m%d'), strftime({last}, '%Y%m%d') "
                      f"FROM {quote_ident(staged)}").fetchone()
    return f"{row[0]}-{row[1]}" if row and row[0] else None


def commit_delivery(con: duckdb.DuckDBPyConnection, entry: PartnerDataset, parsed: Parsed,
                    verdict: Verdict, run_id: str) -> int:
    """Quarantine the delivery if a critical expectation failed, else load it with its warnings.

    Under ``quarantine: rows`` a delivery whose errors are all on records (not on the file, not
    on a day) loads without those records, kept aside in ``landing.rejected_rows``: it is
    ``partial``, unless more than ``max_bad_share`` of its records are bad. The raw table exists
    (:func:`ensure_raw_table`, once per batch)."""
    problems = parsed.problems + verdict.problems
    staged = quote_ident(parsed.staged)
    bad = f"_bad_{parsed.delivery_id}"
    try:
        rejected = 0
        if any(p.severity == "error" for p in problems):
            if entry.dataset.quarantine != "rows" or verdict.whole_file:
                quarantine(con, parsed.delivery_id, problems, run_id)
                return 0
            rejected = _bad_records(con, entry, parsed, verdict, bad)
            share, allowed = rejected / max(parsed.rows, 1), entry.dataset.max_bad_share
            if share > allowed:
                quarantine(con, parsed.delivery_id, problems + [Problem(
                    "too_many_bad_records", f"{rejected:,} of {parsed.rows:,} records are bad ({share:.1%}), more "
                    f"than the {allowed:.0%} this dataset loads without (max_bad_share): the whole file is refused")],
                    run_id)
                return 0
            problems = problems + [Problem(
                "records_rejected", f"{rejected:,} of {parsed.rows:,} records refused and kept aside, each with its "
                f"line and reason; the other {parsed.rows - rejected:,} are loaded (quarantine: rows)",
                severity="warning")]
        names = ", ".join(quote_ident(c.name) for c in entry.spec.columns)
        keep = f"WHERE _source_line NOT IN (SELECT line FROM {quote_ident(bad)})" if rejected else ""
        con.execute("BEGIN TRANSACTION")
        try:
            # no DELETE of the delivery's rows first: a delivery is loaded only while 'landed', which it
            # is with no row in raw (landed new, or put back by reset_for_replay, which deletes them);
            # that scan of the whole history's delivery ids cost ~0.1 s a delivery at one year
            # in line order without a sort: the staged rows are in line order, and DuckDB keeps
            # insertion order (a sort of a 1 GB delivery took DuckDB ~60 MiB beyond its limit)
            con.execute(
                f"INSERT INTO {raw_table(entry)} (_delivery_id, _source_line, {names}) "
                f"SELECT ?, _source_line, {names} FROM {staged} {keep}",
                [parsed.delivery_id],
            )
            con.execute("DELETE FROM landing.issues WHERE delivery_id = ?", [parsed.delivery_id])
            con.execute("DELETE FROM landing.rejected_rows WHERE delivery_id = ?", [parsed.delivery_id])
            if rejected:
                con.execute(f"INSERT INTO landing.rejected_rows SELECT ?, line, code, column_name, value, now() "
                            f"FROM {quote_ident(bad)}", [parsed.delivery_id])
            problems = problems + withdrawn_records(con, entry, parsed.delivery_id)
            record_problems(con, parsed.delivery_id, problems)
            mark(con, parsed.delivery_id, "partial" if rejected else "loaded", rows=parsed.rows - rejected,
                 encoding=parsed.encoding, separator=parsed.separator, run_id=run_id,
                 rejected=rejected or None)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        return parsed.rows - rejected
    finally:
        con.execute(f"DROP TABLE IF EXISTS {staged}")
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(bad)}")


def _bad_records(con: duckdb.DuckDBPyConnection, entry: PartnerDataset, parsed: Parsed, verdict: Verdict,
                 bad: str) -> int:
    """Temp table ``bad``: every bad record's line and first reason, from typing (the staged
    table's own problems) and from the suites; returns how many records."""
    checked = pa.table({"line": pa.array(list(verdict.failing_lines), pa.int64()),
                        "code": [p.code for p in verdict.failing_lines.values()],
                        "column_name": [p.column for p in verdict.failing_lines.values()],
                        "value": [p.value for p in verdict.failing_lines.values()]},
                       schema=pa.schema([("line", pa.int64()), ("code", pa.string()), ("column_name", pa.string()),
                                         ("value", pa.string())]))
    con.register("_checked", checked)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {quote_ident(bad)} AS SELECT DISTINCT ON (line) line, code, "
                    f"column_name, value FROM (SELECT 1 AS step, * FROM ({bad_records_sql(entry.spec, parsed.staged)}) "
                    f"UNION ALL SELECT 2, * FROM _checked) ORDER BY line, step")
    finally:
        con.unregister("_checked")
    return con.execute(f"SELECT count(*) FROM {quote_ident(bad)}").fetchone()[0]


def withdrawn_records(con: duckdb.DuckDBPyConnection, entry: PartnerDataset, delivery_id: str) -> list[Problem]:
    """A delivery that replaces earlier ones of its period as a whole (``supersession:
    replace_period``) withdraws the records they carried and it does not: one warning per earlier
    delivery, with how many and the first key, so no record leaves the current data unannounced."""
    earlier = con.execute("SELECT delivery_id, filename, rows_loaded FROM landing.deliveries "
                          "WHERE superseded_by = ? AND status IN ('loaded', 'partial') ORDER BY sequence", [delivery_id]).fetchall()
    if not earlier:
        return []
    grain = entry.spec.grain
    table = raw_table(entry)
    same_key = " AND ".join(f"n.{quote_ident(g)} IS NOT DISTINCT FROM o.{quote_ident(g)}" for g in grain)
    key_text = " || ', ' || ".join(f"{quote_literal(g + '=')} || coalesce(CAST(o.{quote_ident(g)} AS VARCHAR), 'NULL')"
                                   for g in grain)
    found = []
    for earlier_id, filename, rows in earlier:
        if grain:
            count, example = con.execute(
                f"SELECT count(*), min({key_text}) FROM {table} AS o WHERE o._delivery_id = ? AND NOT EXISTS "
                f"(SELECT 1 FROM {table} AS n WHERE n._delivery_id = ? AND {same_key})",
                [earlier_id, delivery_id]).fetchone()
            if not count:
                continue
            what = f"{count:,} of its records are not in this file (first: {example})"
        else:
            kept = con.execute(f"SELECT count(*) FROM {table} WHERE _delivery_id = ?", [delivery_id]).fetchone()[0]
            if not rows or rows <= kept:
                continue
            what = f"it held {rows:,} records, this file {kept:,} (the format declares no key to compare them by)"
        found.append(Problem(
            "records_withdrawn",
            f"replaces {filename} as a whole for its period: {what}; they leave the current data. "
            f"If this partner's files are partial or rolling, declare `supersession: upsert` for the dataset",
            severity="warning"))
    return found


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
