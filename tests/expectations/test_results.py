"""Recording a validation in ``quality.validations`` (expectations/results.py): one row per
expectation and subject, whatever their number."""

from __future__ import annotations

import duckdb

from territoire_hub.expectations import engine, store
from territoire_hub.expectations.results import ensure_quality_tables, failures, record_validation
from territoire_hub.expectations.suites import Suite, expect
from territoire_hub.warehouse import ROWS_PER_INSERT


def test_a_batch_of_many_deliveries_is_recorded_row_for_row():
    """Two expectations over 600 deliveries: 1,200 rows, written in chunks of ROWS_PER_INSERT;
    the one delivery with a bad value fails its expectation, the others pass it."""
    con = duckdb.connect()
    ensure_quality_tables(con)
    con.execute("CREATE TABLE batch AS SELECT 'd' || range AS _delivery_id, '20240612' AS _period, "
                "1 AS _source_line, CASE WHEN range = 417 THEN 99 ELSE range % 10 END AS v FROM range(600)")
    suite = Suite(name="test__rows", expectations=[
        expect("expect_column_values_to_not_be_null", column="v", meta={"check": "v_present"}),
        expect("expect_column_values_to_be_between", column="v", min_value=0, max_value=10,
               meta={"check": "v_range"})])
    outcome = engine.evaluate(con, suite.expectations, "batch", ["_delivery_id", "_period", "_source_line"])
    validation = store.Validation(suite.name, outcome)
    subjects = {f"d{i}": 1 for i in range(600)}
    assert 2 * len(subjects) > 2 * ROWS_PER_INSERT
    record_validation(con, validation, failures(validation), run_id="r1", subject_type="delivery",
                      subjects=subjects, partner_id="p")
    assert con.execute("SELECT count(*), count(DISTINCT subject) FROM quality.validations").fetchone() == (1200, 600)
    assert con.execute("SELECT subject, check_id FROM quality.validations WHERE NOT success").fetchall() == \
        [("d417", "v_range")]
    assert con.execute("SELECT DISTINCT run_id, subject_type, partner_id, element_count FROM quality.validations") \
        .fetchall() == [("r1", "delivery", "p", 1)]
