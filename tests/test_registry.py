"""The registry is validated at load; errors name the file and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from territoire_hub.settings import Settings
from territoire_hub.registry import Cadence, RegistryError, Sensitivity, load_registry

REGISTRY = Settings.from_env({}).registry_dir


def test_demo_registry(registry):
    assert len(registry.partners) >= 6
    kinds = {p.kind.value for p in registry.partners.values()}
    assert {"commune", "epci", "energy_syndicate", "private_company"} <= kinds
    assert {d.dataset.domain for d in registry.datasets.values()} == {"weather", "energy", "lighting", "traffic", "ev_charging"}
    enedis = registry.dataset("enedis__conso_annuelle_commune").dataset
    assert enedis.sensitivity is Sensitivity.commercial and enedis.cadence is Cadence.yearly
    assert enedis.secrecy.by_sector["RESIDENTIEL"].min_contributors == 10
    assert registry.dataset("montpellier_metropole__comptages_routiers").period_of("comptages_routiers_20240331_rectificatif.csv") == "20240331"
    assert registry.dataset("montpellier_metropole__comptages_routiers").period_of("other.csv") is None


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "registry"
    shutil.copytree(REGISTRY, target)
    return target


@pytest.mark.parametrize("edit, fragment", [
    (("enedis.yaml", "sensitivity: commercial", "sensitivity: secret"), "field datasets.0.sensitivity"),
    (("enedis.yaml", "licence: licence-ouverte-2.0", "licence: cc-by"), "unknown licence 'cc-by'"),
    (("enedis.yaml", 'siren: "444608442"', 'siren: "4446"'), "field partner.siren"),
    (("enedis.yaml", "format: ore_conso_commune", "format: nope"), "field datasets.0.format: unknown format 'nope'"),
    (("enedis.yaml", '    start: "2023-01-01"\n', ""), "needs a 'start' date"),
    (("meteo-france.yaml", "type: http", "type: ftp"), "field datasets.0.transport"),
])
def test_invalid_entry_names_file_and_field(tmp_path, edit, fragment):
    folder = _copy(tmp_path)
    name, old, new = edit
    path = folder / name
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(RegistryError) as err:
        load_registry(folder)
    assert str(path) in str(err.value)
    assert fragment in str(err.value)


def test_duplicate_partner_is_refused(tmp_path):
    folder = _copy(tmp_path)
    shutil.copyfile(folder / "enedis.yaml", folder / "enedis-copy.yaml")
    with pytest.raises(RegistryError, match="partner 'enedis' is declared twice"):
        load_registry(folder)
