"""Rules on the values of one record, tested on real published lines broken one value at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sources.samples import load_file, plain_entry

METEO = Path(__file__).resolve().parents[1] / "fixtures" / "formats" / "meteo"


def _swap(line: str, header: list[str], a: str, b: str) -> str:
    fields = line.split(";")
    i, j = header.index(a), header.index(b)
    fields[i], fields[j] = fields[j], fields[i]
    return ";".join(fields)


@pytest.mark.parametrize("fixture, fmt, line, low, high, message", [
    # Bas-Rhin, Belmont, 2024-01-01: TN -0.1, TX 2.5 — written the other way round
    ("Q_67_latest-2024-2025_RR-T-Vent_extract.csv", "meteo_france_quotidien", 2, "TN", "TX",
     "TN 2.5 is above TX -0.1 in the same record"),
    # Ain, hourly: an hour's minimum above the temperature that closes it
    ("H_01_latest-2023-2024_extract.csv", "meteo_france_horaire", 3, "TN", "T", None),
])
def test_extremes_in_the_wrong_order_quarantine_the_file_naming_the_line(warehouse, tmp_path, fixture, fmt, line,
                                                                         low, high, message):
    lines = (METEO / fixture).read_text().splitlines()
    header = lines[0].split(";")
    original = lines[line - 1]
    if message is None:       # the hourly fixture's values, read from the line itself
        values = dict(zip(header, original.split(";")))
        assert float(values[low]) < float(values[high]), original   # a real line in the right order
        message = f"{low} {float(values[high])} is above {high} {float(values[low])} in the same record"
    lines[line - 1] = _swap(original, header, low, high)
    path = tmp_path / fixture
    path.write_text("\n".join(lines) + "\n")
    entry = plain_entry(fmt, dataset_id=fmt)
    delivery, rows = load_file(warehouse, entry, path)
    assert rows == 0
    errors = warehouse.execute("SELECT code, line, column_name, message FROM landing.issues WHERE delivery_id = ? "
                               "AND severity = 'error'", [delivery]).fetchall()
    assert errors == [("inconsistent_values", line, f"{low}, {high}", message)]
    # the published line, unchanged, loads
    lines[line - 1] = original
    path.write_text("\n".join(lines) + "\n")
    assert load_file(warehouse, entry, path)[1] == len(lines) - 1


def test_a_repeated_hour_is_no_reading_more_for_completeness(warehouse, tmp_path):
    """A counter's day with 20 of its 24 hours, three of them delivered twice: 20 readings, not 23
    (20/24 is under the 90 % a day needs; 23/24 would not be), and the copies are flagged."""
    from tests.sources.test_loading import issues, traffic_file, traffic_rows
    from tests.sources.test_row_quarantine import counters

    rows = traffic_rows("2024-06-12")[:20]
    rows += rows[5:8]                                           # lines 22–24 repeat lines 7–9
    path = tmp_path / "comptages_routiers_20240612.csv"
    path.write_text(traffic_file("2024-06-12", rows), encoding="utf-8")
    delivery, loaded = load_file(warehouse, counters("file"), path)
    assert loaded == 23
    found = {code: message for code, _, _, message in issues(warehouse, path.name)}
    assert found["incomplete_day"].startswith("101 on 2024-06-12: 20 of 24 expected readings (83%")
    assert "duplicate_record" in found
