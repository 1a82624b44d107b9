"""The map of the platform: every asset, sensor, job and resource, in one Definitions object.

Nothing happens at import: Dagster calls ``defs()`` when it loads the code location (which
parses the dbt project if its manifest is missing or stale).
"""

import json

import dagster as dg

from territoire_hub.orchestration.alerts import alert_sensors
from territoire_hub.orchestration.assets import raw_assets
from territoire_hub.orchestration.dbt import dbt_client_executable, dbt_project
from territoire_hub.orchestration.dbt_assets import HubDbtCliResource, dbt_model_assets, warehouse_table_specs
from territoire_hub.orchestration.freshness import freshness_checks
from territoire_hub.orchestration.partitions import HubPartitions
from territoire_hub.orchestration.portal import portal_assets
from territoire_hub.orchestration.quality import publication_gate
from territoire_hub.orchestration.resources import HubResource
from territoire_hub.orchestration.retention import retention_job, retention_schedule
from territoire_hub.orchestration.schedules import jobs_and_schedules
from territoire_hub.orchestration.sensors import build_sensor, http_sensor, inbox_sensor
from territoire_hub.orchestration.sharing import shared_warehouse_asset
from territoire_hub.permissions import private_process


@dg.definitions
def defs() -> dg.Definitions:
    private_process()   # every process that loads the hub's code (code server, runs) writes private files
    hub = HubResource()
    settings, registry = hub.settings(), hub.registry()
    project = dbt_project(settings)
    partitions = HubPartitions.from_registry(registry)
    models = {n["name"] for n in json.loads(project.manifest_path.read_text())["nodes"].values()
              if n["resource_type"] == "model"}
    gate_checks, publication = publication_gate(models)
    assets = raw_assets(registry, partitions) + dbt_model_assets(project, partitions.daily, registry) + publication \
        + portal_assets(models) + shared_warehouse_asset(models)
    freshness = freshness_checks(registry)
    jobs, schedules = jobs_and_schedules(assets, partitions, freshness)
    return dg.Definitions(
        assets=[*assets, *warehouse_table_specs(project, registry)],
        asset_checks=[*gate_checks, *freshness],
        sensors=[inbox_sensor(registry), http_sensor(registry), build_sensor(registry), *alert_sensors()],
        jobs=[*jobs, retention_job],
        schedules=[*schedules, retention_schedule],
        resources={"hub": hub, "dbt": HubDbtCliResource(project_dir=project, dbt_executable=dbt_client_executable())},
        executor=dg.in_process_executor,  # one DuckDB writer: steps run one after the other
    )
