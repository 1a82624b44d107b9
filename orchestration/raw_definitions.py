"""The partners' half of the asset graph: the raw assets and the jobs that run them, without dbt.

`hub ingest` and `hub backfill` run in their own process, and an ingestion's memory is bounded
(bench/README.md, issue 18): loading the whole map (``definitions.py``) imports dbt and reads its
manifest — about 110 MiB — for assets an ingestion never runs. These are the same assets (same
keys, partitions, checks) and the same jobs (same names, each selecting the raw assets of its
cadence) as the whole map's, so the runs are recorded in the instance as the UI knows them.
"""

import dagster as dg

from territoire_hub.orchestration.assets import raw_assets
from territoire_hub.orchestration.partitions import HubPartitions
from territoire_hub.orchestration.resources import HubResource
from territoire_hub.orchestration.schedules import jobs_and_schedules
from territoire_hub.permissions import private_process


def raw_definitions() -> dg.Definitions:
    private_process()   # a process that runs the hub's assets writes private files
    hub = HubResource()
    registry = hub.registry()
    partitions = HubPartitions.from_registry(registry)
    assets = raw_assets(registry, partitions)
    jobs, _ = jobs_and_schedules(assets, partitions, [])
    return dg.Definitions(assets=assets, jobs=jobs, resources={"hub": hub}, executor=dg.in_process_executor)
