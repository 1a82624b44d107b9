"""The delivery suites' expectations evaluated inside DuckDB, with Great Expectations' semantics.

GX validates pandas frames: every row of a delivery crosses Arrow into pandas, and importing GX
costs ~230 MiB and seconds in every ingesting process (bench/README.md, hostile section). The
expectations of the delivery suites are all set-based; this module evaluates them in one
aggregate pass over a DuckDB relation — a table, or a query never materialised (the counts of
every expectation), then fetches only the failing rows, and answers in the shape GX's ``ExpectationSuiteValidationResult`` has (``success``,
``results[i].expectation_config`` / ``.result`` / ``.exception_info``), with GX's rules:

* a column-map expectation ignores missing values (NULL; NaN in a float column, as pandas does),
  except ``expect_column_values_to_not_be_null`` which counts them;
* ``mostly``: the share of non-missing values that must pass (1 by default);
* ``expect_column_pair_values_a_to_be_greater_than_b`` with ``ignore_row_if`` either/both missing;
* ``expect_compound_columns_to_be_unique``: every row of a key delivered twice fails (NULLs of a key
  equal, as pandas' ``duplicated``); rows whose key is all missing are ignored by default;
* ``row_condition`` (the hub's clauses, ``suites.py``): the expectation judges the matching rows only.

Expectations are read through ``type``, ``kwargs``, ``meta`` and ``severity``: the hub's plain
``suites.Expectation`` (what ``hub ingest`` evaluates), or GX's ``ExpectationConfiguration``. ``tests/expectations/
test_engine.py`` holds it equal to GX's pandas engine on the hub's suites.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from territoire_hub.warehouse import quote_ident, quote_literal

FLOAT_TYPES = {"DOUBLE", "FLOAT", "REAL"}
NO_ROW = "false"          # the rows a rule ignores when it ignores none
COMPOUND = "expect_compound_columns_to_be_unique"
MAP_TYPES = {"expect_column_values_to_not_be_null", "expect_column_values_to_be_between",
             "expect_column_values_to_be_in_set", "expect_column_values_to_be_insee_communes",
             "expect_column_pair_values_a_to_be_greater_than_b", COMPOUND}
SUPPORTED = MAP_TYPES | {"expect_table_columns_to_match_set"}


class Unsupported(ValueError):
    """An expectation type this engine does not evaluate (GX's pandas engine still does)."""


@dataclass(frozen=True)
class Outcome:
    """One expectation's result, as GX's ``ExpectationValidationResult`` names its parts."""

    success: bool
    expectation_config: Any
    result: dict[str, Any]
    exception_info: dict[str, Any] = field(default_factory=lambda: {"raised_exception": False})


@dataclass(frozen=True)
class SuiteOutcome:
    success: bool
    results: list[Outcome]
    rows: int = 0                      # the rows evaluated (before any row condition)


@dataclass(frozen=True)
class Source:
    """What the rows come from: SQL for a FROM clause, and the values of its placeholders."""

    sql: str
    params: list[Any]


@dataclass(frozen=True)
class _Plan:
    """An expectation as SQL: the rows it judges (``where``), among them those it ignores
    (``missing``) and those that fail it (``bad``, with ``params`` for its placeholders)."""

    config: Any
    columns: list[str]
    missing: str
    bad: str
    params: list[Any]
    where: str = "true"

    @property
    def ignores_missing(self) -> bool:
        """``expect_column_values_to_not_be_null`` (and a pair rule ignoring no row) count every row."""
        return self.missing != NO_ROW


def _missing(column: str, types: dict[str, str]) -> str:
    q = quote_ident(column)
    return f"({q} IS NULL OR isnan({q}))" if types[column] in FLOAT_TYPES else f"({q} IS NULL)"


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return quote_literal(str(value))


def _where(clauses) -> str:
    """The hub's row condition (``suites.py``: ``==`` a value, ``is_null``) as SQL."""
    tests = [f"{quote_ident(column)} IS NULL" if operator == "is_null" else f"{quote_ident(column)} = {_literal(value)}"
             for column, operator, value in clauses or ()]
    return " AND ".join(tests) or "true"


def _group_size(n: int) -> str:
    return f"__group_size_{n}"


def _plan(config, types: dict[str, str], n: int) -> _Plan:
    """Expectation ``config`` as SQL; a compound key's rule reads the size of its key's group,
    column ``_group_size(n)`` (``evaluate`` adds it)."""
    plan = _plan_of(config, types, n)
    return _Plan(plan.config, plan.columns, plan.missing, plan.bad, plan.params,
                 _where(config.kwargs.get("row_condition")))


def _plan_of(config, types: dict[str, str], n: int) -> _Plan:
    kind, kw = config.type, config.kwargs
    if kind == COMPOUND:
        columns = list(kw["column_list"])
        ignore = kw.get("ignore_row_if") or "all_values_are_missing"
        joiner = " AND " if ignore == "all_values_are_missing" else " OR "
        missing = NO_ROW if ignore == "never" else "(" + joiner.join(_missing(c, types) for c in columns) + ")"
        return _Plan(config, columns, missing, f"{quote_ident(_group_size(n))} > 1", [])
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = kw["column_A"], kw["column_B"]
        ignore = kw.get("ignore_row_if") or "both_values_are_missing"
        joiner = " OR " if ignore == "either_value_is_missing" else " AND "
        missing = NO_ROW if ignore == "neither" else f"({_missing(a, types)}{joiner}{_missing(b, types)})"
        op = ">=" if kw.get("or_equal") else ">"
        return _Plan(config, [a, b], missing, f"NOT coalesce({quote_ident(a)} {op} {quote_ident(b)}, false)", [])
    column = kw["column"]
    q, missing = quote_ident(column), _missing(column, types)
    if kind == "expect_column_values_to_not_be_null":
        return _Plan(config, [column], NO_ROW, missing, [])
    if kind == "expect_column_values_to_be_between":
        tests, params = [], []
        if kw.get("min_value") is not None:
            tests.append(f"{q} {'>' if kw.get('strict_min') else '>='} ?")
            params.append(kw["min_value"])
        if kw.get("max_value") is not None:
            tests.append(f"{q} {'<' if kw.get('strict_max') else '<='} ?")
            params.append(kw["max_value"])
        return _Plan(config, [column], missing, f"NOT ({' AND '.join(tests) or 'true'})", params)
    if kind == "expect_column_values_to_be_in_set":
        return _Plan(config, [column], missing, f"{q} NOT IN (SELECT unnest(?))", [list(kw["value_set"])])
    if kind == "expect_column_values_to_be_insee_communes":
        return _Plan(config, [column], missing,
                     f"CAST({q} AS VARCHAR) NOT IN (SELECT code_commune FROM ref.communes)", [])
    raise Unsupported(f"{kind} is not evaluated in DuckDB")


def evaluate(con: duckdb.DuckDBPyConnection, expectations: list, table: str, index_columns: list[str], *,
             sql: str | None = None, params: list | None = None,
             listed: int = 100_000, listed_warnings: int | None = None) -> SuiteOutcome:
    """Evaluate ``expectations`` over the table ``table``, or over the rows of query ``sql`` (with
    its ``params``; ``table`` then only names it). Each failure lists up to ``listed`` failing rows
    (``listed_warnings`` for an expectation of severity ``warning``, when given) — their
    ``index_columns`` and the expectation's columns, in the order of ``index_columns``; the
    counts are always exact."""
    source = Source(f"({sql}) AS {quote_ident(table)}" if sql is not None else quote_ident(table), list(params or []))
    described = con.execute(f"DESCRIBE SELECT * FROM {source.sql}", source.params).fetchall()
    types = {name: str(kind).split("(")[0] for name, kind, *_ in described}
    results: list[Outcome | None] = []
    plans: list[tuple[int, _Plan]] = []
    for config in expectations:
        if config.type not in SUPPORTED:
            raise Unsupported(f"{config.type} is not evaluated in DuckDB")
        if config.type == "expect_table_columns_to_match_set":
            wanted, observed = set(config.kwargs["column_set"]), sorted(types)
            exact = config.kwargs.get("exact_match", True)
            ok = wanted == set(observed) if exact else wanted <= set(observed)
            results.append(Outcome(ok, config, {"observed_value": observed}))
            continue
        absent = [c for c in _columns(config) if c not in types]
        if absent:
            results.append(Outcome(False, config, {}, {
                "raised_exception": True,
                "exception_message": f'Error: The column "{absent[0]}" in BatchData does not exist.'}))
            continue
        plans.append((len(results), _plan(config, types, len(plans))))
        results.append(None)
    sizes = [f"count(*) OVER (PARTITION BY {', '.join(quote_ident(c) for c in p.columns)}) AS {quote_ident(_group_size(n))}"
             for n, (_, p) in enumerate(plans) if p.config.type == COMPOUND]
    if sizes:          # each compound key's group size beside its rows (a window: marts are small)
        source = Source(f"(SELECT *, {', '.join(sizes)} FROM {source.sql}) AS {quote_ident(table)}", source.params)
    counts = "".join(f", count(*) FILTER (WHERE {p.where}), count(*) FILTER (WHERE {p.where} AND {p.missing}), "
                     f"count(*) FILTER (WHERE {p.where} AND NOT {p.missing} AND {p.bad})" for _, p in plans)
    params = [v for _, p in plans for v in p.params]   # in the order of the placeholders
    row = con.execute(f"SELECT count(*){counts} FROM {source.sql}", params + source.params).fetchone()
    for n, (position, plan) in enumerate(plans):
        total, missing, unexpected = row[1 + 3 * n: 4 + 3 * n]
        limit = listed_warnings if listed_warnings is not None and _severity(plan.config) == "warning" else listed
        results[position] = _outcome(con, plan, source, index_columns, total, missing, unexpected, limit)
    done = [r for r in results if r is not None]
    return SuiteOutcome(all(r.success for r in done), done, row[0])


def _severity(config) -> str:
    return str(getattr(config.severity, "value", config.severity) or "critical")   # GX's is an enum


def _columns(config) -> list[str]:
    kw = config.kwargs
    columns = list(kw["column_list"]) if "column_list" in kw else \
        [kw["column_A"], kw["column_B"]] if "column_A" in kw else [kw["column"]]
    return columns + [column for column, _, _ in kw.get("row_condition") or ()]


def _outcome(con, plan: _Plan, source: "Source", index_columns: list[str], total: int, missing: int, unexpected: int,
             listed: int) -> Outcome:
    kw = plan.config.kwargs
    considered = total - missing if plan.ignores_missing else total
    mostly = kw.get("mostly", 1.0)
    success = considered == 0 or (considered - unexpected) / considered >= mostly
    shown = list(dict.fromkeys(index_columns + plan.columns))
    rows: list[dict[str, Any]] = []
    if unexpected:
        select = ", ".join(quote_ident(c) for c in shown)
        order = ", ".join(quote_ident(c) for c in index_columns) or "ALL"
        cursor = con.execute(f"SELECT {select} FROM {source.sql} WHERE {plan.where} AND NOT {plan.missing} AND {plan.bad} "
                             f"ORDER BY {order} LIMIT {int(listed)}", source.params + plan.params)
        rows = [dict(zip(shown, values)) for values in cursor.fetchall()]
    # the first failing values, as GX lists them for its Data Docs (a pair rule: [A, B]; a
    # compound key: {column: value}, counted as [values])
    compound = plan.config.type == COMPOUND
    values = [{c: row[c] for c in plan.columns} if compound else row[plan.columns[0]] if len(plan.columns) == 1
              else [row[c] for c in plan.columns] for row in rows[:20]]
    counted: dict[str, tuple[Any, int]] = {}
    for value in values:
        value = list(value.values()) if compound else value
        seen = counted.get(repr(value), (value, 0))
        counted[repr(value)] = (value, seen[1] + 1)
    missing_count = missing if plan.ignores_missing else 0
    result = {"element_count": total, "missing_count": missing_count,
              "missing_percent": 100.0 * missing_count / total if total else None,
              "unexpected_count": unexpected,
              "unexpected_percent": 100.0 * unexpected / considered if considered else None,
              "unexpected_percent_total": 100.0 * unexpected / total if total else None,
              "unexpected_percent_nonmissing": 100.0 * unexpected / considered if considered else None,
              "partial_unexpected_list": values,
              "partial_unexpected_counts": [{"value": v, "count": n}
                                            for v, n in sorted(counted.values(), key=lambda vn: -vn[1])],
              "unexpected_index_column_names": index_columns, "unexpected_index_list": rows,
              "partial_unexpected_index_list": rows[:20]}
    return Outcome(success, plan.config, result)
