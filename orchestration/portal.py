"""Publishing to CKAN in Dagster: one asset per indicator family, ``portal/<family>``, downstream of
the approved copies (``publication/<mart>``) of its marts — so a mart blocked by its quality gate
never reaches the portal."""

import dagster as dg

from territoire_hub.lineage import mart_datasets
from territoire_hub.orchestration.resources import HubResource
from territoire_hub.orchestration.tags import hub_run_id
from territoire_hub.publish.catalogue import FAMILIES, Family


def _portal_asset(family: Family) -> dg.AssetsDefinition:
    @dg.asset(key=["portal", family.name], group_name="publication", kinds={"ckan"}, pool="duckdb_warehouse",
              deps=[dg.AssetKey(["publication", t.mart]) for t in family.tables],
              description=f"{family.title}: the dataset series « {family.name} » on the CKAN portal and its "
                          "current release (CSV, Parquet, Table Schema, chart, quality report; statistical "
                          "secrecy applied); a correction is a new version, never an overwrite.")
    def _publish(context: dg.AssetExecutionContext, hub: HubResource) -> dg.MaterializeResult:
        from territoire_hub.publish.publisher import client_from, publish_all

        settings = hub.settings()
        (result,) = publish_all(settings, hub.registry(), client_from(settings), run_id=hub_run_id(context),
                                mart_datasets=mart_datasets(settings, hub.registry()), echo=context.log.info, families=(family,))
        if result.skipped:
            raise dg.Failure(description=result.skipped)
        return dg.MaterializeResult(metadata={
            "url": dg.MetadataValue.url(result.url), "resources_updated": result.changed,
            "metadata_revised": result.revised, "release": result.release or "",
            "cells_under_secrecy": result.secret_cells})

    return _publish


def portal_assets(marts: set[str]) -> list[dg.AssetsDefinition]:
    return [_portal_asset(f) for f in FAMILIES if all(t.mart in marts for t in f.tables)]
