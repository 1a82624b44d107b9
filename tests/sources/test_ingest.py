"""One dataset's transport failing never stops the others; the failure stays visible."""

from __future__ import annotations

from territoire_hub.orchestration.status import collect_status
from territoire_hub.orchestration.ingestion import ingest_all
from tests.conftest import drop
from tests.sources.test_loading import TRAFFIC, traffic_file


def test_unset_partner_url_is_a_transport_error_and_the_run_goes_on(settings, registry, warehouse):
    drop(settings, "montpellier-metropole", "comptages_routiers_20240612.csv", traffic_file("2024-06-12"))
    reports = {r.dataset_key: r for r in ingest_all(warehouse, settings, registry,
                                                     [TRAFFIC, "meteo_france__observations_horaires"])}
    assert reports[TRAFFIC].loaded == 1
    weather = reports["meteo_france__observations_horaires"]
    assert weather.loaded == 0 and len(weather.transport_errors) == 1
    assert "${HUB_URL_METEO_FRANCE} is not set" in weather.transport_errors[0][1]
    status = collect_status(warehouse, registry)
    assert [(d, "HUB_URL_METEO_FRANCE" in reason) for d, _, reason in status.transport_errors] == [
        ("meteo_france__observations_horaires", True)]
