"""One Dagster asset per partner dataset: the raw table it fills (``raw/<partner>__<dataset>``)."""


import dagster as dg

from territoire_hub.orchestration.partitions import HubPartitions, period_of_partition
from territoire_hub.orchestration.resources import HubResource
from territoire_hub.sources.ingest import ingest_dataset, prepare_warehouse
from territoire_hub.sources.registry import PartnerDataset, Registry


def raw_asset(entry: PartnerDataset, partitions: HubPartitions) -> dg.AssetsDefinition:
    dataset = entry.dataset

    @dg.asset(
        name=entry.key,
        key_prefix=["raw"],
        group_name=dataset.domain,
        partitions_def=partitions.for_dataset(dataset),
        kinds={"duckdb"},
        pool="duckdb_warehouse",
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
    def _raw(context: dg.AssetExecutionContext, hub: HubResource) -> dg.MaterializeResult:
        periods = [period_of_partition(dataset, context.partition_key)] if context.has_partition_key else None
        with hub.connect() as con:
            prepare_warehouse(con, hub.registry())
            report = ingest_dataset(con, hub.settings(), entry, periods=periods)
        for origin, reason in report.transport_errors:
            context.log.warning(f"{origin}: {reason}")
        if report.quarantined:
            context.log.warning(f"{len(report.quarantined)} deliveries quarantined: {report.quarantined}")
        return dg.MaterializeResult(metadata={
            "deliveries_landed": report.landed,
            "deliveries_already_landed": report.already_landed,
            "deliveries_loaded": report.loaded,
            "rows_loaded": report.rows,
            "deliveries_quarantined": len(report.quarantined),
            "transport_errors": len(report.transport_errors),
        })

    return _raw


def raw_assets(registry: Registry, partitions: HubPartitions) -> list[dg.AssetsDefinition]:
    return [raw_asset(entry, partitions) for entry in registry.datasets.values()]
