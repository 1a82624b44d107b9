"""Raw load: typed values, DST-correct UTC instants, and broken deliveries quarantined with a reason."""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta, timezone

import pytest

from territoire_hub.sources.demo.irve import STATIC_HEADER
from territoire_hub.orchestration.ingestion import ingest_dataset
from tests.conftest import SHARED_FORMATS, drop

TRAFFIC = "montpellier_metropole__comptages_routiers"
TICKETS = "herault_energies__tickets_pannes"
IRVE_STATIC_HEADER = ",".join(STATIC_HEADER)  # the official v2.3.0 header (checked against the sample)
TRAFFIC_HEADER = ("Identifiant arc;Libelle;Date et heure de comptage;Débit horaire;Taux d'occupation;Etat trafic;"
                  "Identifiant noeud amont;Libelle noeud amont;Identifiant noeud aval;Libelle noeud aval;Etat arc;"
                  "Date debut dispo data;Date fin dispo data;geo_point_2d;geo_shape")
TICKETS_HEADER = "numero_ticket;code_insee;id_point_lumineux;date_signalement;date_resolution;type_panne;canal"


def traffic_rows(local_day: str, arc: str = "101") -> list[str]:
    """One counter's rows for every local hour of a Paris day, stamped with the Paris offset at the
    END of the hour (the portal's convention: 01:00 … 24:00)."""
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    start = datetime.fromisoformat(local_day).replace(tzinfo=paris).astimezone(timezone.utc)
    rows, instant = [], start
    while instant.astimezone(paris).date().isoformat() == local_day:
        stamp = (instant + timedelta(hours=1)).astimezone(paris).isoformat()
        rows.append(f'{arc};Av. test;{stamp};{100 + instant.hour}.0;12,5;Fluide;1;A;2;B;Ouvert;2020-01-01;;"43.61, 3.87";')
        instant += timedelta(hours=1)
    return rows


def traffic_file(local_day: str, rows: list[str] | None = None) -> str:
    return "\ufeff" + "\n".join([TRAFFIC_HEADER, *(rows if rows is not None else traffic_rows(local_day))]) + "\n"


def raw(con, key):
    return f'raw."{key}"'


def issues(con, filename):
    return con.execute(
        "SELECT i.code, i.line, i.column_name, i.message FROM landing.issues i JOIN landing.deliveries d USING (delivery_id) "
        "WHERE d.filename = ? ORDER BY i.line NULLS FIRST", [filename]).fetchall()


def status_of(con, filename):
    return con.execute("SELECT status FROM landing.deliveries WHERE filename = ?", [filename]).fetchone()[0]


@pytest.mark.parametrize("day, hours", [("2024-03-31", 23), ("2024-10-27", 25), ("2024-06-12", 24)])
def test_dst_days_have_23_and_25_local_hours_mapped_to_utc(settings, registry, warehouse, day, hours):
    drop(settings, "montpellier-metropole", f"comptages_routiers_{day.replace('-', '')}.csv", traffic_file(day))
    report = ingest_dataset(warehouse, settings, registry.dataset(TRAFFIC))
    assert (report.loaded, report.rows) == (1, hours)
    # the stamps close their hour: the hour starts one hour earlier
    instants = [r[0] - timedelta(hours=1) for r in warehouse.execute(
        f"SELECT date_et_heure_de_comptage FROM {raw(warehouse, TRAFFIC)} ORDER BY 1").fetchall()]
    assert len(set(instants)) == hours
    local_days = warehouse.execute(
        f"SELECT DISTINCT CAST(timezone('Europe/Paris', date_et_heure_de_comptage - INTERVAL 1 HOUR) AS DATE) "
        f"FROM {raw(warehouse, TRAFFIC)}").fetchall()
    assert [str(d[0]) for d in local_days] == [day]
    utc = lambda *a: datetime(*a, tzinfo=timezone.utc)  # noqa: E731
    if day == "2024-03-31":  # 00:00+01:00 … 01:00+01:00, then 03:00+02:00
        assert instants[0] == utc(2024, 3, 30, 23)
        assert instants[1] == utc(2024, 3, 31, 0)
        assert instants[2] == utc(2024, 3, 31, 1)   # 03:00 local, summer time
        assert instants[-1] == utc(2024, 3, 31, 21)  # 23:00+02:00
    if day == "2024-10-27":  # 02:00+02:00 and 02:00+01:00 are two instants
        assert instants[0] == utc(2024, 10, 26, 22)
        assert instants[2] == utc(2024, 10, 27, 0)
        assert instants[3] == utc(2024, 10, 27, 1)
        assert instants[-1] == utc(2024, 10, 27, 22)


def test_values_are_typed_with_decimal_comma_and_lineage(settings, registry, warehouse):
    drop(settings, "montpellier-metropole", "comptages_routiers_20240612.csv", traffic_file("2024-06-12"))
    ingest_dataset(warehouse, settings, registry.dataset(TRAFFIC))
    row = warehouse.execute(
        f"SELECT _source_line, identifiant_arc, debit_horaire, taux_d_occupation, geo_point_lat, geo_point_lon "
        f"FROM {raw(warehouse, TRAFFIC)} ORDER BY _source_line LIMIT 1").fetchone()
    assert row == (2, "101", 122.0, 12.5, 43.61, 3.87)  # 00:00 local = 22:00 UTC the day before
    # the layout writes a decimal point (Paris's export); "12,5" is read, and the partner told
    found = [i for i in issues(warehouse, "comptages_routiers_20240612.csv") if i[0] == "decimal_comma"]
    assert found[0] == ("decimal_comma", 2, "Taux d'occupation",
                        "'12,5' has a decimal comma where this format writes a point: read as 12.5")
    assert len(found) == 24   # one per record, the first 50 listed


def test_naive_local_times_in_the_dst_gap_or_overlap_are_refused(settings, registry, warehouse):
    good = "T1;34172;PL1;30/03/2024 23:10;31/03/2024 09:00;lampe;appli"
    gap = "T2;34172;PL2;31/03/2024 02:30;31/03/2024 10:00;lampe;appli"
    overlap = "T3;34172;PL3;27/10/2024 02:30;27/10/2024 10:00;lampe;appli"
    drop(settings, "herault-energies", "tickets_pannes_202403.csv", "\n".join([TICKETS_HEADER, good, gap]) + "\n")
    drop(settings, "herault-energies", "tickets_pannes_202410.csv", "\n".join([TICKETS_HEADER, overlap]) + "\n")
    report = ingest_dataset(warehouse, settings, registry.dataset(TICKETS))
    assert len(report.quarantined) == 2
    assert issues(warehouse, "tickets_pannes_202403.csv")[0][:3] == ("nonexistent_local_time", 3, "date_signalement")
    assert "does not exist in Europe/Paris" in issues(warehouse, "tickets_pannes_202403.csv")[0][3]
    assert issues(warehouse, "tickets_pannes_202410.csv")[0][:3] == ("ambiguous_local_time", 2, "date_signalement")


def test_naive_local_time_converted_to_utc(settings, registry, warehouse):
    rows = ["T1;34172;PL1;30/03/2024 23:10;31/03/2024 09:00;lampe;appli"]
    drop(settings, "herault-energies", "tickets_pannes_202403.csv", "\n".join([TICKETS_HEADER, *rows]) + "\n")
    ingest_dataset(warehouse, settings, registry.dataset(TICKETS))
    opened, closed = warehouse.execute(f"SELECT date_signalement, date_resolution FROM {raw(warehouse, TICKETS)}").fetchone()
    assert opened == datetime(2024, 3, 30, 22, 10, tzinfo=timezone.utc)  # winter, +01:00
    assert closed == datetime(2024, 3, 31, 7, 0, tzinfo=timezone.utc)    # summer, +02:00


GOOD_DAY = "2024-06-12"


def _broken_cases():
    good = traffic_file(GOOD_DAY)
    rows = traffic_rows("2024-06-13")
    return {
        "wrong_encoding": (good.lstrip("\ufeff").replace("Av. test", "Av. Émile Zola").encode("latin-1"), "wrong_encoding", 1,
                           "is not valid utf-8-sig"),
        "wrong_separator": (good.replace(";", ","), "wrong_separator", 1, "looks ','-separated"),
        "missing_column": (good.replace("Date et heure de comptage", "Horodatage"), "missing_column", 1,
                           "'Date et heure de comptage' is missing"),
        "truncated_gzip": (gzip.compress(good.encode())[:-40], "truncated_gzip", None, "truncated or corrupt"),
        "non_numeric": (traffic_file("2024-06-13", rows[:5] + [rows[5].replace(";12,5;", ";douze;")] + rows[6:]),
                        "bad_decimal", 7, "'douze' is not a number"),
        "impossible_date": (traffic_file("2024-06-13", rows[:3] + [rows[3].replace("2024-06-13T04", "2024-06-31T04")] + rows[4:]),
                            "bad_timestamp", 5, "is not a date-time"),
        "empty_file": (b"", "empty_file", None, "file is empty"),
        "short_line": (traffic_file("2024-06-13", rows[:8] + [rows[8].rsplit(";", 3)[0]] + rows[9:]),
                       "wrong_field_count", 10, "expected 15 fields, found 12"),
    }


@pytest.mark.parametrize("case", list(_broken_cases()))
def test_broken_delivery_is_quarantined_with_a_clear_reason_and_others_load(settings, registry, warehouse, case):
    content, code, line, fragment = _broken_cases()[case]
    suffix = ".csv.gz" if case == "truncated_gzip" else ".csv"
    bad_name = f"comptages_routiers_20240613{suffix}"
    drop(settings, "montpellier-metropole", bad_name, content)
    drop(settings, "montpellier-metropole", "comptages_routiers_20240612.csv", traffic_file(GOOD_DAY))
    report = ingest_dataset(warehouse, settings, registry.dataset(TRAFFIC))
    assert (report.loaded, len(report.quarantined)) == (1, 1)
    assert status_of(warehouse, bad_name) == "quarantined"
    found = issues(warehouse, bad_name)
    assert found[0][0] == code
    assert found[0][1] == line
    assert fragment in found[0][3]
    # the good delivery of the same run is in raw; nothing of the bad one is
    counts = warehouse.execute(
        f"SELECT d.filename, count(*) FROM {raw(warehouse, TRAFFIC)} r JOIN landing.deliveries d "
        f"ON d.delivery_id = r._delivery_id GROUP BY 1").fetchall()
    assert counts == [("comptages_routiers_20240612.csv", 24)]


def test_unknown_insee_code_names_the_line_and_recognises_a_postal_code(settings, registry, warehouse):
    rows = [
        "T1;34172;PL1;12/06/2024 21:10;13/06/2024 09:00;lampe;appli",
        "T2;99999;PL2;12/06/2024 21:10;13/06/2024 09:00;lampe;appli",
        "T3;34000;PL3;12/06/2024 21:10;13/06/2024 09:00;lampe;appli",
    ]
    drop(settings, "herault-energies", "tickets_pannes_202406.csv", "\n".join([TICKETS_HEADER, *rows]) + "\n")
    report = ingest_dataset(warehouse, settings, registry.dataset(TICKETS))
    assert len(report.quarantined) == 1
    found = issues(warehouse, "tickets_pannes_202406.csv")
    assert [(f[0], f[1], f[2]) for f in found] == [("unknown_insee_code", 3, "code_insee"), ("unknown_insee_code", 4, "code_insee")]
    assert "'99999' is not an INSEE commune code of the COG" == found[0][3]
    assert "it is a postal code (INSEE code 34172)" in found[1][3]


def test_boolean_spellings_and_lonlat_array(settings, registry, warehouse):
    row = ("Op,123456789,a@b.fr,Op,a@b.fr,0102030405,Net,FRXYZP1,,Gare,Voirie,1 rue X 34000 Montpellier,34172,"
           "\"[3.876716, 43.610769]\",2,FRXYZE1,,22,False,TRUE,false,0,1,true,true,true,false,,Accès libre,false,24/7,"
           "Accessibilité inconnue,Aucune,false,Direct,,2023-05-01,,2024-11-20,true")
    drop(settings, "recharge-sud", "irve_statique.csv", IRVE_STATIC_HEADER + "\n" + row + "\n")
    entry = registry.dataset("recharge_sud__irve_statique")
    from tests.sources.samples import load_file

    load_file(warehouse, entry, settings.inbox / "recharge-sud" / "irve_statique.csv")
    got = warehouse.execute(
        'SELECT longitude, latitude, prise_type_ef, prise_type_2, prise_type_combo_ccs, prise_type_chademo, puissance_nominale '
        'FROM raw."recharge_sud__irve_statique"').fetchone()
    assert got == (3.876716, 43.610769, False, True, False, False, 22.0)


@pytest.mark.parametrize("departements, loaded", [(["01"], True), ([], False)])
def test_lost_leading_zero_is_restored_only_with_the_partners_departement(warehouse, tmp_path, departements, loaded):
    from tests.sources.samples import load_file, plain_entry

    path = tmp_path / "tickets.csv"
    path.write_text(TICKETS_HEADER + "\nT1;1004;PL1;12/06/2024 21:10;;lampe;appli\n", encoding="utf-8")
    entry = plain_entry("eclairage_tickets", departements=departements)
    delivery_id, rows = load_file(warehouse, entry, path)
    found = warehouse.execute("SELECT severity, code, line, message FROM landing.issues WHERE delivery_id = ?",
                              [delivery_id]).fetchall()
    if loaded:
        assert rows == 1
        assert warehouse.execute(f'SELECT insee FROM raw."{entry.key}"').fetchone() == ("01004",)
        assert found == [("warning", "restored_leading_zero", 2,
                          "INSEE code '1004' lost its leading zero; restored from the partner's département")]
    else:
        assert rows == 0
        assert [(f[0], f[1], f[2]) for f in found] == [("error", "unknown_insee_code", 2)]


def test_utf8_file_under_a_cp1252_contract_is_refused_not_garbled(settings, registry, warehouse):
    rows = ["T1;30032;PL1;12/06/2024 21:10;13/06/2024 09:00;Lanterne cassée;Téléphone"]
    content = "\n".join([TICKETS_HEADER, *rows]) + "\n"
    drop(settings, "ville-beaucaire", "tickets_pannes_202406.csv", content, encoding="utf-8")
    drop(settings, "ville-beaucaire", "tickets_pannes_202407.csv", content.replace("06/2024", "07/2024"), encoding="cp1252")
    report = ingest_dataset(warehouse, settings, registry.dataset("ville_beaucaire__tickets_pannes"))
    assert (report.loaded, len(report.quarantined)) == (1, 1)
    code, line, _, message = issues(warehouse, "tickets_pannes_202406.csv")[0]
    assert (code, line) == ("wrong_encoding", 2)
    assert "file is UTF-8" in message and "declared cp1252" in message
    assert warehouse.execute('SELECT type_panne, canal FROM raw."ville_beaucaire__tickets_pannes"').fetchone() == (
        "Lanterne cassée", "Téléphone")


def test_a_merged_or_arrondissement_code_is_loaded_with_a_warning_naming_its_commune(settings, registry, warehouse):
    rows = ["T1;74011;PL1;02/01/2024 10:00;;lampe;appli",      # Annecy-le-Vieux, délégué of Annecy
            "T2;75114;PL2;02/01/2024 11:00;;lampe;appli",      # Paris 14e arrondissement
            "T3;34172;PL3;02/01/2024 12:00;;lampe;appli",
            "T4;99999;PL4;02/02/2024 13:00;;lampe;appli"]      # no commune has this code
    drop(settings, "herault-energies", "tickets_pannes_202401.csv", "\n".join([TICKETS_HEADER, *rows[:3]]) + "\n")
    report = ingest_dataset(warehouse, settings, registry.dataset(TICKETS))
    assert (report.loaded, report.quarantined) == (1, [])
    warned = warehouse.execute("SELECT code, line, value, message FROM landing.issues WHERE severity = 'warning' "
                               "ORDER BY line").fetchall()
    assert [(c, line, v) for c, line, v, _ in warned] == [("mapped_insee_code", 2, "74011"), ("mapped_insee_code", 3, "75114")]
    assert "commune déléguée; counted in the current commune 74010 (Annecy)" in warned[0][3]
    assert "municipal arrondissement; counted in the current commune 75056 (Paris)" in warned[1][3]
    # raw keeps what was delivered; staging reads it as the current commune (macro current_commune)
    assert warehouse.execute(f"SELECT insee FROM {raw(warehouse, TICKETS)} ORDER BY _source_line").fetchall() == [
        ("74011",), ("75114",), ("34172",)]
    # an unknown code stays quarantined
    drop(settings, "herault-energies", "tickets_pannes_202402.csv", "\n".join([TICKETS_HEADER, rows[3]]) + "\n")
    report = ingest_dataset(warehouse, settings, registry.dataset(TICKETS))
    assert len(report.quarantined) == 1
    assert issues(warehouse, "tickets_pannes_202402.csv")[0][:2] == ("unknown_insee_code", 2)


def test_charge_points_coded_far_from_their_coordinates_are_flagged_with_both(settings, registry, warehouse, tmp_path):
    """Real cases of the national consolidated file (../shared/formats/irve): TotalEnergies codes its
    motorway stations 36210 (Sarzay, Indre) wherever they are; [0, 0] and swapped pairs happen."""
    from tests.sources.samples import load_file, plain_entry

    header = ",".join(IRVE_STATIC_HEADER.split(","))
    def row(pdc, code, xy):
        values = {c: "" for c in header.split(",")}
        values.update(nom_enseigne="X", id_station_itinerance=f"FRXXXP{pdc}", id_pdc_itinerance=f"FRXXXE{pdc}",
                      code_insee_commune=code, coordonneesXY=f'"{xy}"', puissance_nominale="50", date_maj="2024-11-26",
                      prise_type_ef="false", prise_type_2="true", prise_type_combo_ccs="true",
                      prise_type_chademo="false", nbre_pdc="1")
        return ",".join(values[c] for c in header.split(","))
    lines = [header,
             row("1", "36210", "[6.9958, 43.5995]"),     # Mougins (06), 440 km from Sarzay
             row("2", "34172", "[3.8767, 43.6108]"),     # Montpellier, agrees
             row("3", "34172", "[0, 0]"),
             row("4", "34172", "[43.6108, 3.8767]")]     # [lat, lon]
    path = tmp_path / "irve.csv"
    path.write_text("\n".join(lines) + "\n")
    entry = plain_entry("irve_statique")
    delivery_id, rows = load_file(warehouse, entry, path)
    assert rows == 4                       # flagged, not refused: the location rule decides downstream
    warned = warehouse.execute("SELECT code, line, message FROM landing.issues WHERE delivery_id = ? "
                               "AND severity = 'warning' ORDER BY line, code", [delivery_id]).fetchall()
    assert [(c, line) for c, line, _ in warned] == [
        ("coordinates_far_from_commune", 2), ("coordinates_outside_france", 4), ("coordinates_outside_france", 5)]
    far = warned[0][2]
    assert "[lat 43.5995, lon 6.9958]" in far and "from commune 36210 (Sarzay)" in far and "km" in far


def test_a_multi_year_file_dates_itself_from_its_content(warehouse, tmp_path):
    """Météo-France's `…_latest-2023-2024.csv` files span years: with `period: content` a delivery's
    period is the span of its records, which must fall within the dataset's start…end; two such
    files do not replace each other whole (a record replaces the one with its key)."""
    from territoire_hub.formats import load_format
    from territoire_hub.registry import Dataset, Partner, PartnerDataset
    from tests.sources.samples import load_file

    partner = Partner(id="meteo-france", name="Météo-France", kind="public_agency")
    dataset = Dataset(id="horaire", format="meteo_france_horaire", transport={"type": "inbox"},
                      filename=r"^H_\d{2}_latest-\d{4}-\d{4}\.csv$", cadence="yearly", period="content",
                      start="2023-01-01", end="2024-12-31", licence="licence-ouverte-2.0", sensitivity="open")
    entry = PartnerDataset(partner=partner, dataset=dataset, spec=load_format("meteo_france_horaire"))
    assert entry.period_of("H_34_latest-2023-2024.csv") == "content"
    header = "NUM_POSTE;NOM_USUEL;LAT;LON;ALTI;AAAAMMJJHH;RR1;T;TN;TX"
    def hours(*stamps):
        return "\n".join([header, *(f"34154001;MONTPELLIER;43.5762;3.963;2;{s};0.0;8.0;7.5;8.5" for s in stamps)]) + "\n"
    first = tmp_path / "H_34_latest-2023-2024.csv"
    first.write_text(hours("2023123122", "2023123123", "2024010100", "2024010101"))
    delivery, rows = load_file(warehouse, entry, first)
    assert rows == 4
    assert warehouse.execute("SELECT period, superseded_by FROM landing.deliveries WHERE delivery_id = ?",
                             [delivery]).fetchone() == ("20231231-20240101", None)
    # a rolling re-publication: overlapping hours and new ones; the earlier file stays current
    second = tmp_path / "H_34_latest-2024-2025.csv"
    second.write_text(hours("2024010101", "2024010102"))
    _, rows = load_file(warehouse, entry, second)
    assert rows == 2
    assert warehouse.execute("SELECT count(*) FROM landing.deliveries WHERE superseded_by IS NOT NULL").fetchone() == (0,)
    # a record outside the dataset's declared span is refused, naming it
    outside = tmp_path / "H_34_latest-2025-2026.csv"
    outside.write_text(hours("2025010110"))
    delivery, rows = load_file(warehouse, entry, outside)
    assert rows == 0
    code, line, message = warehouse.execute("SELECT code, line, message FROM landing.issues WHERE delivery_id = ? "
                                            "AND severity = 'error'", [delivery]).fetchone()
    assert (code, line) == ("outside_period", 2) and "20230101-20241231" in message


HOURLY_HEADER = "NUM_POSTE;NOM_USUEL;LAT;LON;ALTI;AAAAMMJJHH;RR1;QRR1;T;QT;TN;QTN;TX;QTX"


@pytest.mark.parametrize("stamp, t, code, column, message", [
    # a stamp that lost a digit is no hour: strptime alone reads 202501261 as 2025-01-26 01:00
    ("202501261", "8.0", "bad_timestamp", "AAAAMMJJHH", "'202501261' is not a date-time (%Y%m%d%H, 10 digits)"),
    ("20250126100", "8.0", "bad_timestamp", "AAAAMMJJHH", "'20250126100' is not a date-time (%Y%m%d%H, 10 digits)"),
    # NaN and infinities cast to a double but are no temperature
    ("2025012610", "NaN", "bad_decimal", "T", "'NaN' is not a number"),
    ("2025012610", "-inf", "bad_decimal", "T", "'-inf' is not a number"),
    ("2025012610", "1e999", "bad_decimal", "T", "'1e999' is not a number"),
])
def test_a_stamp_missing_a_digit_or_a_non_finite_value_is_refused_on_its_line(warehouse, tmp_path, stamp, t, code,
                                                                               column, message):
    from territoire_hub.formats import load_format
    from territoire_hub.registry import Dataset, Partner, PartnerDataset
    from tests.sources.samples import load_file

    partner = Partner(id="meteo-france", name="Météo-France", kind="public_agency")
    dataset = Dataset(id="horaire", format="meteo_france_horaire", transport={"type": "inbox"},
                      filename=r"^H_34_(?P<period>\d{4})\.csv$", cadence="yearly", start="2025-01-01",
                      licence="licence-ouverte-2.0", sensitivity="open")
    entry = PartnerDataset(partner=partner, dataset=dataset, spec=load_format("meteo_france_horaire"))
    good = "34154001;MONTPELLIER-AEROPORT;43.5762;3.963;2;2025012609;0.0;1;7.9;1;7.5;1;8.2;1"
    bad = f"34154001;MONTPELLIER-AEROPORT;43.5762;3.963;2;{stamp};0.0;1;{t};1;7.5;1;8.6;1"
    path = tmp_path / "H_34_2025.csv"
    path.write_text("\n".join([HOURLY_HEADER, good, bad]) + "\n")
    delivery, rows = load_file(warehouse, entry, path)
    assert rows == 0
    assert warehouse.execute("SELECT code, line, column_name, message FROM landing.issues WHERE delivery_id = ? "
                             "AND severity = 'error'", [delivery]).fetchall() == [(code, 3, column, message)]
    # the same file with the line right loads both hours
    path.write_text("\n".join([HOURLY_HEADER, good, good.replace("2025012609", "2025012610")]) + "\n")
    assert load_file(warehouse, entry, path)[1] == 2


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_numbers_follow_quoted_line_breaks_and_blank_lines(warehouse, tmp_path, newline):
    """A value that spans lines (a ticket's description typed with Enter) stays one record, with
    its line break kept as delivered; blank lines are skipped; every message names the physical
    line the record starts on."""
    from tests.sources.samples import load_file, plain_entry

    entry = plain_entry("eclairage_tickets")
    lines = [TICKETS_HEADER,
             'T1;34172;PL-1;02/03/2024 08:10;;"lampe éteinte' + newline + 'mât penché";telephone',   # lines 2-3
             "",                                                                                      # line 4
             "T2;34172;PL-2;02/03/2024 09:00;;lampe éteinte;web",                                      # line 5
             'T3;34172;PL-3;31/02/2024 09:30;;"ligne 1' + newline + newline + 'ligne 3";web']         # lines 6-8
    path = tmp_path / "tickets.csv"
    path.write_bytes(newline.join(lines).encode() + newline.encode())
    delivery, rows = load_file(warehouse, entry, path)
    assert rows == 0     # 31 February: refused, on the line its record starts on
    assert warehouse.execute("SELECT code, line, column_name FROM landing.issues WHERE delivery_id = ?",
                             [delivery]).fetchall() == [("bad_timestamp", 6, "date_signalement")]
    path.write_bytes(path.read_bytes().replace(b"31/02/2024", b"29/02/2024"))
    delivery, rows = load_file(warehouse, entry, path)
    assert rows == 3
    assert warehouse.execute(f"SELECT _source_line, numero_ticket, type_panne FROM {entry.raw_relation} "
                             "WHERE _delivery_id = ? ORDER BY 1", [delivery]).fetchall() == [
        (2, "T1", f"lampe éteinte{newline}mât penché"), (5, "T2", "lampe éteinte"),
        (6, "T3", f"ligne 1{newline}{newline}ligne 3")]


def test_a_station_number_that_lost_its_leading_zero_is_restored_with_a_warning(warehouse, tmp_path):
    """Ain's Arbent station, 01014002, saved through a spreadsheet: 1014002 would be a second
    station; the 8-digit code is restored and the partner told."""
    from tests.sources.samples import load_file, plain_entry

    entry = plain_entry("meteo_france_horaire")
    lines = (SHARED_FORMATS / "meteo" / "H_01_sample_ARBENT.csv").read_text().splitlines()
    assert lines[1].startswith("01014002;")
    lines[1] = lines[1][1:]
    path = tmp_path / "H_01_sample.csv"
    path.write_text("\n".join(lines) + "\n")
    delivery, rows = load_file(warehouse, entry, path)
    assert rows == len(lines) - 1
    assert warehouse.execute(f"SELECT DISTINCT num_poste FROM {entry.raw_relation}").fetchall() == [("01014002",)]
    assert warehouse.execute("SELECT severity, code, line, column_name, message FROM landing.issues "
                             "WHERE delivery_id = ? AND code <> 'incomplete_day'", [delivery]).fetchall() == [
        ("warning", "restored_leading_zero", 2, "NUM_POSTE",
         "'1014002' lost its leading zero (a code of 8 digits); restored as '01014002'")]


def test_columns_the_format_does_not_know_are_named_in_a_warning(settings, registry, warehouse):
    """A column the partner added (or renamed) is not read: the delivery loads, and says so."""
    header = TRAFFIC_HEADER + ";Commentaire;Note\x1b[31m"
    rows = [row + ";RAS;x" for row in traffic_rows("2024-06-12")]
    drop(settings, "montpellier-metropole", "comptages_routiers_20240612.csv", "\ufeff" + "\n".join([header, *rows]) + "\n")
    report = ingest_dataset(warehouse, settings, registry.dataset(TRAFFIC))
    assert (report.loaded, report.rows) == (1, 24)
    found = [i for i in issues(warehouse, "comptages_routiers_20240612.csv") if i[0] == "unknown_columns"]
    assert found == [("unknown_columns", 1, None,
                      "2 column(s) not in format comptage_routier_horaire, not read: 'Commentaire', 'Note\\x1b[31m'")]


def test_a_stray_quote_inside_a_value_keeps_every_record_on_its_line(warehouse, tmp_path):
    """A quote inside an unquoted value (a 5" lamp) is a character for the CSV reader, but the
    fast count of record starts takes it for an opening quote: the records' lines then come from
    Python's CSV reader, and every message and row still names its physical line."""
    from tests.sources.samples import load_file, plain_entry

    entry = plain_entry("eclairage_tickets")
    lines = [TICKETS_HEADER,
             'T1;34172;PL-1;02/03/2024 08:10;;lampe 5" éteinte;telephone',
             "T2;34172;PL-2;02/03/2024 09:00;;lampe éteinte;web",
             "",
             "T3;34172;PL-3;31/02/2024 09:30;;mât penché;web"]
    path = tmp_path / "tickets.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    delivery, rows = load_file(warehouse, entry, path)
    assert rows == 0
    assert warehouse.execute("SELECT code, line FROM landing.issues WHERE delivery_id = ?",
                             [delivery]).fetchall() == [("bad_timestamp", 5)]
    path.write_bytes(path.read_bytes().replace(b"31/02/2024", b"29/02/2024"))
    delivery, rows = load_file(warehouse, entry, path)
    assert rows == 3
    assert warehouse.execute(f"SELECT _source_line, numero_ticket, type_panne FROM {entry.raw_relation} "
                             "WHERE _delivery_id = ? ORDER BY 1", [delivery]).fetchall() == [
        (2, "T1", 'lampe 5" éteinte'), (3, "T2", "lampe éteinte"), (5, "T3", "mât penché")]
