"""dbt docs generate works, and every mart and every mart column is described (with its unit);
the unit tests of the models' SQL run here, once (production builds leave them out)."""

from __future__ import annotations

import json
import re

import pytest

from territoire_hub.lineage import target_path
from territoire_hub.orchestration.dbt import run_dbt
from tests.conftest import copy_home


@pytest.fixture(scope="module")
def built(demo_home, tmp_path_factory):
    """A copy of the session's demo: every model built."""
    return copy_home(demo_home, tmp_path_factory.mktemp("docs") / "home")


def test_the_unit_tests_of_the_models_pass(built):
    done = run_dbt(built, ["test", "--select", "test_type:unit"])    # raises on a failing one
    summary = re.search(r"PASS=(\d+) WARN=(\d+) ERROR=(\d+) SKIP=(\d+)", done.stdout)
    assert summary and int(summary[1]) >= 11 and summary.groups()[1:] == ("0", "0", "0"), done.stdout[-2000:]


def test_docs_generate_describes_every_mart_column(built):
    settings = built
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
