"""One Dagster asset per partner dataset: the raw table it fills (``raw/<partner>__<dataset>``)."""


import dagster as dg

from territoire_hub.expectations.runtime import QualityContext
from territoire_hub.orchestration.partitions import HubPartitions, period_of_partition
from territoire_hub.orchestration.resources import HubResource
from territoire_hub.orchestration.ingestion import ingest_dataset, prepare_warehouse
from territoire_hub.registry import PartnerDataset, Registry


def raw_asset(entry: PartnerDataset, partitions: HubPartitions) -> dg.AssetsDefinition:
    dataset = entry.dataset
    key = dg.AssetKey(["raw", entry.key])

    @dg.asset(
        name=entry.key,
        key_prefix=["raw"],
        group_name=dataset.domain,
        partitions_def=partitions.for_dataset(dataset),
        # a backfill of a year is one run reading its periods together, not 365 runs
        backfill_policy=dg.BackfillPolicy.single_run() if partitions.for_dataset(dataset) else None,
        kinds={"duckdb"},
        pool="duckdb_warehouse",
        check_specs=[dg.AssetCheckSpec(
            "delivery_quality", asset=key,
            description="Great Expectations suites of each delivery of the run (expectations/deliveries.py): "
                        "critical failures are quarantined (they never reach the table), warnings are flagged.")],
        description=f"{entry.partner.name} — {dataset.id} ({entry.spec.title}); "
                    f"licence {dataset.licence}, sensitivity {dataset.sensitivity.value}.",
        metadata={
            "partner": entry.partner.id,
            "format": entry.spec.id,
            "transport": dataset.transport.type,
            "cadence": dataset.cadence.value,
            "sensitivity": dataset.sensitivity.value,
        },
    )
    def _raw(context: dg.AssetExecutionContext, hub: HubResource):
        # one partition, or a range of them in one run (a backfill): exactly those periods
        periods = [period_of_partition(dataset, key) for key in context.partition_keys] \
            if context.has_partition_key or context.has_partition_key_range else None
        with hub.connect() as con:
            prepare_warehouse(con, hub.registry())
            report = ingest_dataset(con, hub.settings(), entry, periods=periods, run_id=context.run.run_id)
            flagged = con.execute(
                "SELECT count(DISTINCT v.subject) FROM quality.validations v JOIN landing.deliveries d "
                "ON d.delivery_id = v.subject WHERE v.run_id = ? AND d.dataset_key = ? AND d.status IN ('loaded', 'partial') "
                "AND NOT v.success AND v.severity = 'warning'", [context.run.run_id, entry.key]).fetchone()[0]
        QualityContext.for_settings(hub.settings()).build_docs()
        for origin, reason in report.transport_errors:
            context.log.warning(f"{origin}: {reason}")
        if report.quarantined:
            context.log.warning(f"{len(report.quarantined)} deliveries quarantined: {report.quarantined}")
        yield dg.AssetCheckResult(
            check_name="delivery_quality", passed=not report.quarantined, severity=dg.AssetCheckSeverity.WARN,
            description=(f"{len(report.quarantined)} deliveries quarantined" if report.quarantined else None),
            metadata={"quarantined": dg.MetadataValue.json(report.quarantined), "flagged": flagged,
                      "loaded": report.loaded})
        yield dg.MaterializeResult(metadata={
            "deliveries_landed": report.landed,
            "deliveries_already_landed": report.already_landed,
            "deliveries_loaded": report.loaded,
            "rows_loaded": report.rows,
            "deliveries_quarantined": len(report.quarantined),
            "transport_errors": len(report.transport_errors),
            "deliveries_flagged": flagged,
        })

    return _raw


def raw_assets(registry: Registry, partitions: HubPartitions) -> list[dg.AssetsDefinition]:
    return [raw_asset(entry, partitions) for entry in registry.datasets.values()]
