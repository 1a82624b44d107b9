"""The dbt models' shared code version (orchestration/dbt_assets.py): what every model depends on
besides its SQL. A registry moved with its hub home keeps it; a change the models read does not."""

from __future__ import annotations

import shutil

from territoire_hub.dbt_project import DBT_PROJECT_DIR
from territoire_hub.orchestration.dbt_assets import shared_version
from territoire_hub.registry import load_registry
from territoire_hub.settings import PACKAGE_SOURCES


def test_a_moved_registry_keeps_the_models_version_and_a_changed_one_does_not(tmp_path):
    here, moved = tmp_path / "home" / "registry", tmp_path / "elsewhere" / "registry"
    for folder in (here, moved):
        shutil.copytree(PACKAGE_SOURCES / "registry", folder)
    first, second = load_registry(here), load_registry(moved)
    assert first.structure.logo == here / "logo.png"          # an absolute path, different for each
    assert shared_version(DBT_PROJECT_DIR, first) == shared_version(DBT_PROJECT_DIR, second)

    partner = moved / "enedis.yaml"
    partner.write_text(partner.read_text().replace("name: Enedis (", "name: Enedis SA ("))
    assert shared_version(DBT_PROJECT_DIR, load_registry(moved)) != shared_version(DBT_PROJECT_DIR, first)
