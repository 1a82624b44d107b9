"""Ingestion of one partner dataset: collect (inbox or HTTP) → land → load into raw.

Used by the CLI and by the Dagster assets alike. One failing file never stops the
others: problems end up in ``landing.issues`` and the report, not in an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import duckdb

from territoire_hub.settings import Settings
from territoire_hub.expectations.results import ensure_quality_tables
from territoire_hub.sources import cog
from territoire_hub.sources.landing import CatalogueValidators, ensure_catalogue, land, record_transport_errors
from territoire_hub.sources.loading import ensure_raw_table, load_deliveries
from territoire_hub.sources.registry import HttpTransport, PartnerDataset, Registry
from territoire_hub.sources.registry_tables import write_registry
from territoire_hub.sources.transports import FetchReport, expand_urls, fetch_http, scan_inbox


@dataclass
class DatasetReport:
    dataset_key: str
    landed: int = 0
    already_landed: int = 0
    loaded: int = 0
    rows: int = 0
    quarantined: list[str] = field(default_factory=list)   # delivery ids
    transport_errors: list[tuple[str, str]] = field(default_factory=list)
    not_modified: int = 0
    not_published: int = 0


def prepare_warehouse(con: duckdb.DuckDBPyConnection, registry: Registry | None = None) -> None:
    """Catalogue tables, the COG reference the loaders check INSEE codes against, and the
    registry mirrored for the SQL layers."""
    ensure_catalogue(con)
    ensure_quality_tables(con)
    if not cog.is_loaded(con):
        cog.load_reference(con)
    if registry is not None:
        write_registry(con, registry)
        for entry in registry.datasets.values():  # empty until the first delivery: models still build
            ensure_raw_table(con, entry)


def collect(settings: Settings, entry: PartnerDataset, con: duckdb.DuckDBPyConnection,
            periods: list[str] | None) -> FetchReport:
    if isinstance(entry.dataset.transport, HttpTransport):
        try:
            urls = expand_urls(entry, settings.url_vars, periods)
        except ValueError as exc:  # e.g. an unset ${HUB_URL_...}: this dataset fails, the run goes on
            return FetchReport(errors=[(entry.dataset.transport.url, str(exc))])
        return fetch_http(
            entry, urls, settings.scratch / "downloads", CatalogueValidators(con),
            timeout=settings.http_timeout, retries=settings.http_retries,
            backoff=settings.http_backoff, token=settings.token_for(entry.partner.id),
        )
    report = scan_inbox(settings.inbox, [entry])
    if periods is not None:
        report.incoming = [i for i in report.incoming if i.period in periods]
    return report


def _pending(con: duckdb.DuckDBPyConnection, entry: PartnerDataset, periods: list[str] | None):
    sql = "SELECT delivery_id, stored_path FROM landing.deliveries WHERE dataset_key = ? AND status = 'landed'"
    params: list[object] = [entry.key]
    if periods is not None:
        sql += " AND period IN (SELECT unnest(?::VARCHAR[]))"
        params.append(periods)
    return con.execute(sql + " ORDER BY sequence", params).fetchall()


def ingest_dataset(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    entry: PartnerDataset,
    *,
    periods: list[str] | None = None,
    on_delivery: Callable[[], None] | None = None,
    run_id: str | None = None,
) -> DatasetReport:
    """Collect, land, validate and load one dataset (optionally only some periods)."""
    from territoire_hub.expectations.results import new_run_id
    from territoire_hub.expectations.runtime import QualityContext

    quality = QualityContext.for_settings(settings)
    run_id = run_id or new_run_id()
    report = DatasetReport(entry.key)
    fetched = collect(settings, entry, con, periods)
    report.transport_errors = list(fetched.errors)
    record_transport_errors(con, entry.key, report.transport_errors)
    report.not_modified = len(fetched.not_modified)
    report.not_published = len(fetched.not_published)
    for item in fetched.incoming:
        landed = land(con, settings.landing, entry, item)
        report.landed += landed.new
        report.already_landed += not landed.new
        # the landing store now holds the bytes; the drop zone and the download are emptied
        Path(item.path).unlink(missing_ok=True)
    pending = [(delivery_id, Path(stored_path)) for delivery_id, stored_path in _pending(con, entry, periods)]
    for delivery_id, rows in load_deliveries(con, entry, pending, quality=quality, run_id=run_id,
                                             on_delivery=on_delivery):
        if rows:
            report.loaded += 1
            report.rows += rows
        else:
            report.quarantined.append(delivery_id)
    return report


def ingest_all(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    registry: Registry,
    keys: Iterable[str] | None = None,
    *,
    on_delivery: Callable[[], None] | None = None,
    run_id: str | None = None,
) -> list[DatasetReport]:
    from territoire_hub.expectations.results import new_run_id

    prepare_warehouse(con, registry)
    run_id = run_id or new_run_id()
    entries = [registry.dataset(k) for k in keys] if keys is not None else list(registry.datasets.values())
    return [ingest_dataset(con, settings, entry, on_delivery=on_delivery, run_id=run_id) for entry in entries]


def ignored_inbox_files(settings: Settings, registry: Registry) -> list[str]:
    """Files in a partner's drop zone that match none of its datasets (reported, never deleted)."""
    ignored: list[str] = []
    for partner_id in registry.partners:
        ignored += scan_inbox(settings.inbox, registry.of_partner(partner_id)).ignored
    return ignored
