"""From decoded CSV text to typed rows: Arrow parses in bulk, DuckDB types and checks.

Every kept column is read as text, then cast in one SQL pass generated from the format
spec. A value that does not cast is a Problem naming its line and column; nothing is
turned into NULL silently.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from territoire_hub.settings import Limits
from territoire_hub.sources.compression import mib
from territoire_hub.sources.containers import Projection
from territoire_hub.sources.decoding import DecodedFile
from territoire_hub.formats import Column, FormatSpec
from territoire_hub.memory import release_freed_memory
from territoire_hub.names import FORMULA_START
from territoire_hub.problems import DeliveryRejected, Problem
from territoire_hub.warehouse import quote_ident, quote_literal

MAX_PROBLEMS = 50
HEADER_LINES = 1
BLOCK = 16 << 20        # Arrow's block: a record must fit in one
BATCH_ROWS = 8192       # rows per Arrow batch handed to DuckDB's typing pass


def _column_names(header: list[str]) -> list[str]:
    return [name if name else f"_unnamed_{i}" for i, name in enumerate(header)]


def _csv_records(path: Path, separator: str) -> Iterator[tuple[int, list[str]]]:
    """(physical line where the record starts, fields) of every non-empty record, header included,
    read by Python's CSV reader a line at a time: the slow path, for errors and for files whose
    quotes defeat the fast count of :class:`~territoire_hub.sources.decoding.RecordLines`."""
    before = csv.field_size_limit(1 << 30)      # the value caps are the hub's, judged elsewhere
    try:
        with open(path, encoding="utf-8", newline="") as stream:
            reader = csv.reader(stream, delimiter=separator)
            start = 1
            for row in reader:
                if row:
                    yield start, row
                start = reader.line_num + 1
    finally:
        csv.field_size_limit(before)


def _locate_bad_rows(path: Path, separator: str, expected: int) -> list[Problem]:
    """Error path only: find the records whose field count is wrong, by the line they start on."""
    problems = []
    for number, (line, row) in enumerate(_csv_records(path, separator)):
        if number >= HEADER_LINES and len(row) != expected:
            problems.append(Problem(
                "wrong_field_count",
                f"expected {expected} fields, found {len(row)} (truncated line or unquoted separator?)",
                line=line,
            ))
            if len(problems) >= MAX_PROBLEMS:
                break
    return problems


def _line_of_record(path: Path, separator: str, index: int) -> int:
    """Error path only: the line on which data record ``index`` (0 = first after the header) starts."""
    for number, (line, _) in enumerate(_csv_records(path, separator)):
        if number == index + HEADER_LINES:
            return line
    raise IndexError(index)


def _field_too_large(table: pa.Table, cap: int) -> tuple[int, str, int] | None:
    """(row, column, size) of the first value of ``table`` longer than ``cap`` bytes, if any."""
    for name in table.column_names:
        sizes = pc.binary_length(table[name])
        largest = pc.max(sizes).as_py()
        if largest is not None and largest > cap:
            return pc.index(pc.greater(sizes, cap), True).as_py(), name, largest
    return None


def text_parts(decoded: DecodedFile, spec: FormatSpec, limits: Limits = Limits(),
               parallel: bool = True) -> Iterator[pa.Table]:
    """The kept columns as strings, plus ``_line`` (physical line of each record), one Arrow table
    per part of the text (parts of whole records, cut while decoding): memory follows the part. A
    value longer than ``limits.max_field_bytes`` refuses the delivery, naming its line and column;
    so does a record with the wrong number of fields. Arrow only: no warehouse connection.

    ``parallel``: each part in batches of ``BATCH_ROWS`` rows, which DuckDB types on every core
    (~30 MiB more at the peak of a 1 GB file than one batch a part, typed on one core)."""
    names = _column_names(decoded.header)
    wanted = [c for c in spec.source_columns if c in names]
    invalid = 0

    def on_invalid(row):  # counted, then the delivery is refused below
        nonlocal invalid
        invalid += 1
        return "skip"

    bounds = [0, *decoded.cuts, decoded.path.stat().st_size]
    try:
        rows = 0
        with open(decoded.path, "rb") as text, open(decoded.lines, "rb") as lines, Projection(spec) as project:
            lines.seek(8 * HEADER_LINES)
            for part, (begin, end) in enumerate(zip(bounds, bounds[1:])):
                text.seek(begin)
                table = pacsv.read_csv(
                    pa.BufferReader(text.read(end - begin)),
                    read_options=pacsv.ReadOptions(column_names=names, skip_rows=HEADER_LINES if part == 0 else 0,
                                                   block_size=max(BLOCK, 4 * limits.max_line_bytes)),
                    parse_options=pacsv.ParseOptions(
                        delimiter=decoded.separator, quote_char='"', double_quote=True,
                        newlines_in_values=True, invalid_row_handler=on_invalid,
                    ),
                    convert_options=pacsv.ConvertOptions(
                        column_types={n: pa.string() for n in wanted},
                        include_columns=wanted,
                        strings_can_be_null=False,
                        quoted_strings_can_be_null=False,
                    ),
                    # the C heap, whose freed pages release_freed_memory hands back (Arrow's default
                    # pool, mimalloc, keeps them: +40 MiB resident by the end of a 256 MiB file)
                    memory_pool=pa.system_memory_pool(),
                )
                if invalid:
                    break
                too_large = _field_too_large(table, limits.max_field_bytes)
                if too_large is not None:
                    at, name, size = too_large
                    raise DeliveryRejected([Problem(
                        "field_too_large", f"a value of {mib(size)} in this column, more than "
                        f"{mib(limits.max_field_bytes)} (limit HUB_MAX_FIELD_BYTES): the file is refused",
                        line=_line_of_record(decoded.path, decoded.separator, rows + at), column=name)])
                found = np.fromfile(lines, dtype=np.int64, count=table.num_rows)
                found = np.pad(found, (0, table.num_rows - len(found)), constant_values=-1)
                table = project(table.append_column("_line", pa.array(found, pa.int64())))
                rows += table.num_rows
                # batches of BATCH_ROWS (views, no copy): DuckDB scans one batch per thread, and
                # Arrow's parse gives one batch per block, a part's worth
                ready = [pa.Table.from_batches(table.to_batches(max_chunksize=BATCH_ROWS), table.schema)
                         if parallel else table]
                del table
                yield ready.pop()     # held by the consumer only: freed when it is done with it
    except pa.ArrowInvalid as exc:
        raise DeliveryRejected([Problem("unreadable_csv", f"CSV cannot be parsed: {exc}")]) from None
    if invalid:
        problems = _locate_bad_rows(decoded.path, decoded.separator, len(names))
        raise DeliveryRejected(problems or [Problem("wrong_field_count", f"{invalid} lines have a wrong number of fields")])


def insert_parts(con: duckdb.DuckDBPyConnection, parts: Iterable[pa.Table], decoded: DecodedFile, target: str,
                 cast: Callable[[set[str]], str]) -> None:
    """Temp table ``target`` from the parts of :func:`text_parts`, one at a time, each typed by
    ``cast`` (the SQL over relation ``_part``, given its column names: :func:`typed_select`) in the
    same pass: the text is never a table of its own."""
    rows = 0
    for part, table in enumerate(parts):
        con.register("_part", table)
        select = cast(set(table.column_names))
        try:
            con.execute(f"INSERT INTO {quote_ident(target)} {select}" if part else
                        f"CREATE OR REPLACE TEMP TABLE {quote_ident(target)} AS {select}")
        finally:
            con.unregister("_part")
        rows += table.num_rows
        del table
        release_freed_memory()
    if rows != decoded.records - HEADER_LINES:    # quotes the fast count cannot follow (a stray quote in a value)
        _renumber(con, target, decoded)


def _renumber(con: duckdb.DuckDBPyConnection, target: str, decoded: DecodedFile) -> None:
    """Set ``_source_line`` from Python's CSV reader (the slow path, for rare files)."""
    lines = pa.table({"line": pa.array([line for line, _ in _csv_records(decoded.path, decoded.separator)][HEADER_LINES:],
                                       pa.int64())})
    con.register("_lines", lines)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {quote_ident(target)} AS SELECT t.* REPLACE (l.line AS _source_line) "
                    f"FROM {quote_ident(target)} t POSITIONAL JOIN _lines l")
    finally:
        con.unregister("_lines")


def _value(column: Column, present: set[str], missing: list[str]) -> str:
    """SQL for the trimmed text value, NULL when absent or a declared missing-value token."""
    if column.source not in present:
        return "CAST(NULL AS VARCHAR)"
    tokens = ", ".join(quote_literal(m) for m in missing)
    src = f"trim({quote_ident(column.source)})"
    return f"(CASE WHEN {src} IN ({tokens}) THEN NULL ELSE {src} END)"


# NaN and infinities cast to DOUBLE but are no measurement: refused like any other non-number
_NUMBER = ("(CASE WHEN isfinite(TRY_CAST(replace({v}, ',', '.') AS DOUBLE)) "
           "THEN TRY_CAST(replace({v}, ',', '.') AS DOUBLE) END)")


def _compact_width(fmt: str | None) -> int | None:
    """The exact number of digits of a stamp written without separators (``%Y%m%d%H``: 10), whose
    shorter forms strptime would otherwise read as another instant (``202501261`` as 01:00)."""
    if not fmt or not re.fullmatch(r"(%[YmdHMS])+", fmt):
        return None
    return sum(4 if directive == "Y" else 2 for directive in fmt[1::2])


def _strptime(column: Column, v: str) -> str:
    """SQL: the text ``v`` parsed with the column's format; a compact stamp must have every digit."""
    parsed = f"try_strptime({v}, {quote_literal(column.format)})"
    width = _compact_width(column.format)
    if width is None:
        return parsed
    return f"(CASE WHEN regexp_full_match({v}, '[0-9]{{{width}}}') THEN {parsed} END)"


def _restorable(v: str, departements: list[str]) -> str:
    """SQL: a 4-digit code whose zero-padded form starts with one of the partner's départements."""
    deps = [d for d in departements if len(d) == 2 and d.startswith("0")]
    if not deps:
        return "false"
    listed = ", ".join(quote_literal(d) for d in deps)
    return f"(regexp_matches({v}, '^[0-9]{{4}}$') AND substr(lpad({v}, 5, '0'), 1, 2) IN ({listed}))"


def _short_code(column: Column, v: str) -> str:
    """SQL: a code of ``column.digits`` digits written one digit short (its leading zero lost)."""
    return f"regexp_full_match({v}, '[0-9]{{{column.digits - 1}}}')"


def _typed(column: Column, v: str, departements: list[str]) -> str:
    """SQL that casts the text value ``v`` to the column's type (NULL when it does not cast)."""
    t = column.type
    if t == "text" and column.digits:
        return f"(CASE WHEN {_short_code(column, v)} THEN lpad({v}, {column.digits}, '0') ELSE {v} END)"
    if t in ("text",):
        return v
    if t == "insee":
        # a code that lost its leading zero is recoverable only with the partner's département context
        return f"(CASE WHEN {_restorable(v, departements)} THEN lpad({v}, 5, '0') ELSE upper({v}) END)"
    if t == "insee_list":
        sep = quote_literal(column.list_separator)
        return f"list_filter(list_transform(string_split({v}, {sep}), x -> upper(trim(x))), x -> x <> '')"
    if t == "decimal":
        return _NUMBER.format(v=v)
    if t == "integer":
        d = _NUMBER.format(v=v)
        # counts are sometimes written as floats ("154.0"): round, but refuse real fractions
        return f"(CASE WHEN abs({d} - round({d})) <= 0.01 THEN CAST(round({d}) AS BIGINT) END)"
    if t == "boolean":
        return (f"(CASE lower({v}) WHEN 'true' THEN true WHEN '1' THEN true WHEN 'vrai' THEN true "
                f"WHEN 'false' THEN false WHEN '0' THEN false WHEN 'faux' THEN false END)")
    if t == "date":
        return f"CAST({_strptime(column, v)} AS DATE)"
    if t == "timestamp":
        if column.timezone == "offset":
            return (f"(CASE WHEN regexp_matches({v}, '([+-][0-9]{{2}}:?[0-9]{{2}}|Z)$') "
                    f"THEN TRY_CAST({v} AS TIMESTAMPTZ) END)")
        return f"({_strptime(column, v)} AT TIME ZONE {quote_literal(column.timezone)})"
    if t == "coordinate":
        num = r"([-+]?[0-9]+(?:[.][0-9]*)?(?:[eE][-+]?[0-9]+)?)"
        if column.layout == "[lon, lat]":
            pattern, first = rf"^\[\s*{num}\s*,\s*{num}\s*\]$", "lon"
        else:
            pattern, first = rf"^{num}\s*,\s*{num}$", "lat"
        # both parts from one match: the same expression for the pair's two columns, computed once
        pair = f"regexp_extract({v}, {quote_literal(pattern)}, ['first', 'second'])"
        return f"TRY_CAST(nullif({pair}.{'first' if column.part == first else 'second'}, '') AS DOUBLE)"
    raise ValueError(f"unsupported column type {t}")


_EXPECTED = {
    "integer": "a whole number",
    "decimal": "a number",
    "boolean": "true/false",
    "date": "a date ({fmt})",
    "timestamp": "a date-time ({fmt})",
    "coordinate": "a coordinate pair {layout}",
}


Arm = tuple[str, str]      # (SQL condition, SQL struct {'code', 'column', 'value'} of the problem it finds)


def _problem(code: str, column: Column, value: str) -> str:
    return f"{{'code': {quote_literal(code)}, 'column': {quote_literal(column.name)}, 'value': {value}}}"


def _checks(column: Column, v: str, typed: str, departements: list[str], codes: bool, decimal: str) -> list[list[Arm]]:
    """The column's checks, each a list of arms (the first arm whose condition holds names the
    problem): over the text value ``v`` and its cast ``typed``."""
    checks: list[list[Arm]] = []
    if column.type in ("decimal", "integer") and decimal == ".":
        # a point-decimal feed with a comma (a spreadsheet in French locale): read, and said
        checks.append([(f"{typed} IS NOT NULL AND contains({v}, ',')", _problem("decimal_comma", column, v))])
    if column.type == "text" and not column.values and not column.digits:
        # a cell a spreadsheet would execute (=, +, -, @, tab, CR first; not a signed number): kept
        # as delivered, said, and neutralised in the hub's CSV files (publish/files.py)
        checks.append([(f"left({v}, 1) IN ({', '.join(quote_literal(c) for c in FORMULA_START)}) "
                        f"AND TRY_CAST(replace({v}, ',', '.') AS DOUBLE) IS NULL",
                        _problem("formula_like_text", column, v))])
    if column.type == "insee" and departements:
        checks.append([(_restorable(v, departements), _problem("restored_leading_zero", column, v))])
    if column.type == "text" and column.digits:
        checks.append([(_short_code(column, v), _problem("restored_leading_zero", column, v))])
    if column.type == "insee_list" and codes:
        checks.append([(f"{typed} IS NOT NULL AND NOT list_has_all((SELECT list(code) FROM ref.commune_codes), "
                        f"{typed})", _problem("unknown_insee_code", column, v))])
    if column.type == "insee" and codes:
        # an arrondissement, a commune déléguée or a former code: counted in its current commune
        checks.append([(f"{typed} IN (SELECT code FROM ref.commune_codes WHERE kind <> 'commune')",
                        _problem("mapped_insee_code", column, typed))])
    if column.required:
        checks.append([(f"{v} IS NULL", _problem("missing_value", column, "NULL"))])
    if column.type in _EXPECTED:
        checks.append([(f"{v} IS NOT NULL AND {typed} IS NULL", _problem(f"bad_{column.type}", column, v))])
    if column.type == "timestamp" and column.timezone == "Europe/Paris":
        local = _strptime(column, v)
        back = f"timezone('Europe/Paris', {typed})"
        one = f"timezone('Europe/Paris', ({local} - INTERVAL 1 HOUR) AT TIME ZONE 'UTC')"
        two = f"timezone('Europe/Paris', ({local} - INTERVAL 2 HOUR) AT TIME ZONE 'UTC')"
        checks.append([(f"{local} IS NOT NULL AND {back} <> {local}", _problem("nonexistent_local_time", column, v)),
                       (f"{local} IS NOT NULL AND {one} = {local} AND {two} = {local}",
                        _problem("ambiguous_local_time", column, v))])
    return checks


def _problems_sql(checks: list[list[Arm]]) -> str:
    """SQL: the list of a record's problems, empty when none. The checks' conditions are ORed
    first: most records have none, and building a list per record costs more than the test."""
    if not checks:
        return "[]"
    cases = ", ".join("CASE " + " ".join(f"WHEN {c} THEN {p}" for c, p in arms) + " END" for arms in checks)
    any_found = " OR ".join(f"({c})" for arms in checks for c, _ in arms)
    return f"CASE WHEN {any_found} THEN list_filter([{cases}], x -> x IS NOT NULL) ELSE [] END"


WARNINGS = {"restored_leading_zero", "mapped_insee_code", "decimal_comma", "formula_like_text"}

_MESSAGES = {
    "restored_leading_zero": "INSEE code {value!r} lost its leading zero; restored from the partner's département",
    "mapped_insee_code": "INSEE code {value!r} is {kind}; counted in the current commune {target} ({name})",
    "unknown_insee_code": "{value!r} holds a code that is not an INSEE commune code of the COG",
    "missing_value": "required value is empty",
    "decimal_comma": "{value!r} has a decimal comma where this format writes a point: read as {point}",
    "formula_like_text": "{value!r} starts like a spreadsheet formula: kept as delivered, prefixed with ' in the "
                         "hub's CSV files",
    "nonexistent_local_time": "{value!r} does not exist in Europe/Paris (skipped hour of the spring DST change)",
    "ambiguous_local_time": "{value!r} is ambiguous in Europe/Paris (repeated hour of the autumn DST change); deliver it with a UTC offset",
}


_KINDS = {"arrondissement": "a municipal arrondissement", "commune_deleguee": "a commune déléguée",
          "commune_associee": "a commune associée", "ancien_code": "a former code"}


def _message(code: str, column: Column, value: str | None, mapping: dict[str, tuple[str, str, str]]) -> str:
    if code == "mapped_insee_code" and value in mapping:
        target, kind, name = mapping[value]
        return _MESSAGES[code].format(value=value, kind=_KINDS.get(kind, kind), target=target, name=name)
    if code == "restored_leading_zero" and column.digits:
        return (f"{value!r} lost its leading zero (a code of {column.digits} digits); restored as "
                f"{value.zfill(column.digits)!r}")
    if code in _MESSAGES:
        return _MESSAGES[code].format(value=value, point=(value or "").replace(",", "."))
    width = _compact_width(column.format)
    fmt = (column.format or "ISO 8601 with offset") + (f", {width} digits" if width else "")
    expected = _EXPECTED[column.type].format(fmt=fmt, layout=column.layout)
    return f"{value!r} is not {expected}"


def has_commune_codes(con: duckdb.DuckDBPyConnection) -> bool:
    """The COG's code table is loaded in this warehouse (mapped codes can be named)."""
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'ref' "
                            "AND table_name = 'commune_codes'").fetchone()[0])


def typed_select(spec: FormatSpec, present: set[str], departements: list[str] = (), codes: bool = False,
                 source: str = "src") -> str:
    """The SQL (over relation ``source`` of text columns and ``_line``) producing typed columns and ``_problems``.

    An inner SELECT computes each text value and its cast once; the outer one checks them.
    """
    inner, outer, checks = ["_line"], ["_line AS _source_line"], []
    for i, column in enumerate(spec.columns):
        text, typed = f"_v{i}", f"_t{i}"
        inner.append(f"{_value(column, present, spec.missing_values)} AS {text}")
        inner.append(f"CAST({_typed(column, text, list(departements))} AS {column.sql_type}) AS {typed}")
        outer.append(f"{typed} AS {quote_ident(column.name)}")
        checks.extend(_checks(column, text, typed, list(departements), codes, spec.decimal))
    outer.append(f"{_problems_sql(checks)} AS _problems")
    return ("SELECT " + ",\n  ".join(outer) + "\nFROM (SELECT " + ",\n  ".join(inner) + f"\nFROM {quote_ident(source)})")


def _mappings(con: duckdb.DuckDBPyConnection, values: list[str]) -> dict[str, tuple[str, str, str]]:
    if not values:
        return {}
    rows = con.execute("SELECT cc.code, cc.code_commune, cc.kind, c.nom_commune FROM ref.commune_codes cc "
                       "JOIN ref.communes c ON c.code_commune = cc.code_commune AND c.type_commune = 'commune-actuelle' "
                       "WHERE cc.code IN (SELECT unnest(?::VARCHAR[]))", [sorted(set(values))]).fetchall()
    return {code: (target, kind, name) for code, target, kind, name in rows}


def stage_delivery(con: duckdb.DuckDBPyConnection, source: str, spec: FormatSpec, staged: str,
                   departements: list[str] = ()) -> None:
    """Create temp table ``staged`` with typed columns and ``_problems`` from the text columns of
    relation ``source`` (what containers other than CSV give)."""
    present = {row[0] for row in con.execute(f"DESCRIBE {quote_ident(source)}").fetchall()}
    con.execute(f"CREATE OR REPLACE TEMP TABLE {quote_ident(staged)} AS "
                f"{typed_select(spec, present, departements, has_commune_codes(con), source)}")


def staged_problems(con: duckdb.DuckDBPyConnection, spec: FormatSpec, staged: str,
                    keep_bad_rows: bool = False) -> list[Problem]:
    """Reject the delivery typed in ``staged`` on any error, or, with ``keep_bad_rows``, keep the bad
    records in it (their ``_problems`` say why) and return their errors with the warnings.

    Returns the warnings (values the hub corrected, e.g. a restored leading zero).
    """
    by_name = {c.name: c for c in spec.columns}
    warning_codes = "[" + ", ".join(quote_literal(c) for c in sorted(WARNINGS)) + "]"
    every = f"(SELECT _source_line, unnest(_problems) AS p FROM {quote_ident(staged)} WHERE len(_problems) > 0)"
    # one count of both kinds first: most deliveries have neither, and then that is all
    counted = dict(con.execute(f"SELECT list_contains({warning_codes}, p.code), count(*) FROM {every} "
                               f"GROUP BY ALL").fetchall())

    def found(errors: bool) -> tuple[list[Problem], int]:
        total = counted.get(not errors, 0)
        if not total:
            return [], 0
        keep = "NOT" if errors else ""
        rows = con.execute(f"SELECT _source_line, p.code, p.column, p.value FROM {every} "
                           f"WHERE {keep} list_contains({warning_codes}, p.code) "
                           f"ORDER BY _source_line LIMIT {MAX_PROBLEMS}").fetchall()
        severity = "error" if errors else "warning"
        mapping = _mappings(con, [value for _, code, _, value in rows if code == "mapped_insee_code"])
        return [
            Problem(code, _message(code, by_name[col], value, mapping), line=line, column=by_name[col].source,
                    value=value, severity=severity)
            for line, code, col, value in rows
        ], total

    problems, total = found(errors=True)
    if problems:
        if total > len(problems):
            problems.append(Problem("more_problems", f"{total} problems in all; the first {len(problems)} are listed"))
        if not keep_bad_rows:
            raise DeliveryRejected(problems)
    warnings, total = found(errors=False)
    if total > len(warnings):
        warnings.append(Problem("more_problems", f"{total} warnings in all; the first {len(warnings)} are listed",
                                severity="warning"))
    return (problems if keep_bad_rows else []) + warnings


def bad_records_sql(spec: FormatSpec, staged: str) -> str:
    """SQL: each record of ``staged`` with an error, its line and its first error (code, the
    delivered column's name, the value)."""
    warning_codes = "[" + ", ".join(quote_literal(c) for c in sorted(WARNINGS)) + "]"
    source = " ".join(f"WHEN {quote_literal(c.name)} THEN {quote_literal(c.source)}" for c in spec.columns)
    return (f"SELECT _source_line AS line, errors[1].code AS code, CASE errors[1].column {source} END AS column_name, "
            f"errors[1].value AS value FROM (SELECT _source_line, list_filter(_problems, "
            f"x -> NOT list_contains({warning_codes}, x.code)) AS errors FROM {quote_ident(staged)}) "
            f"WHERE len(errors) > 0")
