"""The published chart reads right: the full title with the territory and year, the unit, bars
largest first, "secret statistique" only for a cell under secrecy and "pas de données" for a
territory without data; the same table draws the same bytes."""

from __future__ import annotations

import duckdb
import pytest

from territoire_hub.publish.files import ABSENT_NOTE, SECRET_NOTE, chart_plan, french_number, write_chart


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("""
        CREATE TABLE mart AS SELECT * FROM (VALUES
            ('epci', '243400017', 'Montpellier Méditerranée Métropole', 2024, 0.71, NULL),
            ('epci', '243400470', 'CA du Pays de l''Or', 2024, 1.93, NULL),
            ('epci', '243000593', 'CC de Petite Camargue', 2024, NULL, 'primaire'),
            ('epci', '243000585', 'CC Beaucaire Terre d''Argence (partie : 2 communes sur 6)', 2024, NULL, NULL),
            ('epci', '243400017', 'Montpellier Méditerranée Métropole', 2023, 9.99, NULL),
            ('epci', '243400470', 'CA du Pays de l''Or', 2025, NULL, 'secondaire'),
            ('region', '76', 'Occitanie (partie : 49 communes sur 4446)', 2024, 1.1, NULL)
        ) AS t(niveau, code_territoire, nom_territoire, annee, conso_mwh_par_habitant, secret_statistique)""")
    yield con
    con.close()


def test_bars_are_sorted_and_a_missing_value_says_why(con):
    plan = chart_plan(con, "mart", "conso_mwh_par_habitant", "Consommation d'électricité par habitant",
                      "MWh par habitant", "TRUE")
    assert plan.year == 2024            # the latest year with a value (2025 has only a secret cell)
    assert plan.title == "Consommation d'électricité par habitant — EPCI du territoire, 2024"
    assert plan.bars == [
        ("CA du Pays de l'Or", 1.93, ""),
        ("Montpellier Méditerranée Métropole", 0.71, ""),
        ("CC Beaucaire Terre d'Argence (partie : 2 communes sur 6)", None, ABSENT_NOTE),
        ("CC de Petite Camargue", None, SECRET_NOTE),
    ]


def test_a_mart_without_secrecy_has_no_secret_cell(con):
    con.execute("CREATE TABLE plain AS SELECT * EXCLUDE (secret_statistique) FROM mart")
    plan = chart_plan(con, "plain", "conso_mwh_par_habitant", "Conso", "MWh", "TRUE")
    assert {note for _, value, note in plan.bars if value is None} == {ABSENT_NOTE}


def test_the_png_is_written_and_the_same_plan_draws_the_same_bytes(con, tmp_path):
    plan = chart_plan(con, "mart", "conso_mwh_par_habitant", "Consommation d'électricité par habitant",
                      "MWh par habitant", "TRUE")
    first = write_chart(plan, tmp_path / "a.png").read_bytes()
    second = write_chart(plan, tmp_path / "b.png").read_bytes()
    assert first[:8] == b"\x89PNG\r\n\x1a\n" and first == second


@pytest.mark.parametrize("value, shown", [(1234.5, "1\u202f234"), (12.34, "12,3"), (1.934, "1,93"), (0.0845, "0,085"),
                                          (0, "0,00"), (-2.5, "-2,50")])
def test_numbers_on_a_chart_are_french_with_three_significant_digits(value, shown):
    assert french_number(value) == shown
