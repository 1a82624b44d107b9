"""The map of the platform: every asset, sensor, job and resource, in one Definitions object.

Nothing happens at import: Dagster calls ``defs()`` when it loads the code location (which
parses the dbt project if its manifest is missing or stale).
"""

import json

import dagster as dg
from dagster_dbt import DbtCliResource

from territoire_hub.orchestration.assets import raw_assets
from territoire_hub.orchestration.dbt import dbt_executable, dbt_project
from territoire_hub.orchestration.dbt_assets import dbt_model_assets, warehouse_table_specs
from territoire_hub.orchestration.partitions import HubPartitions
from territoire_hub.orchestration.portal import portal_assets
from territoire_hub.orchestration.quality import publication_gate
from territoire_hub.orchestration.resources import HubResource
from territoire_hub.orchestration.sensors import inbox_sensor
from territoire_hub.orchestration.sharing import shared_warehouse_asset
from territoire_hub.permissions import private_process


@dg.definitions
def defs() -> dg.Definitions:
    private_process()   # every process that loads the hub's code (code server, runs) writes private files
    hub = HubResource()
    settings, registry = hub.settings(), hub.registry()
    project = dbt_project(settings)
    partitions = HubPartitions.from_registry(registry)
    daily = partitions.daily
    models = {n["name"] for n in json.loads(project.manifest_path.read_text())["nodes"].values()
              if n["resource_type"] == "model"}
    gate_checks, publication = publication_gate(models)
    assets = raw_assets(registry, partitions) + dbt_model_assets(project, daily) + publication + portal_assets(models) \
        + shared_warehouse_asset(models)
    partitioned = [a for a in assets if a.partitions_def is not None]
    daily_assets = [a for a in partitioned if a.partitions_def == daily]
    return dg.Definitions(
        assets=[*assets, *warehouse_table_specs(project, registry)],
        asset_checks=gate_checks,
        sensors=[inbox_sensor(registry)],
        jobs=[
            dg.define_asset_job("daily_job", selection=dg.AssetSelection.assets(*daily_assets), partitions_def=daily,
                                description="One Europe/Paris day: its raw deliveries and the day-grain models."),
            dg.define_asset_job("refresh_job", selection=dg.AssetSelection.all() - dg.AssetSelection.assets(*partitioned),
                                description="Inventories and every unpartitioned model (marts)."),
        ],
        resources={"hub": hub, "dbt": DbtCliResource(project_dir=project, dbt_executable=dbt_executable())},
        executor=dg.in_process_executor,  # one DuckDB writer: steps run one after the other
    )
