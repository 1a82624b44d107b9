"""The files of a published table: CSV, Parquet, Table Schema, chart — written deterministically,
so the same data gives the same bytes (and the same checksum: nothing to re-upload).

CSV: UTF-8, header, ``,`` separator, ``.`` decimal point, empty cell for a missing value; a text
cell a spreadsheet would execute (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return)
is prefixed with ``'``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from territoire_hub.names import FORMULA_PATTERN

SEPARATOR = ","
DEFAULT_DECIMALS = 6   # a float column without a declared precision: no 101.14999999999999 in a CSV


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def neutralised(table: pa.Table) -> pa.Table:
    """``table`` with every text cell a spreadsheet would execute prefixed with ``'``: what the CSV
    holds, and so what the DataStore loaded from it serves (and CKAN's own CSV dump of it)."""
    for i, field in enumerate(table.schema):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            column = table.column(i)
            flagged = pc.match_substring_regex(column, FORMULA_PATTERN)
            table = table.set_column(i, field, pc.if_else(flagged, pc.binary_join_element_wise("'", column, ""),
                                                          column))
    return table


def settled(table: pa.Table, key: list[str], precision: dict[str, int]) -> pa.Table:
    """``table`` as published, the same bytes for the same data whatever order or last float bits
    the warehouse produced it in: floats rounded to their declared precision (``DEFAULT_DECIMALS``
    otherwise), rows sorted by ``key`` then every other column."""
    for i, field in enumerate(table.schema):
        if pa.types.is_floating(field.type):
            # half away from zero, as DuckDB's round() and the usual statistical convention
            rounded = pc.round(table.column(i), precision.get(field.name, DEFAULT_DECIMALS),
                               round_mode="half_towards_infinity")
            table = table.set_column(i, field, rounded.cast(field.type))
    order = [*key, *(c for c in table.column_names if c not in key)]
    return table.sort_by([(c, "ascending") for c in order])   # (missing values last)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if value == value else ""
    return str(value)


def write_csv(table: pa.Table, path: Path) -> Path:
    table = neutralised(table)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=SEPARATOR, lineterminator="\n")
    writer.writerow(table.column_names)
    for row in zip(*(table.column(i).to_pylist() for i in range(table.num_columns))):
        writer.writerow([_cell(v) for v in row])
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def write_parquet(table: pa.Table, path: Path) -> Path:
    pq.write_table(table, path, compression="zstd", write_statistics=True, store_schema=True)
    return path


_FRICTIONLESS_TYPES = [
    (pa.types.is_boolean, "boolean"), (pa.types.is_integer, "integer"), (pa.types.is_floating, "number"),
    (pa.types.is_decimal, "number"), (pa.types.is_date, "date"), (pa.types.is_timestamp, "datetime"),
]


def table_schema(table: pa.Table, descriptions: dict[str, str], primary_key: list[str]) -> dict:
    """A Frictionless Table Schema (validated by the frictionless library) for the CSV."""
    from frictionless import Schema

    fields = []
    for f in table.schema:
        kind = next((name for test, name in _FRICTIONLESS_TYPES if test(f.type)), "string")
        field = {"name": f.name, "type": kind}
        if descriptions.get(f.name):
            field["description"] = descriptions[f.name]
        fields.append(field)
    descriptor = {"fields": fields, "missingValues": [""], "primaryKey": primary_key}
    Schema.from_descriptor(descriptor)          # raises if the descriptor is not a valid Table Schema
    return descriptor


def write_schema(descriptor: dict, path: Path) -> Path:
    path.write_text(json.dumps(descriptor, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


SECRET_NOTE, ABSENT_NOTE = "secret statistique", "pas de données"


@dataclass(frozen=True)
class ChartPlan:
    """What a chart shows: its title, unit, year and bars (name, value, note), largest first."""

    title: str
    unit: str
    year: int | None
    bars: list[tuple[str, float | None, str]]


def chart_plan(con: duckdb.DuckDBPyConnection, relation: str, measure: str, label: str, unit: str,
               where: str) -> ChartPlan:
    """The EPCIs of the territory, latest year with a value: largest first, then the cells without
    one — "secret statistique" when the cell is under secrecy (its ``secret_statistique`` column),
    "pas de données" when there is simply nothing."""
    columns = [c[0] for c in con.execute(f"DESCRIBE {relation}").fetchall()]
    has_year = "annee" in columns
    secret = "secret_statistique" if "secret_statistique" in columns else "NULL"
    year_filter = (f"AND annee = (SELECT max(annee) FROM {relation} WHERE niveau = 'epci' AND {measure} IS NOT NULL "
                   f"AND {where})" if has_year else "")
    rows = con.execute(
        f"SELECT nom_territoire, {measure}, {'annee' if has_year else 'NULL'}, {secret} FROM {relation} "
        f"WHERE niveau = 'epci' AND {where} {year_filter} "
        f"ORDER BY {measure} DESC NULLS LAST, nom_territoire").fetchall()
    bars = [(name, None if value is None else float(value),
             "" if value is not None else SECRET_NOTE if status else ABSENT_NOTE) for name, value, _, status in rows]
    year = next((r[2] for r in rows if r[2] is not None), None)
    return ChartPlan(f"{label} — EPCI du territoire" + (f", {year}" if year else ""), unit, year, bars)


def french_number(value: float) -> str:
    """Three significant digits or more, French style: 1 234,5 · 12,3 · 0,085."""
    size = abs(value)
    decimals = 0 if size >= 100 else 1 if size >= 10 else 2 if size >= 1 or size == 0 else 3
    return f"{value:,.{decimals}f}".replace(",", "\u202f").replace(".", ",")


def write_chart(plan: ChartPlan, path: Path) -> Path:
    """Horizontal bars, largest on top, each labelled with its value or why it has none."""
    import textwrap

    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 0.55 * max(len(plan.bars), 1) + 1.6), dpi=100)
    names = [textwrap.fill(b[0], 34) for b in plan.bars]
    values = [b[1] or 0.0 for b in plan.bars]
    axes.barh(names, values, color="#1f5fa8")
    for y, (_, value, note) in enumerate(plan.bars):
        text = f" {note}" if value is None else f" {french_number(value)}"
        axes.text(value or 0.0, y, text, va="center", fontsize=9, color="#555555" if value is None else "black")
    axes.set_title(textwrap.fill(plan.title, 70), fontsize=11, loc="left")
    axes.set_xlabel(plan.unit)
    axes.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: french_number(x)))
    axes.invert_yaxis()
    axes.spines[["top", "right"]].set_visible(False)
    if values and max(values) > 0:
        axes.set_xlim(0, max(values) * 1.25)        # room for the labels right of the longest bar
    figure.tight_layout()
    figure.savefig(path, format="png", metadata={"Software": None})   # no timestamp: same data, same bytes
    plt.close(figure)
    return path
