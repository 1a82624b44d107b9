"""URL expansion and HTTP fetch against a real loopback server (no mocks)."""

from __future__ import annotations

import secrets
import time
from datetime import date

import pytest

from territoire_hub.settings import PACKAGE_SOURCES
from territoire_hub.sources.demo.server import PartnerServer
from territoire_hub.formats import load_format
from territoire_hub.registry import Dataset, Partner, PartnerDataset, load_registry
from territoire_hub.sources.transports import Incoming, expand_urls, fetch_http

TOKEN = "tok-" + secrets.token_hex(12)  # a fresh fake token per run: none is written in the repo
FAST = {"timeout": 0.5, "retries": 2, "backoff": 0.01}


@pytest.fixture(scope="module")
def registry():
    return load_registry(PACKAGE_SOURCES / "registry")


class MemoryStore:
    """Minimal ValidatorStore: what the landing catalogue would remember."""

    def __init__(self):
        self.saved: dict[str, tuple[str | None, str | None]] = {}

    def validators(self, url: str) -> tuple[str | None, str | None]:
        return self.saved.get(url, (None, None))

    def remember(self, incoming: Incoming) -> None:
        self.saved[incoming.origin] = (incoming.etag, incoming.last_modified)


def http_entry(url: str, *, cadence="snapshot", filename=None, auth="none", departements=(), start=None, end=None,
               partner="recharge-sud", dataset="irve_statique") -> PartnerDataset:
    spec = load_format("irve_statique")
    return PartnerDataset(
        partner=Partner(id=partner, name=partner, kind="private_company"),
        dataset=Dataset(
            id=dataset, domain="ev_charging", format="irve_statique",
            transport={"type": "http", "url": url, "auth": auth, "departements": list(departements)},
            filename=filename, cadence=cadence, start=start, end=end,
            licence="licence-ouverte-2.0", sensitivity="open",
        ),
        spec=spec,
    )


# -- expand_urls ------------------------------------------------------------------


def test_expand_snapshot_url_resolves_placeholder(registry):
    entry = registry.dataset("recharge_sud__irve_statique")
    urls = expand_urls(entry, {"HUB_URL_RECHARGE_SUD": "https://data.recharge-sud.example/v1"})
    assert urls == [("https://data.recharge-sud.example/v1/irve/irve_statique.csv", "snapshot")]


def test_expand_default_value_and_override():
    entry = http_entry("${HUB_URL_X:-http://fallback.example}/irve/${FILE:-irve.csv}")
    assert expand_urls(entry, {}) == [("http://fallback.example/irve/irve.csv", "snapshot")]
    assert expand_urls(entry, {"HUB_URL_X": "http://set.example", "FILE": ""}) == [
        ("http://set.example/irve/irve.csv", "snapshot")
    ]


def test_expand_unresolved_variable_names_it(registry):
    entry = registry.dataset("recharge_sud__irve_statique")
    with pytest.raises(ValueError) as info:
        expand_urls(entry, {"HUB_URL_OTHER": "http://x"})
    message = str(info.value)
    assert "HUB_URL_RECHARGE_SUD" in message
    assert "recharge-sud" in message and "irve_statique" in message


def test_expand_monthly_periods_with_two_departements():
    entry = http_entry(
        "${BASE}/horaire/H_{departement}_{period}.csv.gz",
        cadence="monthly", filename=r"^H_(?P<departement>\d{2})_(?P<period>\d{6})\.csv\.gz$",
        departements=["34", "30"], start=date(2023, 11, 15), end=date(2024, 1, 2),
    )
    assert expand_urls(entry, {"BASE": "http://p"}) == [
        ("http://p/horaire/H_34_202311.csv.gz", "202311"),
        ("http://p/horaire/H_30_202311.csv.gz", "202311"),
        ("http://p/horaire/H_34_202312.csv.gz", "202312"),
        ("http://p/horaire/H_30_202312.csv.gz", "202312"),
        ("http://p/horaire/H_34_202401.csv.gz", "202401"),
        ("http://p/horaire/H_30_202401.csv.gz", "202401"),
    ]
    assert expand_urls(entry, {"BASE": "http://p"}, periods=["202405"]) == [
        ("http://p/horaire/H_34_202405.csv.gz", "202405"),
        ("http://p/horaire/H_30_202405.csv.gz", "202405"),
    ]


def test_expand_registry_meteo_covers_the_declared_year(registry):
    urls = expand_urls(registry.dataset("meteo_france__observations_horaires"), {"HUB_URL_METEO_FRANCE": "http://m"})
    assert len(urls) == 12 * 2
    assert urls[0] == ("http://m/horaire/H_34_202401.csv.gz", "202401")
    assert urls[-1] == ("http://m/horaire/H_30_202412.csv.gz", "202412")


def test_expand_daily_without_end_runs_to_today():
    entry = http_entry("http://p/d/irve_dynamique_{period}.csv.gz", cadence="daily",
                       filename=r"^irve_dynamique_(?P<period>\d{8})\.csv\.gz$", start=date(2024, 2, 27))
    urls = expand_urls(entry, {}, today=date(2024, 3, 1))
    assert [p for _, p in urls] == ["20240227", "20240228", "20240229", "20240301"]


def test_expand_rejects_inconsistent_templates():
    with pytest.raises(ValueError, match="departement"):
        expand_urls(http_entry("http://p/{departement}/x.csv"), {})
    with pytest.raises(ValueError, match="unknown placeholder"):
        expand_urls(http_entry("http://p/{region}/x.csv"), {})


# -- fetch_http -------------------------------------------------------------------


@pytest.fixture()
def partner_root(tmp_path):
    root = tmp_path / "partner"
    (root / "irve" / "dynamique").mkdir(parents=True)
    (root / "irve" / "irve_statique.csv").write_bytes(b"id_pdc_itinerance;puissance_nominale\nFRXXXE1;22\n" * 50)
    (root / "irve" / "dynamique" / "irve_dynamique_20240301.csv.gz").write_bytes(bytes(range(256)) * 8)
    (root / "irve" / "dynamique" / "irve_dynamique_20240302.csv.gz").write_bytes(b"\x1f\x8b second day")
    return root


@pytest.fixture()
def server(partner_root):
    with PartnerServer(partner_root, tokens={"/irve/dynamique/": TOKEN}) as srv:
        srv.slow_seconds = 1.5  # > client timeout 0.5 s, short enough to keep teardown quick
        yield srv


@pytest.fixture()
def statique(registry):
    return registry.dataset("recharge_sud__irve_statique")


@pytest.fixture()
def dynamique(registry):
    return registry.dataset("recharge_sud__irve_dynamique")


STATIQUE = "/irve/irve_statique.csv"


def fetch(entry, server, scratch, store=None, periods=None, token=None, **options):
    urls = expand_urls(entry, {"HUB_URL_RECHARGE_SUD": server.url}, periods)
    return fetch_http(entry, urls, scratch, store or MemoryStore(), token=token, **{**FAST, **options})


def test_fetch_200_then_304_with_saved_validators(statique, server, partner_root, tmp_path):
    store = MemoryStore()
    first = fetch(statique, server, tmp_path / "scratch", store)
    [incoming] = first.incoming
    assert incoming.path.read_bytes() == (partner_root / "irve" / "irve_statique.csv").read_bytes()
    assert incoming.path.parent.parent == tmp_path / "scratch"
    assert (incoming.dataset_key, incoming.filename, incoming.period) == (
        "recharge_sud__irve_statique", "irve_statique.csv", "snapshot")
    assert incoming.origin == server.url + STATIQUE
    assert incoming.etag and incoming.etag.startswith('"')
    assert incoming.last_modified and incoming.last_modified.endswith("GMT")
    assert [p.name for p in incoming.path.parent.iterdir()] == ["irve_statique.csv"]  # no temp left behind

    store.remember(incoming)
    second = fetch(statique, server, tmp_path / "scratch", store)
    assert second.incoming == [] and second.errors == []
    assert second.not_modified == [server.url + STATIQUE]
    assert [r[2] for r in server.requests] == [200, 304]


def test_fetch_304_from_last_modified_alone(statique, server, tmp_path):
    url = server.url + STATIQUE
    first = fetch(statique, server, tmp_path)
    store = MemoryStore()
    store.saved[url] = (None, first.incoming[0].last_modified)
    assert fetch(statique, server, tmp_path, store).not_modified == [url]


def test_fetch_304_from_etag_alone_and_200_when_stale(statique, server, tmp_path):
    url = server.url + STATIQUE
    etag = fetch(statique, server, tmp_path).incoming[0].etag
    store = MemoryStore()
    store.saved[url] = (etag, None)
    assert fetch(statique, server, tmp_path, store).not_modified == [url]
    # a stale ETag wins over a current Last-Modified: the file is downloaded again
    store.saved[url] = ('"stale"', "Fri, 01 Jan 2100 00:00:00 GMT")
    assert [i.etag for i in fetch(statique, server, tmp_path, store).incoming] == [etag]
    assert [r[2] for r in server.requests] == [200, 304, 200]


def test_fetch_retries_5xx_then_succeeds(statique, server, partner_root, tmp_path):
    server.inject(STATIQUE, "500", "503")
    report = fetch(statique, server, tmp_path)
    assert report.errors == []
    assert report.incoming[0].path.read_bytes() == (partner_root / "irve" / "irve_statique.csv").read_bytes()
    assert server.requests == [("GET", STATIQUE, 500), ("GET", STATIQUE, 503), ("GET", STATIQUE, 200)]


def test_fetch_always_5xx_is_an_error_after_retries(statique, server, tmp_path):
    server.inject(STATIQUE, *["500"] * 10)
    report = fetch(statique, server, tmp_path, retries=2)
    assert report.incoming == []
    [(origin, reason)] = report.errors
    assert origin == server.url + STATIQUE
    assert "recharge-sud" in reason and "irve_statique" in reason and origin in reason
    assert "3 attempt" in reason and "500" in reason
    assert [r[2] for r in server.requests] == [500, 500, 500]  # retries + 1, no more


def test_fetch_timeout_is_an_error_naming_the_url(statique, server, tmp_path):
    server.inject(STATIQUE, "timeout", "timeout", "timeout")
    started = time.monotonic()
    report = fetch(statique, server, tmp_path, retries=1)
    assert time.monotonic() - started < 5
    [(origin, reason)] = report.errors
    assert origin == server.url + STATIQUE
    assert origin in reason and "timed out" in reason
    assert len(server.requests) == 2


def test_fetch_truncated_body_once_is_retried_and_complete(statique, server, partner_root, tmp_path):
    server.inject(STATIQUE, "truncate")
    report = fetch(statique, server, tmp_path)
    assert report.errors == []
    expected = (partner_root / "irve" / "irve_statique.csv").read_bytes()
    assert report.incoming[0].path.read_bytes() == expected
    assert server.requests == [("GET", STATIQUE, 200), ("GET", STATIQUE, 200)]


def test_fetch_always_truncated_is_an_error_not_a_short_file(statique, server, tmp_path):
    server.inject(STATIQUE, *["truncate"] * 10)
    report = fetch(statique, server, tmp_path / "scratch", retries=2)
    assert report.incoming == []
    [(_, reason)] = report.errors
    assert "3 attempt" in reason and "IncompleteRead" in reason
    assert len(server.requests) == 3
    assert not (tmp_path / "scratch").exists() or not any((tmp_path / "scratch").rglob("*"))


def test_fetch_connection_reset_is_retried(statique, server, tmp_path):
    server.inject(STATIQUE, "reset")
    report = fetch(statique, server, tmp_path)
    assert report.errors == [] and len(report.incoming) == 1
    assert [r[2] for r in server.requests] == [0, 200]


def test_fetch_404_is_not_published(dynamique, server, tmp_path):
    report = fetch(dynamique, server, tmp_path, periods=["20240315"], token=TOKEN)
    assert report.not_published == [server.url + "/irve/dynamique/irve_dynamique_20240315.csv.gz"]
    assert report.errors == [] and report.incoming == []
    assert [r[2] for r in server.requests] == [404]  # a 404 is an answer, not retried


def test_fetch_bearer_token_reaches_protected_files(dynamique, server, partner_root, tmp_path):
    report = fetch(dynamique, server, tmp_path, periods=["20240301", "20240302"], token=TOKEN)
    assert report.errors == []
    assert [(i.filename, i.period) for i in report.incoming] == [
        ("irve_dynamique_20240301.csv.gz", "20240301"), ("irve_dynamique_20240302.csv.gz", "20240302")]
    # the bytes are kept as served: a .csv.gz stays gzip, nothing is decoded
    assert report.incoming[0].path.read_bytes() == bytes(range(256)) * 8


def test_fetch_bearer_missing_token_names_the_variable(dynamique, server, tmp_path):
    report = fetch(dynamique, server, tmp_path, periods=["20240301", "20240302"], token=None)
    assert len(report.errors) == 2
    assert all("HUB_PARTNER_TOKEN_RECHARGE_SUD" in reason for _, reason in report.errors)
    assert server.requests == []  # nothing is sent without credentials


def test_fetch_bearer_wrong_token_is_refused_without_leaking_it(dynamique, server, tmp_path):
    wrong = "tok-wrong-0000-also-secret"
    report = fetch(dynamique, server, tmp_path, periods=["20240301"], token=wrong)
    [(_, reason)] = report.errors
    assert "authentication refused" in reason
    for _, message in report.errors:
        assert wrong not in message and TOKEN not in message
    assert wrong not in repr(report)
    assert [r[2] for r in server.requests] == [401]  # 401 is final, not retried


def test_one_failing_url_does_not_stop_the_others(dynamique, server, partner_root, tmp_path):
    server.inject("/irve/dynamique/irve_dynamique_20240301.csv.gz", *["503"] * 10)
    report = fetch(dynamique, server, tmp_path, periods=["20240301", "20240302", "20240303"], token=TOKEN,
                   retries=1)
    assert [origin.rsplit("/", 1)[1] for origin, _ in report.errors] == ["irve_dynamique_20240301.csv.gz"]
    assert [i.filename for i in report.incoming] == ["irve_dynamique_20240302.csv.gz"]
    assert report.incoming[0].path.read_bytes() == b"\x1f\x8b second day"
    assert report.not_published == [server.url + "/irve/dynamique/irve_dynamique_20240303.csv.gz"]


def test_fetch_unreachable_server_is_an_error(statique, tmp_path):
    with PartnerServer(tmp_path) as srv:
        url = srv.url  # a port that was free a moment ago and is closed now
    report = fetch_http(statique, [(url + STATIQUE, "snapshot")], tmp_path, MemoryStore(), token=None, **FAST)
    [(origin, reason)] = report.errors
    assert origin == url + STATIQUE and "3 attempt" in reason


def test_fetch_name_outside_dataset_pattern_is_an_error(dynamique, server, tmp_path):
    report = fetch_http(dynamique, [(server.url + "/irve/other.csv", "20240301")], tmp_path, MemoryStore(),
                        token=TOKEN, **FAST)
    [(_, reason)] = report.errors
    assert "other.csv" in reason and "pattern" in reason
    assert server.requests == []
