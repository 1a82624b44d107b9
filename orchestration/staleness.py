"""What a ``hub build`` has to run: the models, gates and snapshot whose inputs or code changed
since they were last built; the rest is up to date and left alone.

An asset of the build is stale when

* it was never materialised;
* its code version differs from the one its latest materialisation recorded (a model's code
  version is its SQL, the project's macros and variables, and the registry: ``dbt_assets.py``);
* a partner dataset it reads (a ``raw/<dataset>`` ancestor) has a delivery processed after its
  latest materialisation — loaded, corrected, quarantined or replayed. That time comes from
  ``landing.deliveries``, the hub's own record, so a ``hub replay`` (which runs outside Dagster)
  counts like an ingestion;

and every asset downstream of a stale one is stale. A build with nothing stale runs nothing: its
cost is loading the graph and one query of the delivery catalogue, whatever the history.

An asset whose build failed keeps its previous materialisation, so it is stale again at the next
build; a model whose new rows failed a test is not (the same inputs give the same failure):
``hub status`` shows the marts' gate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import dagster as dg
import duckdb


NEVER_BUILT = "never built"


def last_processed(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Per dataset, when its latest delivery was processed (POSIX seconds)."""
    try:
        rows = con.execute("SELECT dataset_key, max(processed_at) FROM landing.deliveries "
                           "WHERE processed_at IS NOT NULL GROUP BY dataset_key").fetchall()
    except duckdb.CatalogException:     # nothing was ever ingested
        return {}
    return {key: stamp.timestamp() for key, stamp in rows if isinstance(stamp, datetime)}


def stale_assets(instance: dg.DagsterInstance, graph, candidates: Iterable[dg.AssetKey],
                 processed: Mapping[str, float]) -> dict[dg.AssetKey, str]:
    """The stale assets among ``candidates`` (keys of ``graph``, an asset graph), each with the
    reason, in words: "never built", "its code changed", "new deliveries of <datasets>",
    "downstream of <asset>"."""
    candidates = set(candidates)
    latest = {record.asset_entry.asset_key: record.asset_entry.last_materialization_record
              for record in instance.get_asset_records(list(candidates))}
    recorded = instance.get_latest_materialization_code_versions(list(candidates))
    reasons: dict[dg.AssetKey, str] = {}
    for key in graph.toposorted_asset_keys:
        if key not in candidates:
            continue
        node = graph.get(key)
        materialised = latest.get(key)
        if materialised is None:
            reasons[key] = NEVER_BUILT
        elif node.code_version is not None and recorded.get(key) != node.code_version:
            reasons[key] = "its code changed"
        elif newer := sorted(a.path[1] for a in graph.get_ancestor_asset_keys(key)
                             if a.path[0] == "raw" and processed.get(a.path[1], 0.0) > materialised.timestamp):
            reasons[key] = "new deliveries of " + ", ".join(newer)
        elif upstream := sorted(p for p in node.parent_keys if p in reasons):
            reasons[key] = f"downstream of {upstream[0].to_user_string()}"
    return reasons

