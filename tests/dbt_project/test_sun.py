"""The sun_event macro (NOAA solar equations in SQL) against astral 3.2 and a value worked by hand."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timezone

import duckdb
import pytest
from astral import Observer
from astral.sun import sun

from territoire_hub.orchestration.dbt import run_dbt
from territoire_hub.settings import Settings

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
UTC = timezone.utc
PLACES = {"montpellier": (43.6109, 3.8772), "beaucaire": (43.8075, 4.6440), "polar": (80.0, 15.0)}
DAYS = [date(2024, m, d) for m, d in [
    (1, 1), (1, 15), (2, 10), (2, 29), (3, 20), (3, 30), (3, 31), (4, 1), (4, 15), (5, 9), (6, 1),
    (6, 21), (7, 14), (8, 15), (9, 22), (10, 26), (10, 27), (10, 28), (11, 11), (12, 21)]] + [
    date(2020, 3, 29), date(2030, 10, 27)]
# column → (event, elevation_deg, astral key)
EVENTS = {"sunrise_at": ("sunrise", -0.833, "sunrise"), "sunset_at": ("sunset", -0.833, "sunset"),
          "civil_dawn_at": ("sunrise", -6, "dawn"), "civil_dusk_at": ("sunset", -6, "dusk")}


@pytest.fixture(scope="module")
def sun_events(tmp_path_factory) -> dict:
    """{(place, day): {column: UTC instant or None}} computed by the compiled macro in DuckDB."""
    settings = Settings.from_env({"HUB_HOME": str(tmp_path_factory.mktemp("sun"))})
    settings.warehouse.parent.mkdir(parents=True)  # dbt opens the (empty) warehouse even to compile
    columns = ",\n".join(
        f"{{{{ sun_event('day', 'lat', 'lon', '{event}', {elevation}) }}}} as {name}"
        for name, (event, elevation, _) in EVENTS.items())
    inline = f"select place, day, {columns} from sun_cases"
    compiled = run_dbt(settings, ["--quiet", "compile", "--inline", inline]).stdout
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE sun_cases (place VARCHAR, day DATE, lat DOUBLE, lon DOUBLE)")
    con.executemany("INSERT INTO sun_cases VALUES (?, ?, ?, ?)",
                    [(p, d, *PLACES[p]) for p in PLACES for d in DAYS])
    rows = con.execute(compiled).fetchall()
    return {(r[0], r[1]): dict(zip(EVENTS, r[2:])) for r in rows}


@pytest.mark.parametrize("place", ["montpellier", "beaucaire"])
def test_sun_events_match_astral_within_a_minute(sun_events, place):
    lat, lon = PLACES[place]
    worst = 0.0
    for day in DAYS:
        reference = sun(Observer(lat, lon), day, tzinfo=PARIS)
        for column, (_, _, key) in EVENTS.items():
            ours = sun_events[(place, day)][column]
            assert ours.tzinfo is not None and ours.utcoffset().total_seconds() == 0
            delta = abs((ours - reference[key]).total_seconds())
            assert delta <= 60, (place, day, column, ours, reference[key])
            worst = max(worst, delta)
    assert 0 < worst <= 45  # measured: 28 s at most (civil twilight), 21 s for sunrise/sunset


def test_montpellier_summer_solstice_sunrise_by_hand(sun_events):
    # By hand: solar noon = 12:00 UTC - 4 min × 3.8772° + 1.7 min (equation of time on 21 June,
    # -1.7 min) = 11:46:12 UTC; declination 23.44°: cos H = (sin(-0.833°) - sin 43.611° sin 23.44°)
    # / (cos 43.611° cos 23.44°) = -0.4349, H = 115.78° = 7 h 43.1 min → sunrise ≈ 04:03 UTC
    # (06:03 CEST); astral 3.2 gives 04:03:31 UTC. (Not 03:54 UTC.)
    sunrise = sun_events[("montpellier", date(2024, 6, 21))]["sunrise_at"]
    assert abs((sunrise - datetime(2024, 6, 21, 4, 3, 10, tzinfo=UTC)).total_seconds()) <= 60
    sunset = sun_events[("montpellier", date(2024, 6, 21))]["sunset_at"]
    assert abs((sunset - datetime(2024, 6, 21, 19, 29, 15, tzinfo=UTC)).total_seconds()) <= 60  # 11:46:12 + 7 h 43.1 min


def test_dst_days_keep_their_utc_instants(sun_events):
    # the local clock jumps an hour on 2024-03-31, the Sun does not: in UTC, sunrise moves by
    # 1-2 minutes a day around the spring equinox, and no hour is lost or gained
    r30, r31, r01 = (sun_events[("montpellier", d)]["sunrise_at"] for d in (date(2024, 3, 30), date(2024, 3, 31), date(2024, 4, 1)))
    for earlier, later in ((r30, r31), (r31, r01)):
        assert 60 <= 86400 - (later - earlier).total_seconds() <= 150
    assert r30.astimezone(PARIS).hour == 6 and r31.astimezone(PARIS).hour == 7  # 06:29 CET, 07:27 CEST


def test_polar_day_and_night_give_null(sun_events):
    summer, winter = sun_events[("polar", date(2024, 6, 21))], sun_events[("polar", date(2024, 12, 21))]
    assert summer["sunrise_at"] is None and summer["sunset_at"] is None      # midnight sun
    assert winter["sunrise_at"] is None and winter["civil_dusk_at"] is None  # polar night, no civil twilight at 80° N
