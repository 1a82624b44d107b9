"""`quarantine: rows`: a delivery's bad records are kept aside with line, column, value and reason,
the others load, the delivery is `partial` and its counts reconcile; past `max_bad_share` the whole
file is refused; under `quarantine: file` (the default) one bad record refuses the file."""

from __future__ import annotations

import pytest

from territoire_hub.formats import load_format
from territoire_hub.registry import Dataset, Partner, PartnerDataset
from tests.sources.samples import load_file
from tests.sources.test_loading import traffic_file, traffic_rows

DAY = "2024-06-12"


def counters(quarantine: str, max_bad_share: float = 0.05) -> PartnerDataset:
    partner = Partner(id="montpellier-metropole", name="Montpellier Méditerranée Métropole", kind="epci")
    dataset = Dataset(id="comptages_routiers", format="comptage_routier_horaire", transport={"type": "inbox"},
                      filename=r"^comptages_routiers_(?P<period>\d{8})\.csv$", cadence="daily", start="2024-01-01",
                      separator=";", encoding="utf-8-sig", licence="odbl", sensitivity="open",
                      quarantine=quarantine, max_bad_share=max_bad_share)
    return PartnerDataset(partner=partner, dataset=dataset, spec=load_format("comptage_routier_horaire"))


def _flow(row: str, value: str) -> str:
    fields = row.split(";")
    fields[3] = value                                          # Débit horaire
    return ";".join(fields)


def day_with_two_bad_records(tmp_path):
    """24 hours of one counter; line 5 has a flow that is no number (typing finds it), line 9 a
    flow no road carries (the delivery suite finds it)."""
    rows = traffic_rows(DAY)
    rows[3] = _flow(rows[3], "1O3.0")                          # letter O for a zero: line 5
    rows[7] = _flow(rows[7], "25000.0")                        # line 9
    path = tmp_path / f"comptages_routiers_{DAY.replace('-', '')}.csv"
    path.write_text(traffic_file(DAY, rows), encoding="utf-8")
    return path


def test_bad_records_are_kept_aside_and_the_others_load(warehouse, tmp_path, current_sql):
    entry = counters("rows", max_bad_share=0.10)
    delivery, rows = load_file(warehouse, entry, day_with_two_bad_records(tmp_path))
    assert rows == 22
    status, loaded, rejected = warehouse.execute(
        "SELECT status, rows_loaded, rows_rejected FROM landing.deliveries WHERE delivery_id = ?", [delivery]).fetchone()
    assert (status, loaded, rejected) == ("partial", 22, 2)          # delivered 24 = loaded 22 + rejected 2
    assert warehouse.execute("SELECT line, code, column_name, value FROM landing.rejected_rows "
                             "WHERE delivery_id = ? ORDER BY line", [delivery]).fetchall() == [
        (5, "bad_decimal", "Débit horaire", "1O3.0"),
        (9, "out_of_range", "Débit horaire", "25000.0")]
    lines = [r[0] for r in warehouse.execute(f"SELECT _source_line FROM {entry.raw_relation} "
                                             "WHERE _delivery_id = ? ORDER BY 1", [delivery]).fetchall()]
    assert lines == [n for n in range(2, 26) if n not in (5, 9)]
    # a partial delivery is current: staging reads its 22 records
    assert warehouse.execute(f"SELECT count(*) FROM ({current_sql})").fetchone() == (22,)
    # each bad record is reported with its line (errors of a delivery that still loaded), and the
    # delivery carries a warning saying what was kept aside
    issues = warehouse.execute("SELECT severity, code, line FROM landing.issues WHERE delivery_id = ? "
                               "ORDER BY line NULLS FIRST, code", [delivery]).fetchall()
    assert ("warning", "records_rejected", None) in issues
    assert ("error", "bad_decimal", 5) in issues and ("error", "out_of_range", 9) in issues
    message = warehouse.execute("SELECT message FROM landing.issues WHERE delivery_id = ? AND code = 'records_rejected'",
                                [delivery]).fetchone()[0]
    assert message.startswith("2 of 24 records refused and kept aside") and "the other 22 are loaded" in message


def test_more_bad_records_than_are_named_one_by_one_refuse_the_file(warehouse, tmp_path, monkeypatch):
    """A critical rule lists at most LISTED_CRITICAL failing records per delivery (each is set aside
    by its line); past it the records cannot all be named, and the file is refused as a whole with
    the true count, which the recorded validation keeps too (the first rows only are listed)."""
    from territoire_hub.expectations import gate

    monkeypatch.setattr(gate, "LISTED_CRITICAL", 2)
    rows = traffic_rows(DAY)
    for n in (2, 6, 10):                                       # lines 4, 8 and 12: flows no road carries
        rows[n] = _flow(rows[n], "25000.0")
    path = tmp_path / f"comptages_routiers_{DAY.replace('-', '')}.csv"
    path.write_text(traffic_file(DAY, rows), encoding="utf-8")
    delivery, loaded = load_file(warehouse, counters("rows", max_bad_share=0.5), path)
    assert loaded == 0
    assert warehouse.execute("SELECT status FROM landing.deliveries WHERE delivery_id = ?",
                             [delivery]).fetchone() == ("quarantined",)
    issues = warehouse.execute("SELECT code, line, message FROM landing.issues WHERE delivery_id = ? "
                               "AND code = 'out_of_range' ORDER BY line NULLS FIRST", [delivery]).fetchall()
    assert issues[0] == ("out_of_range", None, "3 records fail 'out_of_range': more than the 2 set aside one by one, "
                                               "the delivery is refused as a whole")
    assert [line for _, line, _ in issues[1:]] == [4, 8]         # the first two, in line order
    assert warehouse.execute("SELECT count(*) FROM landing.rejected_rows").fetchone() == (0,)
    assert warehouse.execute(
        "SELECT element_count, unexpected_count, success FROM quality.validations WHERE subject = ? "
        "AND check_id = 'out_of_range' AND column_name = 'debit_horaire'", [delivery]).fetchall() == [(24, 3, False)]


def test_past_the_share_the_dataset_accepts_the_whole_file_is_refused(warehouse, tmp_path):
    entry = counters("rows")                                         # 5 %: 2 of 24 records is 8.3 %
    delivery, rows = load_file(warehouse, entry, day_with_two_bad_records(tmp_path))
    assert rows == 0
    assert warehouse.execute("SELECT status, rows_rejected FROM landing.deliveries WHERE delivery_id = ?",
                             [delivery]).fetchone() == ("quarantined", None)
    message = warehouse.execute("SELECT message FROM landing.issues WHERE delivery_id = ? AND code = 'too_many_bad_records'",
                                [delivery]).fetchone()[0]
    assert message == ("2 of 24 records are bad (8.3%), more than the 5% this dataset loads without (max_bad_share): "
                       "the whole file is refused")
    assert warehouse.execute("SELECT count(*) FROM landing.rejected_rows").fetchone() == (0,)
    assert warehouse.execute(f"SELECT count(*) FROM {entry.raw_relation}").fetchone() == (0,)


@pytest.mark.parametrize("policy", ["file", "rows"])
def test_an_error_on_the_file_itself_refuses_it_whatever_the_policy(warehouse, tmp_path, policy):
    """A required column missing from the header is no record's fault."""
    rows = [row.split(";", 1)[1] for row in traffic_rows(DAY)]
    header = "Libelle;Date et heure de comptage;Débit horaire;Taux d'occupation;Etat trafic;" \
             "Identifiant noeud amont;Libelle noeud amont;Identifiant noeud aval;Libelle noeud aval;Etat arc;" \
             "Date debut dispo data;Date fin dispo data;geo_point_2d;geo_shape"
    path = tmp_path / f"comptages_routiers_{DAY.replace('-', '')}.csv"
    path.write_text("\ufeff" + "\n".join([header, *rows]) + "\n", encoding="utf-8")
    delivery, loaded = load_file(warehouse, counters(policy, max_bad_share=0.5), path)
    assert loaded == 0
    assert warehouse.execute("SELECT status FROM landing.deliveries WHERE delivery_id = ?", [delivery]).fetchone() == \
        ("quarantined",)


def test_under_the_file_policy_one_bad_record_refuses_the_file(warehouse, tmp_path):
    delivery, rows = load_file(warehouse, counters("file"), day_with_two_bad_records(tmp_path))
    assert rows == 0
    errors = warehouse.execute("SELECT code, line FROM landing.issues WHERE delivery_id = ? AND severity = 'error' "
                               "ORDER BY line", [delivery]).fetchall()
    assert errors == [("bad_decimal", 5)]       # typing refuses before the suites run
