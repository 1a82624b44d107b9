"""A later delivery of the same period: under `replace_period` it replaces the earlier file whole
and names every record it withdraws; under `upsert` it replaces only the records whose keys it
carries. The current data is read through the staging macro dbt compiles (`current_rows`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from territoire_hub.formats import load_format
from territoire_hub.registry import Dataset, Partner, PartnerDataset, RegistryError, load_registry
from tests.sources.samples import load_file
from tests.sources.test_loading import traffic_file, traffic_rows

FORMATS = Path(__file__).resolve().parents[2] / "territoire_hub" / "formats"
FULL_DAY, ROLLING_DAY = "2024-11-05", "2024-11-12"


def monthly(supersession: str) -> PartnerDataset:
    """The city's hourly counters delivered as one file per month (re-delivered as it fills)."""
    partner = Partner(id="montpellier-metropole", name="Montpellier Méditerranée Métropole", kind="epci")
    dataset = Dataset(id="comptages_routiers", format="comptage_routier_horaire", transport={"type": "inbox"},
                      filename=r"^comptages_routiers_(?P<period>\d{6})(_[a-z0-9]+)?\.csv$", cadence="monthly",
                      start="2024-01-01", separator=";", encoding="utf-8-sig", licence="odbl", sensitivity="open",
                      supersession=supersession)
    return PartnerDataset(partner=partner, dataset=dataset, spec=load_format("comptage_routier_horaire"))


def deliver_twice(warehouse, entry, tmp_path):
    """A month file with a full day and the first 12 hours of another, then a re-delivery of the
    month carrying only hours 06–17 of that second day (other flows: the counter's later count)."""
    rolling = traffic_rows(ROLLING_DAY)
    first = tmp_path / "comptages_routiers_202411.csv"
    first.write_text(traffic_file(FULL_DAY, traffic_rows(FULL_DAY) + rolling[:12]), encoding="utf-8")
    later = [row.replace(".0;12,5;", "5.0;12,5;", 1) for row in rolling[6:18]]   # 106.0 → 1065.0
    second = tmp_path / "comptages_routiers_202411_maj.csv"
    second.write_text(traffic_file(ROLLING_DAY, later), encoding="utf-8")
    one, rows_one = load_file(warehouse, entry, first)
    two, rows_two = load_file(warehouse, entry, second)
    assert (rows_one, rows_two) == (36, 12)
    return one, two


def current(warehouse, sql: str) -> dict[str, list[float]]:
    rows = warehouse.execute(f"SELECT CAST(timezone('Europe/Paris', date_et_heure_de_comptage - INTERVAL 1 HOUR) AS DATE), "
                             f"debit_horaire FROM ({sql}) ORDER BY date_et_heure_de_comptage").fetchall()
    out: dict[str, list[float]] = {}
    for day, flow in rows:
        out.setdefault(day.isoformat(), []).append(flow)
    return out


def test_upsert_keeps_the_records_a_rolling_file_does_not_carry(warehouse, tmp_path, current_sql):
    one, two = deliver_twice(warehouse, monthly("upsert"), tmp_path)
    assert warehouse.execute("SELECT count(*) FROM landing.deliveries WHERE superseded_by IS NOT NULL").fetchone() == (0,)
    days = current(warehouse, current_sql)
    assert len(days[FULL_DAY]) == 24                   # the day delivered only in the first file stays
    assert len(days[ROLLING_DAY]) == 18                # hours 00–17: 00–05 from the first, 06–17 from the second
    assert all(flow < 1000 for flow in days[ROLLING_DAY][:6])    # the first file's counts
    assert all(flow > 1000 for flow in days[ROLLING_DAY][6:])    # the later counts won
    assert warehouse.execute("SELECT count(*) FROM landing.issues WHERE code = 'records_withdrawn'").fetchone() == (0,)


def test_replace_period_withdraws_the_earlier_file_and_names_what_left(warehouse, tmp_path, current_sql):
    one, two = deliver_twice(warehouse, monthly("replace_period"), tmp_path)
    assert warehouse.execute("SELECT superseded_by FROM landing.deliveries WHERE delivery_id = ?", [one]).fetchone() == (two,)
    days = current(warehouse, current_sql)
    assert set(days) == {ROLLING_DAY} and len(days[ROLLING_DAY]) == 12
    # the 24 hours of the full day and hours 00–05 of the other: 30 records, announced on the new delivery
    (severity, message), = warehouse.execute(
        "SELECT severity, message FROM landing.issues WHERE delivery_id = ? AND code = 'records_withdrawn'", [two]).fetchall()
    assert severity == "warning", message
    assert "replaces comptages_routiers_202411.csv as a whole" in message
    assert "30 of its records are not in this file" in message
    assert "identifiant_arc=101, date_et_heure_de_comptage=2024-11-0" in message
    assert "supersession: upsert" in message


def test_upsert_needs_a_key_and_a_known_policy(tmp_path):
    registry, formats = tmp_path / "registry", tmp_path / "formats"
    registry.mkdir()
    formats.mkdir()
    (registry / "territory.yaml").write_text("territory: {name: T, cog_vintage: 2026, communes: ['34172']}\n")
    entry = ("partner: {{id: ville, name: Ville, kind: commune}}\n"
             "datasets:\n  - id: tickets\n    format: {format}\n    transport: {{type: inbox}}\n"
             "    filename: '^t_(?P<period>\\d{{6}})\\.csv$'\n    cadence: monthly\n    start: '2024-01-01'\n"
             "    licence: licence-ouverte-2.0\n    sensitivity: open\n    supersession: {policy}\n")
    (registry / "ville.yaml").write_text(entry.format(format="eclairage_tickets", policy="merge"))
    with pytest.raises(RegistryError, match=r"supersession.*'replace_period' or 'upsert'"):
        load_registry(registry)
    (registry / "ville.yaml").write_text(entry.format(format="eclairage_tickets", policy="upsert"))
    assert load_registry(registry).datasets["ville__tickets"].dataset.supersession.value == "upsert"
    # a region's own layout without a key: nothing to upsert by
    spec = yaml.safe_load((FORMATS / "eclairage_tickets.yaml").read_text())
    spec.update(id="tickets_sans_cle", grain=[])
    (formats / "tickets_sans_cle.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True))
    (registry / "ville.yaml").write_text(entry.format(format="tickets_sans_cle", policy="upsert"))
    with pytest.raises(RegistryError, match="supersession: upsert replaces records by key, and format "
                                            "'tickets_sans_cle' declares no key"):
        load_registry(registry, formats)
    (registry / "ville.yaml").write_text(entry.format(format="tickets_sans_cle", policy="replace_period"))
    assert load_registry(registry, formats).datasets["ville__tickets"].spec.grain == []
