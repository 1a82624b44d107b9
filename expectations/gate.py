"""Where the suites decide: a delivery is loaded, flagged or quarantined; a mart is publishable or not.

Deliveries are validated right after parsing and before they reach ``raw``, a dataset's pending
deliveries together (the loader calls :func:`validate_deliveries`); each keeps its own verdict.
Marts are validated after each build (:func:`validate_mart`); only a mart whose critical
expectations all pass is copied to the ``publication`` schema (:func:`approve_mart`), the one
place the portal and the analysts' snapshot read from.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from territoire_hub.expectations import deliveries, marts
from territoire_hub.expectations.custom import use_cog
from territoire_hub.expectations.results import (
    ensure_quality_tables,
    failures,
    problems_by_subject,
    record_validation,
)
from territoire_hub.expectations.runtime import QualityContext
from territoire_hub.memory import release_freed_memory
from territoire_hub.problems import Problem, Verdict
from territoire_hub.registry import PartnerDataset
from territoire_hub.warehouse import quote_ident, unordered

PUBLICATION_SCHEMA = "publication"
VALIDATED_ROWS = 50_000    # rows in one validation: a large file costs time, not memory
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


def validate_deliveries(con: duckdb.DuckDBPyConnection, quality: QualityContext, entry: PartnerDataset,
                        batch: list[Staged], run_id: str) -> dict[str, Verdict]:
    """Run the dataset's suites on a batch of parsed deliveries (each suite over the whole batch,
    a slice of VALIDATED_ROWS rows at a time); return each delivery's verdict."""
    ensure_quality_tables(con)
    use_cog(con)
    run_name = f"{run_id}_{entry.key}"
    rows_parts, days_parts, params, days_params = [], [], [], []
    locations_parts, locations_params = [], []
    days_suite = deliveries.days_suite(entry)
    locations_suite = deliveries.locations_suite(entry)
    for item in batch:
        bounds = deliveries.period_bounds(entry, item.period) or {}
        rows_parts.append(deliveries.rows_sql(entry, item.staged))
        params += [item.delivery_id, bounds.get("period", item.period), bounds.get("period_start"),
                   bounds.get("period_end")]
        sql = deliveries.days_sql(entry, item.staged, bounds or None) if days_suite is not None else None
        if sql is not None:
            days_parts.append(f"SELECT * FROM ({sql})")
            days_params += [item.delivery_id, item.period]
        if locations_suite is not None:
            locations_parts.append(f"SELECT * FROM ({deliveries.located_sql(entry, item.staged)})")
            locations_params += [item.delivery_id, item.period]

    sizes = {item.delivery_id: item.rows for item in batch}
    problems: dict[str, list[Problem]] = {item.delivery_id: [] for item in batch}
    lines: dict[str, dict[int, Problem]] = {item.delivery_id: {} for item in batch}
    whole: set[str] = set()

    def judge(validation, subjects: dict[str, int]) -> None:
        found = failures(validation)
        record_validation(con, validation, found, run_id=run_id, subject_type="delivery", subjects=subjects,
                          partner_id=entry.partner.id)
        for delivery_id, listed in problems_by_subject(found, list(sizes)).items():
            problems[delivery_id] += listed
        for failure in found:
            if failure.problem.severity != "error":
                continue
            # a failure on a day or an entity names the day's first line, but is not that line's
            row_level = deliveries.judges_records(validation.suite) and failure.problem.line is not None
            targets = [failure.delivery_id] if failure.delivery_id else list(sizes)
            for delivery_id in targets:
                if row_level:
                    lines[delivery_id].setdefault(failure.problem.line, failure.problem)
                else:
                    whole.add(delivery_id)

    def validate_slices(suite, sql: str, sql_params: list, index: list[str] | None = None) -> None:
        """Validate the rows of ``sql`` a slice of VALIDATED_ROWS at a time, each slice judged before
        the next is read: memory follows the slice, not the file (the query itself spills)."""
        with unordered(con):        # slices are cut by rowid, whatever order the rows land in
            con.execute(f"CREATE OR REPLACE TEMP TABLE _validated AS {sql}", sql_params)
        try:
            total = con.execute("SELECT count(*) FROM _validated").fetchone()[0]
            for start in range(0, max(total, 1), VALIDATED_ROWS):
                frame = con.execute("SELECT * FROM _validated WHERE rowid >= ? AND rowid < ?",
                                    [start, start + VALIDATED_ROWS]).fetch_arrow_table().to_pandas()
                subjects = sizes if total <= VALIDATED_ROWS else frame["_delivery_id"].value_counts().to_dict()
                columns = index or [c for c in DAY_INDEX if c in frame.columns]
                judge(quality.validate(suite, frame, run_name=run_name, index_columns=columns), subjects)
                del frame
                release_freed_memory()
        finally:
            con.execute("DROP TABLE IF EXISTS _validated")

    validate_slices(deliveries.rows_suite(entry), " UNION ALL ".join(rows_parts), params,
                    ["_delivery_id", "_period", "_source_line"] + ([entry.spec.event_time] if entry.spec.event_time else []))
    if days_parts:
        validate_slices(days_suite, " UNION ALL ".join(days_parts), days_params)
    if locations_parts:
        validate_slices(locations_suite, deliveries.locations_sql(" UNION ALL ".join(locations_parts)),
                        locations_params,
                        ["_delivery_id", "_period", "_source_line", "latitude", "longitude", "code", "commune"])
    # a table-level failure (the column set) is found again in every slice: said once
    return {k: Verdict(_name_postal_codes(con, list(dict.fromkeys(v))), lines[k], k in whole) for k, v in problems.items()}


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
    for suite, frame, index in marts.batches(con, name):
        validation = quality.validate(suite, frame, run_name=f"{run_id}_{name}", index_columns=index)
        found = failures(validation)
        record_validation(con, validation, found, run_id=run_id, subject_type="mart", subjects={name: len(frame)})
        problems += problems_by_subject(found, [name])[name]
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
