"""A sensor on the inbox: a new file in a partner's drop zone requests the run of its partition;
every entry it leaves in place (links, FIFOs, unclaimed names) is logged with its reason."""

import os

import dagster as dg

from territoire_hub.orchestration.partitions import partition_of_period
from territoire_hub.orchestration.resources import HubResource
from territoire_hub.registry import InboxTransport, Registry
from territoire_hub.sources.dropzone import scan_inbox, unread_entries


def inbox_sensor(registry: Registry) -> dg.SensorDefinition:
    inbox_entries = [e for e in registry.datasets.values() if isinstance(e.dataset.transport, InboxTransport)]
    keys = [dg.AssetKey(["raw", e.key]) for e in inbox_entries]

    @dg.sensor(name="inbox_sensor", asset_selection=keys, minimum_interval_seconds=60,
               default_status=dg.DefaultSensorStatus.STOPPED,
               description="Requests the ingestion of each new file dropped in a partner's inbox folder.")
    def _sensor(context: dg.SensorEvaluationContext, hub: HubResource):
        inbox = hub.settings().inbox
        report = scan_inbox(inbox, inbox_entries)
        by_key = {e.key: e for e in inbox_entries}
        for item in report.incoming:
            entry = by_key[item.dataset_key]
            seen = os.lstat(item.path)          # never follows a link
            run_key = f"{item.dataset_key}:{item.filename}:{seen.st_size}:{seen.st_mtime_ns}"
            partition = None
            if item.period != "snapshot":
                partition = partition_of_period(entry.dataset, item.period)
            yield dg.RunRequest(run_key=run_key, asset_selection=[dg.AssetKey(["raw", item.dataset_key])],
                                partition_key=partition)
        for unread in unread_entries(inbox, registry):
            context.log.warning(f"inbox entry left in place: {unread.line()}")

    return _sensor
