"""Retention (issue 20.8): the quality history older than the period goes — GX results, Data Docs
pages, run reports, outbox files — the rest stays, the Data Docs index is rebuilt; the partners'
quality reports reach their outbox after each run."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from territoire_hub.expectations.reports import outbox_dir
from territoire_hub.expectations.runtime import QualityContext
from tests.conftest import copy_home, hub

OLD = "20200105T101010.000000Z"   # a validation-time folder of five years ago


def age(path: Path, days: int) -> None:
    then = time.time() - days * 86400
    os.utime(path, (then, then))


def test_partner_reports_reach_their_outbox(demo_home):
    settings = copy_home(demo_home, demo_home.parent / "outbox-check")
    reports = {p.parent.name for p in outbox_dir(settings).glob("*/quality_report_*.md")}
    assert reports == {"enedis", "herault-energies", "meteo-france", "montpellier-metropole", "recharge-sud",
                       "ville-beaucaire"}
    one = next(outbox_dir(settings).glob("montpellier-metropole/quality_report_*.md"))
    assert one.read_text().startswith("# Quality report for montpellier-metropole")
    assert one.stat().st_mode & 0o777 == 0o600 and one.parent.stat().st_mode & 0o777 == 0o700


def test_prune_removes_what_is_older_than_the_period_and_keeps_the_rest(demo_home, tmp_path):
    settings = copy_home(demo_home, tmp_path / "home")
    quality = QualityContext.for_settings(settings)
    store, docs = quality.root / "gx" / "uncommitted" / "validations", quality.docs_dir / "validations"
    # an old validation of a real suite, in the result store and in the Data Docs
    recent_store = next(store.glob("*__rows/*/*"))
    recent_page = next(docs.glob("*__rows/*/*"))
    shutil.copytree(recent_store, recent_store.with_name(OLD))
    shutil.copytree(recent_page, recent_page.with_name(OLD))
    quality.rebuild_docs()
    assert OLD in (quality.docs_dir / "index.html").read_text()
    # an old run report and an old outbox file
    reports = settings.data_dir / "quality" / "reports"
    recent_report = next(p for p in reports.iterdir() if p.is_dir())
    old_report = shutil.copytree(recent_report, reports / "20200105T101010Z-aaaaaa")
    age(old_report, 5 * 365)
    recent_outbox = next(outbox_dir(settings).glob("enedis/*.json"))
    old_outbox = shutil.copyfile(recent_outbox, recent_outbox.with_name("quality_report_20200105T101010Z-aaaaaa.json"))
    age(Path(old_outbox), 5 * 365)
    recent_log = next((settings.data_dir / "logs" / "dbt").glob("*-dbt_models.log"))      # a dbt log of the demo run
    old_log = shutil.copyfile(recent_log, recent_log.with_name("20200105T101010Z-dbt_models.log"))
    age(Path(old_log), 5 * 365)

    dry = hub(settings.home, "prune", "--dry-run").stdout
    assert "Older than 90 days, would remove: 1 validation results, 1 Data Docs pages, 1 run reports, " \
           "1 outbox files, 1 run logs, 0 Dagster runs" in dry
    assert recent_store.with_name(OLD).exists() and old_report.exists()

    done = hub(settings.home, "prune").stdout
    assert "removed: 1 validation results, 1 Data Docs pages, 1 run reports, 1 outbox files" in done
    assert not recent_store.with_name(OLD).exists() and not recent_page.with_name(OLD).exists()
    assert not old_report.exists() and not Path(old_outbox).exists() and not Path(old_log).exists()
    assert recent_store.exists() and recent_page.exists() and recent_report.exists() and recent_outbox.exists()
    assert recent_log.exists()
    index = (quality.docs_dir / "index.html").read_text()
    assert OLD not in index and recent_page.name in index     # the index rebuilt from what stays
    # nothing older than the period is left: a second pruning finds nothing
    assert "removed: 0 validation results, 0 Data Docs pages, 0 run reports, 0 outbox files, 0 run logs" in \
        hub(settings.home, "prune").stdout
