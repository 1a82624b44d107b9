"""The registry is validated at load; errors name the file and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

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


def test_a_file_that_is_not_yaml_names_its_line(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "enedis.yaml"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:2]) + "  broken: [unclosed\n" + "".join(lines[2:]))
    with pytest.raises(RegistryError) as err:
        load_registry(folder)
    assert str(err.value).startswith(f"{path}: not valid YAML")
    assert "line 3, column 11" in str(err.value)          # where the unclosed list opens


def test_duplicate_partner_is_refused(tmp_path):
    folder = _copy(tmp_path)
    shutil.copyfile(folder / "enedis.yaml", folder / "enedis-copy.yaml")
    with pytest.raises(RegistryError, match="partner 'enedis' is declared twice"):
        load_registry(folder)


def test_demo_links_are_declared_or_inferred(registry):
    links = set(registry.links())
    # declared: the métropole's lamp sensors are on the syndicate's light points
    assert ("montpellier_metropole__capteurs_eclairage", "inventory", "herault_energies__points_lumineux") in links
    # inferred: a partner's counts go with its own site list, its tickets with its own inventory
    assert ("montpellier_metropole__comptages_routiers", "sites", "montpellier_metropole__compteurs_routiers") in links
    assert ("ville_beaucaire__tickets_pannes", "inventory", "ville_beaucaire__points_lumineux") in links
    assert ("recharge_sud__irve_dynamique", "inventory", "recharge_sud__irve_statique") in links


@pytest.mark.parametrize("edit, fragment", [
    (("montpellier-metropole.yaml", "links: {inventory: herault-energies/points_lumineux}",
      "links: {inventory: herault-energies/nope}"), "field datasets.2.links.inventory: no dataset 'herault-energies/nope'"),
    (("montpellier-metropole.yaml", "links: {inventory: herault-energies/points_lumineux}",
      "links: {inventory: herault-energies/tickets_pannes}"), "has format 'eclairage_tickets'"),
    (("montpellier-metropole.yaml", "links: {inventory: herault-energies/points_lumineux}",
      "links: {cabinet: herault-energies/points_lumineux}"), "unknown role(s) ['cabinet']"),
    (("enedis.yaml", "domain: energy", "domain: traffic"), "format 'ore_conso_commune' is of domain 'energy'"),
    (("herault-energies.yaml", "cadence: snapshot", "cadence: snapshot\n    period: content"),
     "`period: content` does not apply"),
    (("territory.yaml", "territory:", "region:"), "the territory is now declared as `territory:`"),
])
def test_links_domains_and_periods_are_checked(tmp_path, edit, fragment):
    folder = _copy(tmp_path)
    name, old, new = edit
    path = folder / name
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(RegistryError) as err:
        load_registry(folder)
    assert str(path) in str(err.value) and fragment in str(err.value)


def test_formats_and_registry_live_outside_the_source_tree(tmp_path):
    """A region keeps its own formats beside the packaged ones (HUB_FORMATS) and its registry
    anywhere (HUB_REGISTRY)."""
    folder = _copy(tmp_path)
    formats = tmp_path / "formats"
    formats.mkdir()
    own = (Settings.from_env({}).load_registry().formats["eclairage_tickets"].model_dump(exclude_none=True))
    own.update(id="tickets_gmao_regionale", title="Tickets d'une GMAO régionale")
    (formats / "tickets_gmao_regionale.yaml").write_text(yaml.safe_dump(own, allow_unicode=True))
    (folder / "ville-test.yaml").write_text(
        "partner: {id: ville-test, name: Ville test, kind: commune}\n"
        "datasets:\n  - id: tickets\n    format: tickets_gmao_regionale\n    transport: {type: inbox}\n"
        "    filename: '^tickets_(?P<period>\\d{6})\\.csv$'\n    cadence: monthly\n    start: '2024-01-01'\n"
        "    licence: licence-ouverte-2.0\n    sensitivity: personal\n")
    settings = Settings.from_env({"HUB_REGISTRY": str(folder), "HUB_FORMATS": str(formats)})
    registry = settings.load_registry()
    assert registry.dataset("ville_test__tickets").spec.id == "tickets_gmao_regionale"
    assert "tickets_gmao_regionale" in registry.formats and "eclairage_tickets" in registry.formats


def test_the_structure_is_declared_beside_the_territory(registry):
    structure = registry.structure
    assert structure.id == "territoire-hub" and structure.contact.email.endswith("@territoire-hub.example.org")
    assert structure.logo == REGISTRY.resolve() / "logo.png" and structure.logo.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("edit, fragment", [
    (("logo: logo.png", "logo: absent.png"), "field structure.logo: absent.png: no such file"),
    (("logo: logo.png", "logo: territory.yaml"), "field structure.logo: territory.yaml: an image"),
    (('email: "donnees@territoire-hub.example.org"', 'email: "pas une adresse"'), "structure.contact.email"),
    (('homepage: "https://territoire-hub.example.org"', 'homepage: "territoire-hub.example.org"'),
     "structure.homepage"),
])
def test_a_wrong_structure_names_the_field(tmp_path, edit, fragment):
    folder = _copy(tmp_path)
    territory = folder / "territory.yaml"
    text = territory.read_text()
    assert edit[0] in text
    territory.write_text(text.replace(edit[0], edit[1]))
    with pytest.raises(RegistryError) as caught:
        load_registry(folder)
    assert "territory.yaml" in str(caught.value) and fragment in str(caught.value)


def test_a_territory_without_structure_gets_the_default_one(tmp_path):
    folder = _copy(tmp_path)
    territory = folder / "territory.yaml"
    territory.write_text(territory.read_text().split("\nstructure:")[0] + "\n")
    structure = load_registry(folder).structure
    assert structure.id == "territoire-hub" and structure.contact is None and structure.logo is None
