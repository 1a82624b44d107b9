"""Suites as plain data (expectations/suites.py), turned into GX suites where GX validates them
(the marts): row conditions select the rows they say, and a suite declares nothing GX rejects."""

from __future__ import annotations

import pandas as pd
import pytest

from territoire_hub.expectations import marts
from territoire_hub.expectations.runtime import QualityContext, gx_suite
from territoire_hub.expectations.suites import Expectation, expect


def _failing(suite, frame: pd.DataFrame) -> dict[tuple[str, str], list[str]]:
    """(check, column) -> the failing rows' territory codes, for each failed expectation."""
    result = QualityContext.in_memory().validate(suite, frame, run_name="suites-test",
                                                 index_columns=["code_territoire"]).result
    return {(r.expectation_config.meta["check"], r.expectation_config.meta["column"]):
            sorted(row["code_territoire"] for row in r.result["unexpected_index_list"])
            for r in result.results if not r.success}


def test_the_mart_row_conditions_select_their_rows():
    """Residential electricity per inhabitant is bounded (0.3–20 MWh) for a commune only: 25 MWh in
    a tertiary row or 0.1 MWh in an EPCI is no failure of that rule; a null consumption needs a
    reason, and only the row without one fails."""
    suite = marts.rows_suite("energie_territoire_annee", marts.MARTS["energie_territoire_annee"])
    rows = [  # niveau, code, secteur, MWh, MWh per inhabitant, reason
        ("commune", "34172", "RESIDENTIEL", 25.0, 25.0, None),      # fails: a residential commune above 20
        ("commune", "34057", "RESIDENTIEL", 0.1, 0.1, None),        # fails: below 0.3
        ("commune", "34058", "TERTIAIRE", 25.0, 25.0, None),        # passes: tertiary is not bounded so
        ("epci", "243400017", "RESIDENTIEL", 0.1, 0.1, None),       # passes: a grouping is not bounded below
        ("commune", "34059", "RESIDENTIEL", None, None, "secret"),  # passes: null, explained
        ("commune", "34060", "RESIDENTIEL", None, None, None),      # fails: null, unexplained
    ]
    frame = pd.DataFrame(rows, columns=["niveau", "code_territoire", "secteur", "conso_mwh", "conso_mwh_par_habitant",
                                        "motif_absence"])
    frame["annee"], frame["energie"] = 2024, "electricite"
    frame["part_point_dominant_max"], frame["rapport_climatique"] = 0.5, 1.0
    failing = _failing(suite, frame)
    assert failing == {("implausible_value", "conso_mwh_par_habitant"): ["34057", "34172"],
                       ("unexplained_null", "conso_mwh"): ["34060"]}


def test_every_mart_suite_is_accepted_by_gx():
    for name, rules in marts.MARTS.items():
        built = gx_suite(marts.rows_suite(name, rules))
        assert len(built.expectations) == len(marts.rows_suite(name, rules).expectations)


@pytest.mark.parametrize("bad", [
    dict(severity="fatal"),
    dict(kwargs={"column": "x", "row_condition": (("x", "<", 3),)}),
])
def test_an_expectation_gx_could_not_take_is_refused_when_declared(bad):
    fields = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x"}, "meta": {}, **bad}
    with pytest.raises(ValueError):
        Expectation(**fields)


def test_arguments_left_at_none_are_left_out():
    declared = expect("expect_column_values_to_be_between", column="x", min_value=0, max_value=None, meta={})
    assert declared.kwargs == {"column": "x", "min_value": 0}
