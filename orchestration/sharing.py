"""The analysts' snapshot in Dagster: ``shared/snapshot``, downstream of every approved mart
(``publication/<mart>``). It is rewritten whenever an approved copy changes, and swapped in
atomically (``publish/shared_warehouse.py``): analysts reading the old one are not disturbed."""

import dagster as dg

from territoire_hub.lineage import mart_datasets
from territoire_hub.orchestration.quality import WAREHOUSE_POOL
from territoire_hub.orchestration.resources import HubResource
from territoire_hub.orchestration.tags import hub_run_id
from territoire_hub.publish.catalogue import FAMILIES


def shared_warehouse_asset(marts: set[str]) -> list[dg.AssetsDefinition]:
    shared = [t.mart for f in FAMILIES for t in f.tables if t.mart in marts]
    if not shared:
        return []

    @dg.asset(key=["shared", "snapshot"], group_name="publication", kinds={"duckdb"}, pool=WAREHOUSE_POOL,
              deps=[dg.AssetKey(["publication", m]) for m in shared],
              description="warehouse/shared.duckdb: the approved marts (statistical secrecy applied), the COG and "
                          "documented views for analysts; nothing raw. Checked for sensitive data, then swapped in.")
    def _snapshot(context: dg.AssetExecutionContext, hub: HubResource) -> dg.MaterializeResult:
        from territoire_hub.publish.shared_warehouse import write_snapshot

        settings = hub.settings()
        with hub.connect() as con:
            written = write_snapshot(con, settings, hub.registry(), hub_run_id(context), mart_datasets(settings, hub.registry()))
        return dg.MaterializeResult(metadata={
            "path": dg.MetadataValue.path(str(written.path)), "tables": len(written.tables),
            "cells_under_secrecy": written.secret_cells})

    return [_snapshot]
