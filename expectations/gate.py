"""Where the suites decide: a delivery is loaded, flagged or quarantined; a mart is publishable or not.

Deliveries are validated one at a time, right after parsing and before they reach ``raw`` (the
loader calls :func:`validate_delivery`), inside DuckDB (``engine.py``).
Marts are validated after each build (:func:`validate_mart`), inside DuckDB too; only a mart whose critical
expectations all pass is copied to the ``publication`` schema (:func:`approve_mart`), the one
place the portal and the analysts' snapshot read from.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from territoire_hub.expectations import deliveries, engine, marts, store
from territoire_hub.expectations.results import (
    MAX_LISTED,
    ensure_quality_tables,
    failures,
    problems_by_subject,
    record_validation,
)
from territoire_hub.expectations.runtime import QualityContext
from territoire_hub.expectations.suites import CRITICAL, Suite
from territoire_hub.memory import release_freed_memory
from territoire_hub.problems import Problem, Verdict
from territoire_hub.registry import PartnerDataset
from territoire_hub.warehouse import quote_ident, unordered

PUBLICATION_SCHEMA = "publication"
# failing rows named per critical expectation and delivery: each is a record to set aside (quarantine:
# rows); beyond, the delivery is refused as a whole. A warning names only the rows a report lists.
LISTED_CRITICAL = 50_000
ROW_INDEX = ["_delivery_id", "_period", "_source_line"]
LOCATION_INDEX = ROW_INDEX + ["latitude", "longitude", "code", "commune"]
# what names a failing row of the days suite (those of its columns the dataset's checks have)
DAY_INDEX = ("_delivery_id", "_period", "_source_line", "entity", "day", "present", "expected", "consumption", "usual")


# -- deliveries ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Staged:
    """A parsed delivery waiting for its verdict: temp table ``staged`` with its rows."""

    delivery_id: str
    staged: str
    period: str
    rows: int


def _checks(entry: PartnerDataset, item: Staged) -> list[tuple[Suite, str, list, list[str] | None]]:
    """(suite, SQL of the rows it judges, its parameters, the columns naming a failing row) for
    each of the dataset's suites, on one delivery."""
    bounds = deliveries.period_bounds(entry, item.period) or {}
    period = bounds.get("period", item.period)
    checks = [(deliveries.rows_suite(entry), deliveries.rows_sql(entry, item.staged),
               [item.delivery_id, period, bounds.get("period_start"), bounds.get("period_end")],
               ROW_INDEX + ([entry.spec.event_time] if entry.spec.event_time else []))]
    days = deliveries.days_suite(entry)
    sql = deliveries.days_sql(entry, item.staged, bounds or None) if days is not None else None
    if sql is not None:
        checks.append((days, sql, [item.delivery_id, item.period], None))
    located = deliveries.located_sql(entry, item.staged)
    if located is not None:
        checks.append((deliveries.locations_suite(entry), deliveries.locations_sql(located),
                       [item.delivery_id, item.period], LOCATION_INDEX))
    return checks


def validate_delivery(con: duckdb.DuckDBPyConnection, quality: QualityContext, entry: PartnerDataset,
                      item: Staged, run_id: str) -> Verdict:
    """Run the dataset's suites on a parsed delivery, inside DuckDB (``engine.py``: one aggregate
    pass per suite, then the failing rows only), store each result for the Data Docs, and return
    the delivery's verdict. The quality tables exist (:func:`ensure_quality_tables`, once per batch)."""
    run_name = f"{run_id}_{entry.key}"
    problems: list[Problem] = []
    lines: dict[int, Problem] = {}
    whole = False
    with unordered(con):    # once for the suites: each switch costs two statements
        for suite, sql, params, index in _checks(entry, item):
            # the suite's rows are never materialised: one aggregate pass over the query, then a pass
            # per failing expectation for its rows (in line order)
            if index is None:
                columns = [r[0] for r in con.execute(f"DESCRIBE {sql}", params).fetchall()]
                index = [c for c in DAY_INDEX if c in columns]
            outcome = engine.evaluate(con, suite.expectations, "validated", index, sql=sql, params=params,
                                      listed=LISTED_CRITICAL, listed_warnings=MAX_LISTED)
            key = store.write_result(quality.root, suite, outcome, run_name=run_name) if quality.root else None
            validation = store.Validation(suite.name, outcome, key)
            found = failures(validation)
            record_validation(con, validation, found, run_id=run_id, subject_type="delivery",
                              subjects={item.delivery_id: item.rows}, partner_id=entry.partner.id)
            problems += problems_by_subject(found, [item.delivery_id], totals=_totals(outcome))[item.delivery_id]
            # a failure on a day or an entity names the day's first line, but is not that line's
            row_level = deliveries.judges_records(suite.name)
            for failure in found:
                if failure.problem.severity != "error":
                    continue
                if row_level and failure.problem.line is not None:
                    lines.setdefault(failure.problem.line, failure.problem)
                else:
                    whole = True
            for check, count in _unlisted(outcome):
                whole = True
                problems.append(Problem(check, f"{count:,} records fail {check!r}: more than the {LISTED_CRITICAL:,} "
                                        "set aside one by one, the delivery is refused as a whole"))
            release_freed_memory()
    return Verdict(_name_postal_codes(con, list(dict.fromkeys(problems))), lines, whole)


def _totals(outcome) -> dict[str, int]:
    """Failing rows per check, counted (the listed rows may be fewer)."""
    totals: dict[str, int] = {}
    for o in outcome.results:
        check = o.expectation_config.meta.get("check", o.expectation_config.type)
        totals[check] = totals.get(check, 0) + (o.result.get("unexpected_count") or 0)
    return totals


def _unlisted(outcome) -> list[tuple[str, int]]:
    """Critical checks with more failing rows than were listed."""
    return [(o.expectation_config.meta.get("check", o.expectation_config.type), o.result["unexpected_count"])
            for o in outcome.results
            if not o.success and o.expectation_config.severity == CRITICAL
            and (o.result.get("unexpected_count") or 0) > len(o.result.get("unexpected_index_list") or [])]


def _name_postal_codes(con: duckdb.DuckDBPyConnection, problems: list[Problem]) -> list[Problem]:
    """An unknown INSEE code that is a postal code says so (the usual mix-up)."""
    named = []
    for p in problems:
        if p.code == "unknown_insee_code" and p.value:
            row = con.execute("SELECT string_agg(code_commune, ', ' ORDER BY code_commune) FROM ref.postal_codes "
                              "WHERE code_postal = ?", [p.value]).fetchone()
            if row and row[0]:
                p = Problem(p.code, f"{p.message}; it is a postal code (INSEE code {row[0]})", line=p.line,
                            column=p.column, value=p.value, severity=p.severity)
        named.append(p)
    return named


# -- marts -----------------------------------------------------------------------------------------

def upstream_flags(con: duckdb.DuckDBPyConnection, datasets: list[str]) -> list[str]:
    """Warnings on the current deliveries of these datasets: they travel with the mart."""
    if not datasets:
        return []
    rows = con.execute(
        """
        SELECT d.dataset_key || ' ' || d.period || ': ' || i.code || ' ×' || count(*)
        FROM landing.deliveries d JOIN landing.issues i USING (delivery_id)
        WHERE d.status IN ('loaded', 'partial') AND d.superseded_by IS NULL AND i.severity = 'warning'
          AND d.dataset_key IN (SELECT unnest(?::VARCHAR[]))
        GROUP BY d.dataset_key, d.period, i.code ORDER BY 1
        """, [datasets]).fetchall()
    return [r[0] for r in rows]


def validate_mart(con: duckdb.DuckDBPyConnection, quality: QualityContext, name: str, run_id: str,
                  datasets: list[str] = ()) -> "MartVerdict":
    """Run the mart's suites and record the verdict in ``quality.mart_gate``."""
    ensure_quality_tables(con)
    problems: list[Problem] = []
    for suite, sql, index in marts.checks(con, name):
        # as a delivery's: one aggregate pass inside DuckDB, then the failing rows only
        with unordered(con):
            outcome = engine.evaluate(con, suite.expectations, name, index, sql=sql, listed=MAX_LISTED)
        key = store.write_result(quality.root, suite, outcome, run_name=f"{run_id}_{name}") if quality.root else None
        validation = store.Validation(suite.name, outcome, key)
        found = failures(validation)
        record_validation(con, validation, found, run_id=run_id, subject_type="mart", subjects={name: outcome.rows})
        problems += problems_by_subject(found, [name], totals=_totals(outcome))[name]
    critical = sorted({f"{p.code}: {p.message}" for p in problems if p.severity == "error"})
    warnings = sorted({f"{p.code}: {p.message}" for p in problems if p.severity == "warning"})
    flags = upstream_flags(con, list(datasets))
    verdict = MartVerdict(name, run_id, publishable=not critical, critical=critical, warnings=warnings,
                          upstream_flags=flags)
    con.execute("INSERT INTO quality.mart_gate VALUES (?, ?, now(), ?, ?, ?, ?)",
                [name, run_id, verdict.publishable, critical[:200], warnings[:200], flags[:200]])
    return verdict


def is_publishable(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """The mart's latest validation passed every critical expectation."""
    ensure_quality_tables(con)
    row = con.execute("SELECT publishable FROM quality.mart_status WHERE mart = ?", [name]).fetchone()
    return bool(row and row[0])


def approve_mart(con: duckdb.DuckDBPyConnection, name: str) -> int:
    """Copy a publishable mart to ``publication.<mart>`` (what the portal and analysts read).

    A mart that is not publishable leaves its previous approved copy untouched."""
    if not is_publishable(con, name):
        raise GateClosed(f"marts.{name} failed a critical expectation in its latest validation: not published")
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {PUBLICATION_SCHEMA}")
    con.execute(f"CREATE OR REPLACE TABLE {PUBLICATION_SCHEMA}.{quote_ident(name)} AS "
                f"SELECT * FROM marts.{quote_ident(name)}")
    return con.execute(f"SELECT count(*) FROM {PUBLICATION_SCHEMA}.{quote_ident(name)}").fetchone()[0]


def gate_marts(con: duckdb.DuckDBPyConnection, quality: QualityContext, run_id: str,
               datasets_of: dict[str, list[str]] | None = None) -> list["MartVerdict"]:
    """Validate every built mart; approve those that pass (the CLI's path; Dagster runs the same
    two steps as a blocking asset check and a downstream asset)."""
    built = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'").fetchall()}
    verdicts = []
    for name in marts.MARTS:
        if name not in built:
            continue
        verdict = validate_mart(con, quality, name, run_id, (datasets_of or {}).get(name, []))
        if verdict.publishable:
            approve_mart(con, name)
        verdicts.append(verdict)
    return verdicts


class GateClosed(Exception):
    """A mart that failed a critical expectation was asked to be published."""


class MartVerdict:
    def __init__(self, mart: str, run_id: str, *, publishable: bool, critical: list[str], warnings: list[str],
                 upstream_flags: list[str]):
        self.mart, self.run_id, self.publishable = mart, run_id, publishable
        self.critical, self.warnings, self.upstream_flags = critical, warnings, upstream_flags

    def __repr__(self) -> str:
        return f"MartVerdict({self.mart!r}, publishable={self.publishable}, critical={len(self.critical)})"
