"""The demo generator: deterministic bytes, the partners' real physical formats, registry-valid names."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from territoire_hub.sources.demo import GeneratedFile, Scale, generate_demo, write_manifest
from territoire_hub.sources.demo.energy import HEADER as ORE_HEADER
from territoire_hub.sources.demo.irve import DYNAMIC_HEADER, STATIC_HEADER
from territoire_hub.sources.demo.traffic import HEADER as PARIS_HEADER
from territoire_hub.sources.demo.weather import HOURLY_HEADER
from tests.conftest import SHARED_FORMATS
from tests.sources.samples import load_file

# ten days around the autumn DST change, every dataset, small sizes
SMALL = Scale(start=date(2024, 10, 22), days=10, counters=4, lamp_sensors=5, stations=3,
              charge_points=12, lamp_points=150)
SPRING = Scale(start=date(2024, 3, 30), days=2, counters=3, lamp_sensors=3, stations=2,
               charge_points=4, lamp_points=60, communes=10)


@pytest.fixture(scope="module")
def small(tmp_path_factory, registry) -> tuple[Path, list[GeneratedFile]]:
    out = tmp_path_factory.mktemp("demo")
    return out, generate_demo(out, registry, seed=7, scale=SMALL)


@pytest.fixture(scope="module")
def spring(tmp_path_factory, registry) -> list[GeneratedFile]:
    return generate_demo(tmp_path_factory.mktemp("spring"), registry, seed=7, scale=SPRING)


def _raw(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _rows(registry, f: GeneratedFile) -> list[list[str]]:
    """Decode with the dataset's declared encoding and split with its declared separator."""
    entry = registry.datasets[f.dataset_key]
    text = _raw(f.path).decode(entry.encodings[0]).removeprefix("\ufeff")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=entry.separators[0]))


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


MISHAPS = {"wrong_encoding", "truncated_gzip"}  # faulty on purpose (sources/demo/mishaps.py)


def _clean(files: list[GeneratedFile]) -> list[GeneratedFile]:
    return [f for f in files if f.note not in MISHAPS]


def _by_key(files: list[GeneratedFile], key: str) -> list[GeneratedFile]:
    return [f for f in files if f.dataset_key == key]


def test_same_seed_same_bytes(small, tmp_path, registry):
    out, _ = small
    generate_demo(tmp_path / "again", registry, seed=7, scale=SMALL)
    assert _digests(out) == _digests(tmp_path / "again")
    generate_demo(tmp_path / "other", registry, seed=8, scale=SMALL)
    other = _digests(tmp_path / "other")
    assert other.keys() == _digests(out).keys()
    assert other != _digests(out)


def test_every_dataset_is_delivered(small, registry):
    _, files = small
    assert {f.dataset_key for f in files} == set(registry.datasets)


def test_names_and_places_follow_the_registry(small, registry):
    out, files = small
    for f in files:
        entry = registry.datasets[f.dataset_key]
        assert entry.period_of(f.path.name) == f.period, f.path
        kind = "remote" if entry.dataset.transport.type == "http" else "inbox"
        assert f.path.relative_to(out).parts[:2] == (kind, entry.partner.id)
    remote = {str(f.path.relative_to(out)) for f in files if f.path.relative_to(out).parts[0] == "remote"}
    assert "remote/meteo-france/horaire/H_34_202410.csv.gz" in remote
    assert "remote/meteo-france/horaire/H_30_202411.csv.gz" not in remote  # stamps stop at the last day
    assert "remote/recharge-sud/irve/irve_statique.csv" in remote
    assert "remote/recharge-sud/irve/dynamique/irve_dynamique_20241027.csv.gz" in remote


def test_every_file_parses_with_its_declared_encoding_and_separator(small, registry):
    _, files = small
    files = _clean(files)
    for f in files:
        spec = registry.datasets[f.dataset_key].spec
        rows = _rows(registry, f)
        header = [h.strip() for h in rows[0]]
        assert set(spec.source_columns) <= set(header), (f.path, set(spec.source_columns) - set(header))
        assert len(rows) > 1, f.path
        assert {len(r) for r in rows} == {len(header)}, f.path


def test_every_file_loads_into_raw_without_errors(small, registry, warehouse, tmp_path):
    _, files = small
    files = _clean(files)
    warned: dict[str, set[str]] = {}
    for f in files:
        entry = registry.datasets[f.dataset_key]
        delivery_id, rows = load_file(warehouse, entry, f.path, tmp_path / "landing")
        issues = warehouse.execute(
            "SELECT severity, code, line, message FROM landing.issues WHERE delivery_id = ?", [delivery_id]).fetchall()
        errors = [i for i in issues if i[0] == "error"]
        assert rows == len(_rows(registry, f)) - 1 and errors == [], (f.path, errors[:3])
        warned.setdefault(f.dataset_key, set()).update(i[1] for i in issues)
    # the only warnings are the Paris layout's repeated rows, which the generator reproduces
    assert {k: v for k, v in warned.items() if v} == {"montpellier_metropole__comptages_routiers": {"duplicate_record"}}


def test_exact_published_headers(small, registry):
    _, files = small
    files = _clean(files)
    first = {f.dataset_key: _rows(registry, f)[0] for f in files}
    assert first["meteo_france__observations_horaires"] == HOURLY_HEADER and len(HOURLY_HEADER) == 204
    assert first["montpellier_metropole__comptages_routiers"] == PARIS_HEADER
    assert first["enedis__conso_annuelle_commune"] == ORE_HEADER
    assert first["recharge_sud__irve_statique"] == STATIC_HEADER
    assert first["recharge_sud__irve_dynamique"] == DYNAMIC_HEADER
    if SHARED_FORMATS.is_dir():
        def sample(rel: str, sep: str) -> list[str]:
            return (SHARED_FORMATS / rel).read_text(encoding="utf-8").splitlines()[0].split(sep)
        assert HOURLY_HEADER == sample("meteo/H_01_sample_ARBENT.csv", ";")
        assert PARIS_HEADER == sample("traffic/paris_comptages_routiers_permanents_extract.csv", ",")
        assert ORE_HEADER == sample("energy/ore_conso_elec_gaz_commune_2023_extract.csv", ",")
        assert STATIC_HEADER == sample("irve/exemple-valide-statique.csv", ",")
        assert DYNAMIC_HEADER == sample("irve/exemple-valide-dynamique.csv", ",")


def test_physical_quirks(small, registry):
    _, files = small
    by_name = {f.path.name: f for f in files}
    assert by_name["comptages_routiers_20241022.csv"].path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert by_name["conso_elec_commune_2024.csv"].path.read_bytes().startswith(b"\xef\xbb\xbfoperateur;")
    assert any(f.path.suffix == ".gz" for f in _by_key(files, "montpellier_metropole__capteurs_eclairage"))
    padded = [f for f in _by_key(files, "meteo_france__observations_horaires") if f.note == "num_poste_padded"]
    assert len(padded) == 1 and all(r[0].startswith(" ") for r in _rows(registry, padded[0])[1:])
    for key in ("herault_energies__points_lumineux", "ville_beaucaire__points_lumineux"):
        points = _rows(registry, _by_key(files, key)[0])
        assert all("," in r[3] and "." not in r[3] for r in points[1:])  # Lambert-93 X with a decimal comma


def test_dst_days_have_23_and_25_hours_per_counter(small, spring, registry):
    _, files = small
    for day, scale_files, hours in (("20241027", files, 25), ("20240331", spring, 23)):
        f = next(f for f in scale_files if f.path.name == f"comptages_routiers_{day}.csv")
        stamps = defaultdict(set)
        for row in _rows(registry, f)[1:]:
            stamps[row[0]].add(row[2])
        assert stamps and {len(s) for s in stamps.values()} == {hours}
    f = next(f for f in files if f.path.name == "comptages_routiers_20241027.csv")
    all_stamps = {row[2] for row in _rows(registry, f)[1:]}
    assert {"2024-10-27T02:00:00+02:00", "2024-10-27T02:00:00+01:00"} <= all_stamps
    f = next(f for f in spring if f.path.name == "comptages_routiers_20240331.csv")
    all_stamps = {row[2] for row in _rows(registry, f)[1:]}
    assert "2024-03-31T03:00:00+02:00" in all_stamps and not any("T02:" in s for s in all_stamps)


def test_naive_local_times_avoid_the_dst_hour(small, registry):
    _, files = small
    for f in files:
        if "tickets_pannes" in f.dataset_key:
            for row in _rows(registry, f)[1:]:
                assert not row[3].startswith("27/10/2024 02:") and not row[4].startswith("27/10/2024 02:")


def test_wave_two_lands_after_wave_one(small):
    _, files = small
    first = max(f.path.stat().st_mtime for f in files if f.wave == 1)
    second = [f for f in files if f.wave == 2]
    assert {f.note for f in second} == {"late", "corrected"}
    assert all(f.path.stat().st_mtime > first for f in second)
    traffic = _by_key(files, "montpellier_metropole__comptages_routiers")
    late = [f for f in traffic if f.note == "late"]
    assert len(late) == 1 and [f.period for f in traffic].count(late[0].period) == 1
    corrected = [f for f in traffic if f.note == "corrected"]
    assert len(corrected) == 1 and corrected[0].path.name.endswith("_rectificatif.csv")
    assert [f.period for f in traffic].count(corrected[0].period) == 2
    assert [f.note for f in files if f.dataset_key == "enedis__conso_annuelle_commune"] == ["", "corrected"]


def test_beaucaire_files_are_windows_1252(small):
    _, files = small
    files = _clean(files)
    beaucaire = [f for f in files if f.dataset_key.startswith("ville_beaucaire__")]
    assert {f.dataset_key for f in beaucaire} == {"ville_beaucaire__points_lumineux", "ville_beaucaire__tickets_pannes"}
    for f in beaucaire:
        data = f.path.read_bytes()
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
        text = data.decode("cp1252")
        assert "é" in text and "30032" in text


def test_weather_values_are_consistent(small, registry):
    _, files = small
    header = HOURLY_HEADER
    t, tn, tx, rr = (header.index(c) for c in ("T", "TN", "TX", "RR1"))
    for f in _by_key(files, "meteo_france__observations_horaires"):
        for row in _rows(registry, f)[1:]:
            if row[t]:
                assert float(row[tn]) <= float(row[t]) <= float(row[tx]) and -5 < float(row[t]) < 35
            assert row[rr] == "" or float(row[rr]) >= 0


def test_energy_secrecy_cells(small, registry):
    _, files = small
    rows = _rows(registry, _by_key(files, "enedis__conso_annuelle_commune")[0])
    h = rows[0]
    nb, total, mean, sector = (h.index(c) for c in ("nb_sites", "conso_totale_mwh", "conso_moyenne_mwh",
                                                    "code_grand_secteur"))
    secret = [r for r in rows[1:] if r[nb] == ""]
    assert secret and all(r[total] == "" and r[mean] == "0.0" for r in secret)
    shown = [r for r in rows[1:] if r[nb] != ""]
    assert all(float(r[nb]) >= (10 if r[sector] == "RESIDENTIEL" else 3) for r in shown)
    assert all(r[nb].endswith(".0") for r in shown)


def test_manifest(small, tmp_path):
    _, files = small
    path = write_manifest(files, tmp_path / "manifest.json")
    items = json.loads(path.read_text(encoding="utf-8"))
    assert len(items) == len(files) and {"dataset_key", "path", "period", "wave", "note"} <= items[0].keys()


def test_faulty_deliveries_are_there_and_get_quarantined_for_the_right_reason(small, registry, warehouse, tmp_path):
    _, files = small
    faulty = {f.note: f for f in files if f.note in MISHAPS}
    assert set(faulty) == MISHAPS
    wrong = faulty["wrong_encoding"]
    correction = next(f for f in files if f.dataset_key == wrong.dataset_key and f.note == "corrected")
    assert correction.period == wrong.period and correction.wave == 2
    assert correction.path.read_bytes().decode("cp1252") == wrong.path.read_bytes().decode("utf-8")
    for note, f in faulty.items():
        delivery_id, rows = load_file(warehouse, registry.datasets[f.dataset_key], f.path, tmp_path / "landing")
        codes = [r[0] for r in warehouse.execute(
            "SELECT code FROM landing.issues WHERE delivery_id = ?", [delivery_id]).fetchall()]
        assert (rows, codes) == (0, [note])


def _cabinet_indexes(registry, files: list[GeneratedFile]) -> dict[str, list[tuple[date, int]]]:
    """Every cabinet's meter readings (day, index in kWh), in day order."""
    readings: dict[str, list[tuple[date, int]]] = defaultdict(list)
    for f in files:
        if registry.datasets[f.dataset_key].dataset.format == "eclairage_releves_armoire":
            header, *rows = _rows(registry, f)
            for row in rows:
                cabinet, day, index = row[header.index("id_armoire")], row[header.index("date_releve")], \
                    row[header.index("index_kwh")]
                readings[cabinet].append((date(int(day[6:]), int(day[3:5]), int(day[:2])), int(index)))
    return {cabinet: sorted(days) for cabinet, days in readings.items()}


def test_a_history_generated_in_two_pieces_continues_the_cabinet_meters(tmp_path, registry):
    """bench/run.py --years generates a year at a time: the second piece's meters continue from the
    first's (a new random index each piece reads as a jump of up to 245 MWh in one day, which the
    gate rightly refuses as an implausible kWh per lamp point)."""
    scale = dict(counters=2, lamp_sensors=2, stations=2, charge_points=2, lamp_points=150, communes=10)
    first = generate_demo(tmp_path / "a", registry, seed=7, scale=Scale(start=date(2024, 10, 20), days=7, **scale))
    second = generate_demo(tmp_path / "b", registry, seed=7, scale=Scale(start=date(2024, 10, 27), days=7, **scale))
    before, after = _cabinet_indexes(registry, _clean(first)), _cabinet_indexes(registry, _clean(second))
    assert before and set(before) == set(after)
    for cabinet in before:
        (last_day, last), (next_day, following) = before[cabinet][-1], after[cabinet][0]
        daily = [(b[1] - a[1]) / (b[0] - a[0]).days for a, b in zip(before[cabinet], before[cabinet][1:])]
        typical = sorted(daily)[len(daily) // 2]
        assert typical > 0
        # across the pieces (and the DST change of 27 October) a day's consumption, like any other
        assert 0.5 * typical < (following - last) / (next_day - last_day).days < 1.5 * typical, cabinet
