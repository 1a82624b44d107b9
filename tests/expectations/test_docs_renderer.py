"""The Data Docs rendered by a process started ahead (expectations/docs_renderer.py): it renders the
pending results when told, leaves them pending when stopped before, and names its failure."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from territoire_hub.expectations import engine, runtime, store
from territoire_hub.expectations.docs_renderer import DocsError, DocsRenderer
from territoire_hub.expectations.suites import Suite, expect

WHEN = dt.datetime(2026, 12, 7, 21, 0, tzinfo=dt.timezone.utc)


def _results(quality: runtime.QualityContext, runs: list[str]) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE m AS SELECT * FROM (VALUES ('34172', 40.0), ('30189', -1.0)) AS v(code_territoire, conso)")
    suite = Suite("mart__m__rows", [expect("expect_column_values_to_be_between", column="conso", min_value=0,
                                           meta={"check": "implausible_value", "column": "conso"})])
    outcome = engine.evaluate(con, suite.expectations, "m", ["code_territoire"])
    for n, run in enumerate(runs):
        store.write_result(quality.root, suite, outcome, run_name=run, when=WHEN + dt.timedelta(minutes=n))


def test_the_renderer_renders_the_pending_results_when_told(tmp_path):
    quality = runtime.QualityContext(root=tmp_path / "gx", docs_dir=tmp_path / "docs")
    _results(quality, ["build-1"])
    with DocsRenderer(quality) as renderer:
        _results(quality, ["build-2"])            # stored while the renderer was importing GX
        rendering = renderer.render()
    index = rendering.index
    assert index == tmp_path / "docs" / "index.html" and rendering.pages == 2
    assert "build-1" in index.read_text() and "build-2" in index.read_text()
    pages = sorted(p.parent.parent.name for p in (tmp_path / "docs" / "validations" / "mart__m__rows").glob("*/*/*.html"))
    assert pages == ["build-1", "build-2"]
    assert store.take_pending(quality.root) == []


def test_a_renderer_stopped_before_rendering_leaves_the_results_pending(tmp_path):
    quality = runtime.QualityContext(root=tmp_path / "gx", docs_dir=tmp_path / "docs")
    _results(quality, ["build-1"])
    renderer = DocsRenderer(quality)
    renderer.close()                               # a build that failed before its gates
    assert not (tmp_path / "docs").exists()
    assert [key[1] for key in store.take_pending(quality.root)] == ["build-1"]


def test_a_renderer_that_fails_says_why(tmp_path):
    (tmp_path / "docs").write_text("a file where the Data Docs folder should be")
    quality = runtime.QualityContext(root=tmp_path / "gx", docs_dir=tmp_path / "docs")
    _results(quality, ["build-1"])
    failure = r"renderer failed \(exit code 1\): NotADirectoryError: .*docs/static'"
    with DocsRenderer(quality) as renderer, pytest.raises(DocsError, match=failure):
        renderer.render()
