"""Adding one day recomputes that day and the aggregates it touches; a full refresh agrees row for row."""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from territoire_hub.sources.demo.server import demo_settings
from territoire_hub.settings import Settings
from territoire_hub.sources.demo import Scale, generate_demo
from territoire_hub.sources.demo.server import PartnerServer
from tests.dbt_harness import ingest, query, run_models

DAILY_MODELS = {  # incremental day-grain models and their day column
    "int_traffic__counter_daily": "local_day",
    "int_lighting__sensor_daily": "local_day",
    "int_ev__charge_point_daily": "local_day",
}
SMALL = dict(counters=3, lamp_sensors=3, stations=3, charge_points=6, lamp_points=60)
NEW_DAY = date(2024, 10, 29)


def _ingest_demo(settings: Settings, registry) -> None:
    with PartnerServer(settings.data_dir / "remote", tokens={"/recharge-sud/irve/dynamique/": "t0k"}) as server:
        ingest(demo_settings(settings, registry, server.url, "t0k"), registry)


def _canonical(row: tuple) -> str:
    # doubles summed by parallel threads may differ in the last bit between two builds:
    # compare them to 1e-9 relative, everything else exactly
    return repr(tuple(float(f"{v:.10g}") if isinstance(v, float) else v for v in row))


def _marts(settings: Settings) -> dict[str, list[str]]:
    names = [r[0] for r in query(settings, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'")]
    return {n: sorted(map(_canonical, query(settings, f'SELECT * FROM marts."{n}"'))) for n in names}


def _built(settings: Settings) -> dict[str, dict]:
    return {m: dict(query(settings, f"SELECT {day}, max(_built_at) FROM intermediate.{m} GROUP BY 1"))
            for m, day in DAILY_MODELS.items()}


@pytest.fixture(scope="module")
def built_then_one_more_day(tmp_path_factory, registry):
    home = tmp_path_factory.mktemp("incremental")
    settings = Settings.from_env({"HUB_HOME": str(home), "HUB_HTTP_BACKOFF": "0.01"})
    generate_demo(settings.data_dir, registry, seed=5, scale=Scale(start=date(2024, 10, 25), days=4, **SMALL))
    _ingest_demo(settings, registry)
    run_models(settings)
    before = _built(settings)
    # the next day's daily deliveries only: a day's data does not depend on the other days generated
    extra = home / "extra"
    files = generate_demo(extra, registry, seed=5, scale=Scale(start=NEW_DAY, days=3, **SMALL))
    for f in files:
        if f.period == NEW_DAY.strftime("%Y%m%d") and f.note not in ("truncated_gzip", "wrong_encoding"):
            target = settings.data_dir / f.path.relative_to(extra)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f.path, target)
    _ingest_demo(settings, registry)
    run_models(settings)
    return settings, before, _built(settings)


def test_only_the_new_day_is_recomputed(built_then_one_more_day):
    _, before, after = built_then_one_more_day
    for model in DAILY_MODELS:
        assert NEW_DAY not in before[model] and NEW_DAY in after[model], model
        unchanged = {d: t for d, t in after[model].items() if d != NEW_DAY}
        assert unchanged == before[model], model  # every earlier day kept its build time


def test_full_refresh_gives_the_same_marts_row_for_row(built_then_one_more_day):
    settings, _, _ = built_then_one_more_day
    incremental = _marts(settings)
    # every mart has rows, but those of layouts the demo does not write (road sections, mobility counts)
    assert {m for m, rows in incremental.items() if not rows} == {"trafic_troncon_annee", "mobilites_site_annee"}
    run_models(settings, full_refresh=True)
    refreshed = _marts(settings)
    for name in incremental:  # name the first differing rows, to make a failure readable
        assert refreshed[name] == incremental[name], (name, sorted(set(refreshed[name]) ^ set(incremental[name]))[:4])
