"""The result store (expectations/store.py): a result computed inside DuckDB is written in GX's
own JSON, which GX reads back as its validation result; the pages to render are handed over once."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re

import duckdb
from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema

from territoire_hub.expectations import engine, runtime, store
from territoire_hub.expectations.suites import Suite, expect


def _outcome(con):
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (2, 1.5, DATE '2024-06-12'), (3, 'NaN'::DOUBLE, NULL), "
                "(4, 99.0, DATE '2024-06-13')) AS v(_source_line, x, day)")
    suite = Suite("p__d__rows", [
        expect("expect_column_values_to_be_between", column="x", min_value=0, max_value=10, severity="warning",
               meta={"check": "out_of_range", "column": "X", "message": "{value!r} is out of range"}),
        expect("expect_column_values_to_not_be_null", column="day", meta={"check": "missing_value", "column": "Day"}),
        expect("expect_column_values_to_not_be_null", column="absent", meta={"check": "missing_value"})])
    return suite, engine.evaluate(con, suite.expectations, "t", ["_source_line", "day"])


def test_a_duckdb_result_is_read_back_by_gx_as_its_own(tmp_path):
    con = duckdb.connect()
    suite, outcome = _outcome(con)
    when = dt.datetime(2026, 12, 6, 19, 49, 1, 253073, tzinfo=dt.timezone.utc)
    key = store.write_result(tmp_path, suite, outcome, run_name="run-1_p__d", when=when)
    assert key == ("p__d__rows", "run-1_p__d", "20261206T194901.253073Z", "hub_batches-frames")
    path = tmp_path / "gx/uncommitted/validations/p__d__rows/run-1_p__d/20261206T194901.253073Z/hub_batches-frames.json"
    assert path == store.path_of(tmp_path, key) and oct(path.parent.stat().st_mode & 0o777) == "0o700"
    document = json.loads(path.read_text())
    loaded = ExpectationSuiteValidationResultSchema().load(document)     # what GX's result store does
    assert loaded.success is False and loaded.statistics["unsuccessful_expectations"] == 3
    by_check = {(r.expectation_config.meta.get("check"), r.expectation_config.kwargs["column"]): r
                for r in loaded.results}
    ranged = by_check[("out_of_range", "x")]
    assert ranged.expectation_config.severity.value == "warning"
    assert ranged.result["unexpected_count"] == 1 and ranged.result["missing_count"] == 1     # NaN is missing
    assert ranged.result["unexpected_index_list"] == [{"_source_line": 4, "day": "2024-06-13", "x": 99.0}]
    assert by_check[("missing_value", "day")].result["unexpected_index_list"] == [{"_source_line": 3, "day": None}]
    assert by_check[("missing_value", "absent")].exception_info["raised_exception"] is True
    assert "NaN" not in path.read_text() and not any(isinstance(v, float) and math.isnan(v)
                                                     for v in ranged.result.values() if isinstance(v, float))


def test_pending_pages_are_handed_over_once_and_only_while_their_result_exists(tmp_path):
    con = duckdb.connect()
    suite, outcome = _outcome(con)
    first = store.write_result(tmp_path, suite, outcome, run_name="r1")
    second = store.write_result(tmp_path, suite, outcome, run_name="r2")
    pruned = store.write_result(tmp_path, suite, outcome, run_name="r3")
    store.path_of(tmp_path, pruned).unlink()                     # retention went by
    store.add_pending(tmp_path, [first])                         # listed twice: rendered once
    with open(tmp_path / store.PENDING, "a") as pending:
        pending.write('["cut by a cra')                          # a line a crash cut short
    assert oct((tmp_path / store.PENDING).stat().st_mode & 0o777) == "0o600"
    assert store.take_pending(tmp_path) == [first, second]
    assert store.take_pending(tmp_path) == []
    assert not any(name.startswith(store.PENDING) for name in os.listdir(tmp_path))


def test_the_docs_index_lists_the_latest_validations_and_a_mart_s_row_condition(tmp_path, monkeypatch):
    """GX reads every result its index lists at each rendering (after each gate): the index keeps
    the latest ``INDEX_LIMIT``, every page stays. A mart rule's row condition, written by the hub,
    is rendered by GX as its own."""
    monkeypatch.setattr(runtime, "INDEX_LIMIT", 3)
    con = duckdb.connect()
    con.execute("CREATE TABLE m AS SELECT * FROM (VALUES ('commune', '30006', 40.0), ('epci', '243000643', 40.0)) "
                "AS v(niveau, code_territoire, conso)")
    suite = Suite("mart__m__rows", [expect(
        "expect_column_values_to_be_between", column="conso", min_value=0.3, max_value=20,
        row_condition=(("niveau", "==", "commune"),), meta={"check": "implausible_value", "column": "conso"})])
    outcome = engine.evaluate(con, suite.expectations, "m", ["niveau", "code_territoire"])
    assert [r.result["unexpected_count"] for r in outcome.results] == [1]          # the commune only
    quality = runtime.QualityContext(root=tmp_path / "gx", docs_dir=tmp_path / "docs")
    when = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.timezone.utc)
    for n in range(5):
        store.write_result(quality.root, suite, outcome, run_name=f"run-{n}", when=when + dt.timedelta(minutes=n))
    index = quality.build_docs().read_text()
    assert [n for n in range(5) if f"run-{n}" in index] == [2, 3, 4]
    pages = sorted((tmp_path / "docs" / "validations" / "mart__m__rows").glob("run-*/*/*.html"))
    assert len(pages) == 5
    page = " ".join(re.sub(r"<[^>]+>", " ", pages[-1].read_text()).split())
    assert "If niveau == commune , then values must be greater than or equal to 0.3 and less than or equal " \
           "to 20 . 1 unexpected values found. 100% of 1 total rows." in page
