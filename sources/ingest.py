"""Collecting one partner dataset: fetch (inbox or HTTP) and land every delivery.

What comes next (parse, validate with the quality suites, commit) is composed above this
package, in ``orchestration/ingestion.py``. One failing file never stops the others: problems
end up in ``landing.transport_errors`` and the report, not in an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from territoire_hub.registry import HttpTransport, PartnerDataset, Registry
from territoire_hub.settings import Settings
from territoire_hub.sources.dropzone import Unread, scan_inbox, unread_entries
from territoire_hub.sources.landing import (CatalogueValidators, UnreadableDelivery, land, record_transport_errors,
                                            remove_delivered)
from territoire_hub.sources.transports import FetchReport, expand_urls, fetch_http


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


def collect_and_land(con: duckdb.DuckDBPyConnection, settings: Settings, entry: PartnerDataset,
                     periods: list[str] | None = None) -> DatasetReport:
    """Fetch the dataset's new files and store each in the landing store (the drop zone and the
    downloads are emptied once the bytes are landed)."""
    report = DatasetReport(entry.key)
    fetched = collect(settings, entry, con, periods)
    report.transport_errors = list(fetched.errors)
    record_transport_errors(con, entry.key, report.transport_errors)
    report.not_modified = len(fetched.not_modified)
    report.not_published = len(fetched.not_published)
    for item in fetched.incoming:
        try:
            landed = land(con, settings.landing, entry, item)
        except UnreadableDelivery as exc:      # swapped for a link or a FIFO since the scan
            error = (item.origin, f"{entry.partner.id}: {exc}; left in place")
            report.transport_errors.append(error)
            record_transport_errors(con, entry.key, [error])
            continue
        report.landed += landed.new
        report.already_landed += not landed.new
        remove_delivered(Path(item.path), landed.source)
    return report


def pending_deliveries(con: duckdb.DuckDBPyConnection, entry: PartnerDataset,
                       periods: list[str] | None = None) -> list[tuple[str, Path]]:
    """Landed deliveries of the dataset not processed yet, in delivery order."""
    sql = "SELECT delivery_id, stored_path FROM landing.deliveries WHERE dataset_key = ? AND status = 'landed'"
    params: list[object] = [entry.key]
    if periods is not None:
        sql += " AND period IN (SELECT unnest(?::VARCHAR[]))"
        params.append(periods)
    return [(d, Path(p)) for d, p in con.execute(sql + " ORDER BY sequence", params).fetchall()]


def unread_inbox_entries(settings: Settings, registry: Registry) -> list[Unread]:
    """Every drop-zone entry a run leaves in place (links, FIFOs, folders, hidden or unclaimed
    names, entries outside a partner's folder), each with its reason: reported, never deleted."""
    return unread_entries(settings.inbox, registry)
