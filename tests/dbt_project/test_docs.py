"""dbt docs generate works, and every mart and every mart column is described (with its unit)."""

from __future__ import annotations

import json

from territoire_hub.lineage import target_path
from territoire_hub.orchestration.dbt import run_dbt
from tests.dbt_harness import ingest, run_models


def test_docs_generate_describes_every_mart_column(settings, registry):
    ingest(settings, registry, [])  # an empty but prepared warehouse: marts build with zero rows
    run_models(settings)
    run_dbt(settings, ["docs", "generate"])
    target = target_path(settings)
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    assert (target / "index.html").exists()
    marts = {uid: node for uid, node in manifest["nodes"].items()
             if node["resource_type"] == "model" and node["fqn"][1] == "marts"}
    assert marts, "no mart in the project"
    undocumented = []
    for uid, node in marts.items():
        if not node["description"].strip():
            undocumented.append(node["name"])
        for column in catalog["nodes"][uid]["columns"]:
            documented = node["columns"].get(column, {}).get("description", "").strip()
            if not documented:
                undocumented.append(f"{node['name']}.{column}")
    assert undocumented == []
