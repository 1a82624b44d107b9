"""One Dagster asset per partner dataset: the raw table it fills (``raw/<partner>__<dataset>``)."""


import dagster as dg

from territoire_hub.expectations.reports import write_reports
from territoire_hub.names import printable
from territoire_hub.orchestration.ingestion import ingest_dataset, prepare_warehouse
from territoire_hub.orchestration.partitions import HubPartitions, partition_of_period, period_of_partition
from territoire_hub.orchestration.progress import progress
from territoire_hub.orchestration.resources import HubResource
from territoire_hub.orchestration.tags import PERIODS_TAG, hub_run_id
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
        output_required=False,  # `hub ingest` reports the partitions it loaded, not the one it ran under
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
        # one partition, or a range of them in one run (a backfill): exactly those periods. A run
        # tagged periods=all (`hub ingest`: whatever the partners delivered) reads every period
        # available and records a materialisation for each partition it loaded a delivery of
        ranged = context.has_partition_key or context.has_partition_key_range
        every_period = ranged and context.run.tags.get(PERIODS_TAG) == "all"
        periods = [period_of_partition(dataset, key) for key in context.partition_keys] \
            if ranged and not every_period else None
        run_id = hub_run_id(context)
        settings = hub.settings()
        with hub.connect() as con, progress(f"deliveries of {entry.key}") as tick:
            prepare_warehouse(con, hub.registry())
            report = ingest_dataset(con, settings, entry, periods=periods, run_id=run_id, on_delivery=tick)
            flagged = con.execute(
                "SELECT count(DISTINCT v.subject) FROM quality.validations v JOIN landing.deliveries d "
                "ON d.delivery_id = v.subject WHERE v.run_id = ? AND d.dataset_key = ? AND d.status IN ('loaded', 'partial') "
                "AND NOT v.success AND v.severity = 'warning'", [run_id, entry.key]).fetchone()[0]
            write_reports(con, settings, run_id)     # the run's quality report so far, and the partners' outboxes
            landed_periods = [p for (p,) in con.execute(
                "SELECT DISTINCT period FROM landing.deliveries WHERE dataset_key = ? AND run_id = ? "
                "AND status IN ('loaded', 'partial') ORDER BY 1", [entry.key, run_id]).fetchall()]
        errors = [f"{printable(origin)}: {printable(reason)}" for origin, reason in report.transport_errors]
        for error in errors:
            context.log.warning(error)
        if report.quarantined:
            context.log.warning(f"{len(report.quarantined)} deliveries quarantined: {report.quarantined}")
        metadata = {
            "deliveries_landed": report.landed,
            "deliveries_already_landed": report.already_landed,
            "deliveries_loaded": report.loaded,
            "rows_loaded": report.rows,
            "deliveries_quarantined": len(report.quarantined),
            "transport_errors": len(report.transport_errors),
            "transport_error_messages": dg.MetadataValue.json(errors[:50]),
            "deliveries_flagged": flagged,
            "hub_run": run_id,
        }
        yield dg.AssetCheckResult(
            check_name="delivery_quality", passed=not report.quarantined, severity=dg.AssetCheckSeverity.WARN,
            description=(f"{len(report.quarantined)} deliveries quarantined" if report.quarantined else None),
            metadata={"quarantined": dg.MetadataValue.json(report.quarantined), "loaded": report.loaded, **metadata})
        if not every_period:
            yield dg.MaterializeResult(metadata=metadata)
            return
        known = set(context.assets_def.partitions_def.get_partition_keys())
        for partition in sorted({partition_of_period(dataset, p[:8]) for p in landed_periods if p[:1].isdigit()} & known):
            context.log_event(dg.AssetMaterialization(asset_key=key, partition=partition, metadata=metadata))

    return _raw


def raw_assets(registry: Registry, partitions: HubPartitions) -> list[dg.AssetsDefinition]:
    return [raw_asset(entry, partitions) for entry in registry.datasets.values()]
