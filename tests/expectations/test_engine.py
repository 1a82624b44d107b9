"""The DuckDB evaluation of the delivery suites (expectations/engine.py) answers as Great
Expectations' pandas engine does, expectation by expectation: success, counts, failing lines."""

from __future__ import annotations

import json

import pytest

from territoire_hub.expectations import deliveries, engine, marts
from territoire_hub.expectations.custom import use_cog
from territoire_hub.expectations.suites import Suite, expect
from territoire_hub.expectations.runtime import QualityContext
from territoire_hub.warehouse import quote_ident
from tests.sources.samples import load_file
from tests.sources.test_loading import traffic_file, traffic_rows
from tests.sources.test_row_quarantine import counters

DAY = "2024-06-12"
INDEX = ["_delivery_id", "_period", "_source_line"]


def _validated(con, entry, tmp_path, *edits: str) -> None:
    """A clean day of one counter loaded, copied as a staged delivery, broken by ``edits`` (SQL on
    table ``staged``), then shaped as the rows suite reads it."""
    path = tmp_path / f"comptages_routiers_{DAY.replace('-', '')}.csv"
    path.write_text(traffic_file(DAY, traffic_rows(DAY)), encoding="utf-8")
    delivery, rows = load_file(con, entry, path)
    assert rows == 24
    columns = ", ".join(quote_ident(c.name) for c in entry.spec.columns)
    con.execute(f"CREATE OR REPLACE TEMP TABLE staged AS SELECT _source_line, {columns} FROM {entry.raw_relation}")
    for edit in edits:
        con.execute(edit)
    bounds = deliveries.period_bounds(entry, DAY.replace("-", ""))
    con.execute(f"CREATE OR REPLACE TEMP TABLE _validated AS {deliveries.rows_sql(entry, 'staged')}",
                [delivery, bounds["period"], bounds["period_start"], bounds["period_end"]])


def _key(config) -> str:
    """What tells an expectation from the suite's others (GX leaves out arguments at their default)."""
    named = ("column", "column_A", "column_B", "min_value", "max_value", "value_set", "mostly")
    kwargs = {k: float(v) if isinstance(v, int) and not isinstance(v, bool) else v    # GX keeps bounds as floats
              for k, v in config.kwargs.items() if k in named}
    return config.type + json.dumps(kwargs, sort_keys=True, default=str)


def _shown(value) -> str:
    return "missing" if str(value) in ("None", "nan", "NaT") else str(value)


def _compare(con, suite):
    use_cog(con)
    frame = con.execute("SELECT * FROM _validated").fetch_arrow_table().to_pandas()
    reference = QualityContext.in_memory().validate(suite, frame, run_name="engine-test", index_columns=INDEX).result
    mine = engine.evaluate(con, suite.expectations, "_validated", INDEX)
    assert len(mine.results) == len(reference.results)
    theirs_by_key = {_key(r.expectation_config): r for r in reference.results}   # GX does not keep the suite's order
    assert len(theirs_by_key) == len(reference.results)
    seen = []
    for ours in mine.results:
        theirs = theirs_by_key[_key(ours.expectation_config)]
        what = (theirs.expectation_config.type, theirs.expectation_config.kwargs.get("column"))
        assert ours.expectation_config.type == theirs.expectation_config.type
        assert ours.success == theirs.success, what
        if "unexpected_count" in theirs.result:
            assert ours.result["unexpected_count"] == theirs.result["unexpected_count"], what
            assert sorted(int(r["_source_line"]) for r in ours.result["unexpected_index_list"]) == \
                sorted(int(r["_source_line"]) for r in theirs.result["unexpected_index_list"]), what
            # the failing values the Data Docs page shows (a missing value is pandas' nan there;
            # a pair's values are numpy's there, the same instants)
            assert "column_A" in ours.expectation_config.kwargs or sorted(map(_shown, ours.result["partial_unexpected_list"])) == \
                sorted(map(_shown, theirs.result["partial_unexpected_list"])), what
        else:
            assert ours.result["observed_value"] == sorted(theirs.result["observed_value"]), what
        seen.append((what[0], ours.success))
    assert mine.success == reference.success
    return seen


def test_a_clean_delivery_passes_both_engines(warehouse, tmp_path):
    entry = counters("rows")
    _validated(warehouse, entry, tmp_path)
    seen = _compare(warehouse, deliveries.rows_suite(entry))
    assert all(ok for _, ok in seen) and len(seen) >= 6


@pytest.mark.parametrize("edits, failing", [
    # a flow no road carries (line 9) and a negative one (line 4); the bounds themselves pass
    # (0 and 20,000 veh/h on lines 6 and 7, an occupation of 100 % on line 8), NaN is missing
    (["UPDATE staged SET debit_horaire = 25000 WHERE _source_line = 9",
      "UPDATE staged SET debit_horaire = -3 WHERE _source_line = 4",
      "UPDATE staged SET debit_horaire = 0 WHERE _source_line = 6",
      "UPDATE staged SET debit_horaire = 20000 WHERE _source_line = 7",
      "UPDATE staged SET taux_d_occupation = 100 WHERE _source_line = 8",
      "UPDATE staged SET taux_d_occupation = 'NaN'::DOUBLE WHERE _source_line = 10"],
     {"expect_column_values_to_be_between"}),
    # a required value missing (line 7)
    (["UPDATE staged SET identifiant_arc = NULL WHERE _source_line = 7"], {"expect_column_values_to_not_be_null"}),
    # one record delivered twice, and two records for one key
    (["INSERT INTO staged SELECT 99, * EXCLUDE (_source_line) FROM staged WHERE _source_line = 3",
      "INSERT INTO staged SELECT 98, * EXCLUDE (_source_line) REPLACE (debit_horaire + 1 AS debit_horaire) "
      "FROM staged WHERE _source_line = 5"], {"expect_column_values_to_be_between"}),
    # an hour of the next day in a daily file
    (["UPDATE staged SET date_et_heure_de_comptage = date_et_heure_de_comptage + INTERVAL 3 DAY "
      "WHERE _source_line = 12"], {"expect_column_pair_values_a_to_be_greater_than_b"}),
])
def test_broken_deliveries_fail_the_same_expectations_on_the_same_lines(warehouse, tmp_path, edits, failing):
    entry = counters("rows")
    _validated(warehouse, entry, tmp_path, *edits)
    seen = _compare(warehouse, deliveries.rows_suite(entry))
    assert {kind for kind, ok in seen if not ok} == failing


def test_a_missing_column_is_an_exception_not_a_pass(warehouse, tmp_path):
    """A column the suite checks is absent: the columns rule fails, and the rule on that column
    reports it could not run (as GX does: ``exception_info``), it does not pass."""
    entry = counters("rows")
    _validated(warehouse, entry, tmp_path)
    warehouse.execute("ALTER TABLE _validated DROP COLUMN identifiant_arc")
    suite = deliveries.rows_suite(entry)
    outcome = engine.evaluate(warehouse, suite.expectations, "_validated", INDEX)
    by_type = {(r.expectation_config.type, r.expectation_config.kwargs.get("column")): r for r in outcome.results}
    assert not by_type[("expect_table_columns_to_match_set", None)].success
    lost = by_type[("expect_column_values_to_not_be_null", "identifiant_arc")]
    assert not lost.success and lost.exception_info["raised_exception"]
    assert "identifiant_arc" in lost.exception_info["exception_message"]
    assert not outcome.success
    frame = warehouse.execute("SELECT * FROM _validated").fetch_arrow_table().to_pandas()
    reference = QualityContext.in_memory().validate(suite, frame, run_name="engine-test", index_columns=INDEX).result
    raised = {_key(r.expectation_config) for r in reference.results if r.exception_info.get("raised_exception")
              or any(isinstance(v, dict) and v.get("raised_exception") for v in r.exception_info.values())}
    assert raised == {_key(r.expectation_config) for r in outcome.results if r.exception_info["raised_exception"]}


def test_codes_and_insee_communes_agree_with_gx(warehouse):
    """The coded-column and COG rules on hostile codes: a sector letter no format has, a code that
    lost its leading zero, Corsica's letters, a commune merged away (still a COG code: its own type)."""
    warehouse.execute("""
        CREATE OR REPLACE TEMP TABLE coded AS SELECT * FROM (VALUES
            (2, '34172', 'RESIDENTIEL'), (3, '1004', 'Z'), (4, '2A004', NULL), (5, NULL, 'TERTIAIRE'),
            (6, '99999', 'residentiel'), (7, '74011', 'INDUSTRIE')) AS t(_source_line, code, secteur)""")
    sectors = ["RESIDENTIEL", "TERTIAIRE", "INDUSTRIE"]
    suite = Suite(name="engine__coded", expectations=[
        expect("expect_column_values_to_be_insee_communes", column="code", meta={}),
        expect("expect_column_values_to_be_in_set", column="secteur", value_set=sectors, meta={}),
        expect("expect_column_values_to_be_in_set", column="secteur", value_set=sectors, mostly=0.5, meta={})])
    use_cog(warehouse)
    frame = warehouse.execute("SELECT * FROM coded").fetch_arrow_table().to_pandas()
    reference = QualityContext.in_memory().validate(suite, frame, run_name="engine-test",
                                                    index_columns=["_source_line"]).result
    mine = engine.evaluate(warehouse, suite.expectations, "coded", ["_source_line"])
    theirs = {(r.expectation_config.type, r.expectation_config.kwargs.get("mostly")): r for r in reference.results}
    found = {}
    for ours in mine.results:
        other = theirs[(ours.expectation_config.type, ours.expectation_config.kwargs.get("mostly"))]
        lines = sorted(r["_source_line"] for r in ours.result["unexpected_index_list"])
        assert ours.success == other.success
        assert lines == sorted(int(r["_source_line"]) for r in other.result["unexpected_index_list"])
        found[(ours.expectation_config.type, ours.expectation_config.kwargs.get("mostly"))] = (ours.success, lines)
    assert found == {("expect_column_values_to_be_insee_communes", None): (False, [3, 6]),
                     ("expect_column_values_to_be_in_set", None): (False, [3, 6]),
                     ("expect_column_values_to_be_in_set", 0.5): (True, [3, 6])}


def test_a_mart_s_suite_fails_the_same_rows_in_both_engines(warehouse):
    """The publication gate's rules, evaluated inside DuckDB, against GX's pandas engine on a mart
    broken every way its suite looks for: a key twice (one with a missing part: NULLs of a key are
    equal), a key all missing (ignored), a residential value per inhabitant out of its band on a
    commune row only (row condition), an empty measure with and without its reason."""
    warehouse.execute("""
        CREATE OR REPLACE TEMP TABLE mart AS SELECT * FROM (VALUES
            ('commune', '30006', 2024, 'electricite', 'RESIDENTIEL', 5000.0, 0.9, 0.4, 1.0, NULL),
            ('commune', '30006', 2024, 'electricite', 'RESIDENTIEL', 5100.0, 0.9, 0.4, 1.0, NULL),
            ('commune', '30020', 2024, 'electricite', 'RESIDENTIEL', 90000.0, 40.0, 0.4, 1.0, NULL),
            ('epci', '243000643', 2024, 'electricite', 'RESIDENTIEL', 95000.0, 40.0, 0.4, 1.0, NULL),
            ('commune', '30341', 2024, 'electricite', NULL, NULL, NULL, NULL, NULL, 'secret statistique'),
            ('commune', '30341', 2024, 'electricite', NULL, NULL, NULL, NULL, 5.0, NULL),
            ('commune', '30133', 2024, 'electricite', 'TERTIAIRE', NULL, NULL, 1.5, NULL, NULL),
            (NULL, NULL, NULL, NULL, NULL, 10.0, 0.1, 0.1, 1.0, NULL),
            (NULL, NULL, NULL, NULL, NULL, 12.0, 0.1, 0.1, 1.0, NULL)
        ) AS t(niveau, code_territoire, annee, energie, secteur, conso_mwh, conso_mwh_par_habitant,
               part_point_dominant_max, rapport_climatique, motif_absence)""")
    name = "energie_territoire_annee"
    suite = marts.rows_suite(name, marts.MARTS[name])
    index = ["niveau", "code_territoire", "annee", "energie", "secteur"]
    frame = warehouse.execute("SELECT * FROM mart").fetch_arrow_table().to_pandas()
    reference = QualityContext.in_memory().validate(suite, frame, run_name="engine-test", index_columns=index).result
    mine = engine.evaluate(warehouse, suite.expectations, "mart", index)
    assert mine.rows == 9 and len(mine.results) == len(reference.results)

    def shown(value) -> str:          # pandas turns a year column with a missing value to floats
        return _shown(float(value) if isinstance(value, (int, float)) else value)

    def failing(result) -> list[str]:
        return sorted(json.dumps([shown(row.get(c)) for c in index] + [shown(row.get("conso_mwh"))])
                      for row in result.result.get("unexpected_index_list") or [])

    def key(config) -> str:
        return _key(config) + json.dumps(config.kwargs.get("row_condition") is not None)

    theirs = {key(r.expectation_config): r for r in reference.results}
    found = {}
    for ours in mine.results:
        other = theirs[key(ours.expectation_config)]
        check = (ours.expectation_config.meta["check"], ours.expectation_config.kwargs.get("column"),
                 ours.expectation_config.kwargs.get("row_condition") is not None)
        assert ours.success == other.success, check
        assert ours.result["unexpected_count"] == other.result["unexpected_count"], check
        assert ours.result["element_count"] == other.result["element_count"], check
        assert failing(ours) == failing(other), check
        found[check] = ours.result["unexpected_count"]
    assert found == {("duplicate_key", None, False): 4,            # 30006 twice, 30341 twice (no sector)
                     ("implausible_value", "conso_mwh", False): 0,
                     ("implausible_value", "conso_mwh_par_habitant", True): 1,     # the commune, not the EPCI
                     ("implausible_value", "conso_mwh_par_habitant", False): 0,
                     ("implausible_value", "part_point_dominant_max", False): 1,
                     ("implausible_value", "rapport_climatique", False): 1,
                     ("unexplained_null", "motif_absence", True): 2}
    assert not mine.success and mine.success == reference.success
