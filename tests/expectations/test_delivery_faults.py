"""One fault per file in otherwise clean demo deliveries: the intended expectation catches it with
the intended severity, the delivery is quarantined (critical) or flagged (warning), and every other
partner's data still flows. Faults in files of different datasets share one ingestion run (each
must still be named alone, and not leak into the others); faults of the same file get a run each."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from territoire_hub.warehouse import connect
from tests.expectations.scenes import CABINETS, METEO, MISHAPS, TRAFFIC, column, edit, ingest_tree, \
    set_field, statuses

# -- the faults ------------------------------------------------------------------------------------

def hot_temperature(lines):
    t, tx = column(lines, "T"), column(lines, "TX")
    # line 6 of the file: a sensor gone wild reads 65.3 °C, its hour's maximum with it (TN ≤ T ≤ TX
    # still holds: the range is the only rule broken)
    lines[5] = set_field(set_field(lines[5], t, "65.3"), tx, "65.8")
    return lines


def unknown_insee(lines):
    c = column(lines, "code_insee")
    lines[3] = set_field(lines[3], c, "34999")         # no commune 34999 in the COG
    return lines


def duplicated_hour(lines):
    return lines[:4] + [lines[3]] + lines[4:]          # line 4 delivered twice, identical


def conflicting_hour(lines):
    flow = column(lines, "Débit horaire")
    copy = set_field(lines[3], flow, "9999.0")
    return lines[:4] + [copy] + lines[4:]


def missing_hours(lines):
    arc = column(lines, "Identifiant arc")
    first = lines[1].split(";")[arc]
    rows = [i for i, line in enumerate(lines) if i and line.split(";")[arc] == first]
    drop = set(rows[: round(len(rows) * 0.3)])         # 30 % of that counter's hours
    return [line for i, line in enumerate(lines) if i not in drop]


def shifted_hours(lines):
    from datetime import datetime, timedelta

    when = column(lines, "Date et heure de comptage")

    def shift(line: str) -> str:
        value = line.split(";")[when]
        moved = datetime.fromisoformat(value) + timedelta(hours=1)
        return set_field(line, when, moved.isoformat())
    return [lines[0]] + [shift(line) for line in lines[1:]]


def meter_spike(lines):
    cabinet, index = column(lines, "id_armoire"), column(lines, "index_kwh")
    first = lines[1].split(";")[cabinet]
    rows = [i for i, line in enumerate(lines) if i and line.split(";")[cabinet] == first]
    values = [float(lines[i].split(";")[index].replace(",", ".")) for i in rows]
    usual = sorted(b - a for a, b in zip(values, values[1:]))[len(values) // 2 - 1]
    jump = 100 * usual
    for i in rows[2:]:                                 # from the third reading on, the index jumps
        v = float(lines[i].split(";")[index].replace(",", ".")) + jump
        lines[i] = set_field(lines[i], index, f"{v:.1f}")
    return lines


SCENARIOS = {
    # name: (file, fault, check, severity, expected delivery status)
    "temperature_out_of_range": (METEO, hot_temperature, "out_of_range", "critical", "quarantined"),
    "unknown_insee_code": (CABINETS, unknown_insee, "unknown_insee_code", "critical", "quarantined"),
    "duplicated_hour": (TRAFFIC, duplicated_hour, "duplicate_record", "warning", "loaded"),
    "conflicting_duplicated_hour": (TRAFFIC, conflicting_hour, "conflicting_duplicates", "critical", "quarantined"),
    "thirty_percent_hours_missing": (TRAFFIC, missing_hours, "incomplete_day", "warning", "loaded"),
    "timestamps_shifted_one_hour": (TRAFFIC, shifted_hours, "outside_period", "critical", "quarantined"),
    "meter_spike": (CABINETS, meter_spike, "meter_spike", "critical", "quarantined"),
}


# scenarios ingested together: each in a file of its own dataset
RUNS = [("temperature_out_of_range", "unknown_insee_code", "duplicated_hour"),
        ("meter_spike", "conflicting_duplicated_hour"),
        ("thirty_percent_hours_missing",),
        ("timestamps_shifted_one_hour",)]


def test_the_runs_cover_every_scenario_once_with_one_fault_per_file():
    assert sorted(s for run in RUNS for s in run) == sorted(SCENARIOS)
    for run in RUNS:
        assert len({SCENARIOS[s][0] for s in run}) == len(run), run


@pytest.mark.parametrize("run", RUNS, ids=["+".join(r) for r in RUNS])
def test_each_fault_is_caught_by_its_expectation(run, pristine, registry, tmp_path):
    shutil.copytree(pristine, tmp_path / "data")
    for scenario in run:
        relative, fault, *_ = SCENARIOS[scenario]
        edit(tmp_path / "data", relative, fault)
    settings = ingest_tree(tmp_path, registry)
    faulty = {Path(SCENARIOS[scenario][0]).name for scenario in run}

    for scenario in run:
        relative, fault, check, severity, status = SCENARIOS[scenario]
        filename = Path(relative).name
        con = connect(settings.warehouse, read_only=True)
        try:
            delivery_id, got_status = con.execute(
                "SELECT delivery_id, status FROM landing.deliveries WHERE filename = ?", [filename]).fetchone()
            issues = con.execute("SELECT code, severity FROM landing.issues WHERE delivery_id = ?", [delivery_id]).fetchall()
            failed = con.execute(
                "SELECT DISTINCT check_id, severity FROM quality.validations WHERE subject = ? AND NOT success",
                [delivery_id]).fetchall()
            key = con.execute("SELECT dataset_key FROM landing.deliveries WHERE delivery_id = ?", [delivery_id]).fetchone()[0]
            in_raw = con.execute(f'SELECT count(*) FROM raw."{key}" WHERE _delivery_id = ?', [delivery_id]).fetchone()[0]
        finally:
            con.close()

        assert got_status == status, scenario
        assert (check, "error" if severity == "critical" else "warning") in issues, scenario
        assert (check, severity) in failed, scenario
        if severity == "critical":
            # the intended expectation is the only critical one: the fault is named precisely
            assert {c for c, s in failed if s == "critical"} == {check}, scenario
            assert in_raw == 0
        else:
            assert in_raw > 0

    # every other delivery, of every partner, flows as in the clean run
    others = {f: s for f, s in statuses(settings).items() if f not in faulty}
    assert {f for f, s in others.items() if s != "loaded"} == MISHAPS


def test_clean_deliveries_only_carry_the_demo_s_known_warnings(pristine, registry, tmp_path):
    shutil.copytree(pristine, tmp_path / "data")
    settings = ingest_tree(tmp_path, registry)
    assert {f for f, s in statuses(settings).items() if s != "loaded"} == MISHAPS
    con = connect(settings.warehouse, read_only=True)
    try:
        failed = con.execute(
            "SELECT DISTINCT v.check_id, v.severity FROM quality.validations v JOIN landing.deliveries d "
            "ON d.delivery_id = v.subject WHERE NOT v.success AND d.status = 'loaded'").fetchall()
    finally:
        con.close()
    # the Paris layout repeats rows (warning); the generated month of weather is 4 days long
    assert set(failed) <= {("duplicate_record", "warning"), ("incomplete_day", "warning"),
                           ("conflicting_duplicates", "warning")}  # IRVE events in the same second
