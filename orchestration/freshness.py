"""Freshness in Dagster: a ``delivery_due`` check per partner dataset, run every hour by
``freshness_job`` (``freshness_schedule``). It fails when a delivery is overdue — naming the partner,
the dataset and the missing periods — and the alert sensors pass it on (orchestration/alerts.py).
What counts as delivered: ``sources.landing.delivered_periods``."""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg

from territoire_hub.orchestration.resources import HubResource
from territoire_hub.registry import PartnerDataset, Registry
from territoire_hub.sources.landing import dataset_lateness

CHECK = "delivery_due"


def freshness_check(entry: PartnerDataset) -> dg.AssetChecksDefinition:
    due = entry.dataset.due_rule
    when = (f"an inventory at least every {due.max_age_days} days" if due.max_age_days else
            f"each period's file {due.days_after} day(s) after the period, by {due.at:%H:%M} Europe/Paris, "
            f"{due.grace_hours} h of grace")

    @dg.asset_check(asset=dg.AssetKey(["raw", entry.key]), name=CHECK, pool="duckdb_warehouse",
                    description=f"{entry.partner.name} delivers on time: {when}. Fails naming the missing periods.")
    def _check(hub: HubResource) -> dg.AssetCheckResult:
        with hub.connect() as con:
            late = dataset_lateness(con, entry, datetime.now(timezone.utc))
        return dg.AssetCheckResult(
            passed=late is None, severity=dg.AssetCheckSeverity.WARN,
            description=late.message() if late else None,
            metadata={"partner": entry.partner.id, "dataset": entry.dataset.id,
                      "missing_periods": dg.MetadataValue.json([p for p, _ in late.missing] if late else []),
                      "latest_delivery": str(late.latest if late else "") or "—"})

    return _check


def freshness_checks(registry: Registry) -> list[dg.AssetChecksDefinition]:
    return [freshness_check(entry) for entry in registry.datasets.values()]
