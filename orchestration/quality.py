"""The publication gate in Dagster: a blocking asset check per mart, then its approved copy.

``marts/<mart>`` (dbt) → check ``publication_gate`` (Great Expectations suites of
``expectations/marts.py``; blocking) → ``publication/<mart>`` (the copy the portal and the
analysts read). A mart that fails a critical expectation shows a failed ERROR check in the UI,
and its ``publication/<mart>`` asset does not run: the previous approved copy stays.
"""

import dagster as dg

from territoire_hub.expectations.marts import MARTS
from territoire_hub.expectations.reports import write_reports
from territoire_hub.expectations.runtime import QualityContext
from territoire_hub.lineage import mart_datasets
from territoire_hub.orchestration.resources import HubResource
from territoire_hub.orchestration.tags import DOCS_TAG, hub_run_id

WAREHOUSE_POOL = "duckdb_warehouse"


def _gate_check(name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=dg.AssetKey(["marts", name]), name="publication_gate", blocking=True, pool=WAREHOUSE_POOL,
                    description=f"Great Expectations suites of marts.{name}: keys, plausible values, explained "
                                "nulls, roll-ups and reconciliation. A critical failure blocks its publication.")
    def _check(context: dg.AssetCheckExecutionContext, hub: HubResource) -> dg.AssetCheckResult:
        from territoire_hub.expectations.gate import validate_mart

        settings = hub.settings()
        quality = QualityContext.for_settings(settings)
        run_id = hub_run_id(context)
        with hub.connect() as con:
            verdict = validate_mart(con, quality, name, run_id, mart_datasets(settings, hub.registry()).get(name, []))
            write_reports(con, settings, run_id)
        if context.run.tags.get(DOCS_TAG) != "after-runs":   # `hub build` renders them once, after every gate
            quality.build_docs()
        return dg.AssetCheckResult(
            passed=verdict.publishable,
            severity=dg.AssetCheckSeverity.ERROR,
            description=None if verdict.publishable else "; ".join(verdict.critical[:5]),
            metadata={
                "critical_failed": len(verdict.critical),
                "warnings": dg.MetadataValue.json(verdict.warnings[:50]),
                "upstream_flags": dg.MetadataValue.json(verdict.upstream_flags[:50]),
                "data_docs": dg.MetadataValue.path(str(quality.docs_dir / "index.html")),
            },
        )

    return _check


def _publication_asset(name: str) -> dg.AssetsDefinition:
    @dg.asset(key=["publication", name], deps=[dg.AssetKey(["marts", name])], group_name="publication",
              kinds={"duckdb"}, pool=WAREHOUSE_POOL,
              description=f"marts.{name} as approved for publication (copied only when its gate passed).")
    def _publication(context: dg.AssetExecutionContext, hub: HubResource) -> dg.MaterializeResult:
        from territoire_hub.expectations.gate import approve_mart

        with hub.connect() as con:
            rows = approve_mart(con, name)
            flags = con.execute("SELECT len(warnings) + len(upstream_flags) FROM quality.mart_status WHERE mart = ?",
                                [name]).fetchone()[0]
        return dg.MaterializeResult(metadata={"rows": rows, "quality_flags": flags})

    return _publication


def publication_gate(model_names: set[str]) -> tuple[list[dg.AssetChecksDefinition], list[dg.AssetsDefinition]]:
    """Checks and publication assets for the marts the dbt project defines."""
    names = [n for n in MARTS if n in model_names]
    return [_gate_check(n) for n in names], [_publication_asset(n) for n in names]
