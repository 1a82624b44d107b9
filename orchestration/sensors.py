"""Sensors on the partners' transports.

* ``inbox_sensor``: a new file in a partner's drop zone requests the run of its partition; every
  entry it leaves in place (links, FIFOs, unclaimed names) is logged with its reason.
* ``http_sensor``: every hour, a conditional GET (the validators of the last delivery fetched from
  each URL; the body is not read) of the recent periods of each HTTP dataset — the last periods
  that have ended, and the inventory — requests the run of each partition with a new or changed
  file. A file served without ETag or Last-Modified is requested once.
* ``build_sensor``: new raw data (a delivery loaded by any run but ``refresh_job`` itself) requests
  ``refresh_job``: the unpartitioned models, the publication gate, the publication and the
  analysts' snapshot, once per batch of new materialisations.
"""

import os
from datetime import datetime, timezone

import dagster as dg
import duckdb

from territoire_hub.freshness import ended_periods
from territoire_hub.orchestration.partitions import partition_of_period
from territoire_hub.orchestration.resources import HubResource
from territoire_hub.registry import Cadence, HttpTransport, InboxTransport, PartnerDataset, Registry
from territoire_hub.settings import Settings
from territoire_hub.sources.dropzone import scan_inbox, unread_entries
from territoire_hub.sources.landing import CatalogueValidators
from territoire_hub.sources.transports import expand_urls, probe_http
from territoire_hub.warehouse import connect


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


class _NoValidators:
    def validators(self, url: str) -> tuple[None, None]:
        return None, None


def http_requests(settings: Settings, entries: list[PartnerDataset], now: datetime,
                  log=lambda message: None) -> list[dg.RunRequest]:
    """One run request per partition with a new or changed file on an HTTP partner's server."""
    con = connect(settings.warehouse, read_only=True) if settings.warehouse.exists() else None
    try:
        store = CatalogueValidators(con) if con is not None else _NoValidators()
        requests = []
        for entry in entries:
            periods = None if entry.dataset.cadence is Cadence.snapshot else ended_periods(entry.dataset, now)
            try:
                urls = expand_urls(entry, settings.url_vars, periods)
            except ValueError as exc:            # an unset ${HUB_URL_…}: said, the other partners polled
                log(str(exc))
                continue
            new: dict[str | None, list[str]] = {}
            for probe in probe_http(entry, urls, store, timeout=settings.http_timeout,
                                    token=settings.token_for(entry.partner.id)):
                if probe.error:
                    log(f"{entry.key}: {probe.url}: {probe.error}")
                elif probe.new:
                    partition = None if probe.period == "snapshot" else partition_of_period(entry.dataset, probe.period)
                    new.setdefault(partition, []).append(f"{probe.url}@{probe.version}")
            for partition, versions in new.items():
                requests.append(dg.RunRequest(run_key=f"{entry.key}:{partition}:{'|'.join(sorted(versions))}",
                                              asset_selection=[dg.AssetKey(["raw", entry.key])],
                                              partition_key=partition))
        return requests
    finally:
        if con is not None:
            con.close()


def http_sensor(registry: Registry) -> dg.SensorDefinition:
    entries = [e for e in registry.datasets.values() if isinstance(e.dataset.transport, HttpTransport)]

    @dg.sensor(name="http_sensor", asset_selection=[dg.AssetKey(["raw", e.key]) for e in entries],
               minimum_interval_seconds=3600, default_status=dg.DefaultSensorStatus.STOPPED,
               description="Polls the HTTP partners every hour (conditional GET of the recent periods): "
                           "a new or changed file requests the run of its partition.")
    def _sensor(context: dg.SensorEvaluationContext, hub: HubResource):
        try:
            requests = http_requests(hub.settings(), entries, datetime.now(timezone.utc), context.log.warning)
        except duckdb.IOException as exc:      # a run holds the warehouse: the next poll will see
            return dg.SkipReason(f"the warehouse is busy ({exc}); polled again next time")
        return requests or dg.SkipReason("nothing new on the HTTP partners' servers")

    return _sensor


REFRESH_JOB = "refresh_job"


def build_sensor(registry: Registry) -> dg.MultiAssetSensorDefinition:
    keys = [dg.AssetKey(["raw", key]) for key in registry.datasets]

    @dg.multi_asset_sensor(monitored_assets=keys, job_name=REFRESH_JOB, name="build_sensor",
                           minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.STOPPED,
                           description="New raw data requests refresh_job (models, gate, publication, snapshot).")
    def _sensor(context: dg.MultiAssetSensorEvaluationContext):
        latest = {key: record for key, record in context.latest_materialization_records_by_key().items() if record}
        context.advance_all_cursors()
        # what refresh_job itself materialises (its inventories, read again) must not start it again
        new = {key: record for key, record in latest.items()
               if (run := context.instance.get_run_by_id(record.run_id)) is None or run.job_name != REFRESH_JOB}
        if not new:
            return dg.SkipReason("no new raw data since the last refresh")
        newest = max(record.storage_id for record in new.values())
        return dg.RunRequest(run_key=f"refresh-after-{newest}",
                             tags={"territoire-hub/new-raw": ",".join(sorted(k.path[-1] for k in new))[:1000]})

    return _sensor
