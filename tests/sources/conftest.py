"""Fixtures shared by the tests of the sources layer."""

from __future__ import annotations

import pytest

from territoire_hub.orchestration.dbt import run_dbt
from territoire_hub.settings import Settings


@pytest.fixture(scope="session")
def current_sql(tmp_path_factory) -> str:
    """The current records of the hourly-counter layout, as the staging model selects them."""
    settings = Settings.from_env({"HUB_HOME": str(tmp_path_factory.mktemp("current"))})
    settings.warehouse.parent.mkdir(parents=True)
    inline = ("select identifiant_arc, date_et_heure_de_comptage, debit_horaire from ("
              "{{ current_rows(source('formats', 'comptage_routier_horaire'), "
              "['identifiant_arc', 'date_et_heure_de_comptage']) }}) as c")
    return run_dbt(settings, ["--quiet", "compile", "--inline", inline]).stdout
