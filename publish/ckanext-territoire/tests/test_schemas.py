"""The series schema repeats the dataset schema's descriptive fields (scheming has no includes):
they must stay the same, field for field."""
from pathlib import Path

import yaml

SCHEMAS = Path(__file__).resolve().parents[1] / "ckanext" / "territoire" / "schemas"


def fields(name):
    return {f["field_name"]: f for f in yaml.safe_load((SCHEMAS / name).read_text())["dataset_fields"]}


def test_the_series_fields_are_the_dataset_s():
    dataset, series = fields("dataset.yaml"), fields("dataset_series.yaml")
    shared = set(series) - {"series_order_field", "series_order_type"}
    assert shared and shared <= set(dataset)
    assert {k: series[k] for k in shared} == {k: dataset[k] for k in shared}


def test_a_release_has_its_series_edition_and_changelog():
    assert {"in_series", "version", "version_notes"} <= set(fields("dataset.yaml"))
