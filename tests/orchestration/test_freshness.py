"""Late deliveries in Dagster (issue 20.4): the hourly ``freshness_job`` runs a ``delivery_due`` check
per partner dataset; on the demo (delivered for four days of October 2024) every time series is
overdue and names its partner and missing days, the inventories delivered at the demo run are on
time; the alert sensors then POST each failure to a webhook on loopback, write it to the alert log
and ``hub status`` shows it."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

from territoire_hub.alerts import alert_log
from territoire_hub.freshness import PARIS
from territoire_hub.orchestration.alerts import alert_sensors
from territoire_hub.orchestration.definitions import defs
from territoire_hub.orchestration.resources import HubResource
from tests.conftest import copy_home, hub


class Receiver:
    """A webhook on loopback: keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                received.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def late(demo_home, tmp_path_factory):
    """The freshness job run on a copy of the demo, in a Dagster instance of its own."""
    settings = copy_home(demo_home, tmp_path_factory.mktemp("freshness") / "home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HUB_HOME", str(settings.home))
        loaded = dg.Definitions.merge(defs())
        instance = dg.DagsterInstance.ephemeral()
        result = loaded.resolve_job_def("freshness_job").execute_in_process(instance=instance)
    checks = {e.asset_key.path[-1]: e for e in result.get_asset_check_evaluations()}
    return settings, instance, result, checks


def test_every_dataset_has_a_delivery_due_check_run_hourly_and_only_by_its_own_job(late, registry):
    settings, _, result, checks = late
    assert result.success
    assert set(checks) == set(registry.datasets) and {e.check_name for e in checks.values()} == {"delivery_due"}
    loaded = dg.Definitions.merge(defs())
    schedules = {s.name: s for s in loaded.schedules}
    assert schedules["freshness_schedule"].cron_schedule == "15 * * * *"
    assert schedules["freshness_schedule"].execution_timezone == "Europe/Paris"
    # the daily ingestion keeps its delivery_quality check and leaves delivery_due to the hourly job
    def check_names(job: str) -> set[str]:
        return {key.name for key in loaded.resolve_job_def(job).asset_layer.asset_graph.asset_check_keys}

    assert "delivery_quality" in check_names("daily_job") and "delivery_due" not in check_names("daily_job")
    assert "delivery_due" not in check_names("refresh_job") and check_names("freshness_job") == {"delivery_due"}


def test_a_late_time_series_names_its_partner_and_missing_days(late):
    _, _, _, checks = late
    traffic = checks["montpellier_metropole__comptages_routiers"]
    assert not traffic.passed and traffic.severity == dg.AssetCheckSeverity.WARN
    two_days_ago = (datetime.now(PARIS) - timedelta(days=2)).strftime("%Y%m%d")   # always past its deadline
    assert traffic.description.startswith("montpellier-metropole/comptages_routiers: overdue ")
    assert two_days_ago in traffic.description and "latest delivery received" in traffic.description
    assert two_days_ago in traffic.metadata["missing_periods"].value
    assert len(traffic.metadata["missing_periods"].value) == 7   # the window: older gaps are history
    weather = checks["meteo_france__observations_horaires"]
    assert not weather.passed and weather.description.startswith("meteo-france/observations_horaires: overdue ")


def test_an_inventory_delivered_at_the_demo_run_is_on_time(late):
    _, _, _, checks = late
    assert checks["recharge_sud__irve_statique"].passed
    assert checks["recharge_sud__irve_statique"].metadata["missing_periods"].value == []


def test_failed_checks_and_failed_runs_reach_the_webhook_the_alert_log_and_hub_status(late, monkeypatch):
    settings, instance, result, checks = late
    receiver = Receiver()
    monkeypatch.setenv("HUB_ALERT_WEBHOOK", f"{receiver.url}/hooks/jeton-secret-123")
    on_failure, on_checks = alert_sensors()
    resources = {"hub": HubResource(home=str(settings.home))}

    success = instance.get_records_for_run(result.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS).records
    on_checks(dg.build_run_status_sensor_context(
        sensor_name="alert_on_check_failure", dagster_instance=instance, dagster_run=result.dagster_run,
        dagster_event=success[0].event_log_entry.dagster_event, resources=resources))
    late_ones = [key for key, e in checks.items() if not e.passed]
    assert len(receiver.received) == len(late_ones) >= 5
    path, body = next(r for r in receiver.received if "comptages_routiers" in r[1]["text"])
    assert path == "/hooks/jeton-secret-123"
    assert body["alert"]["kind"] == "check_failure" and body["alert"]["run_id"] == result.run_id
    assert body["text"].startswith("[territoire-hub] check failure: raw/montpellier_metropole__comptages_routiers "
                                   "delivery_due — montpellier-metropole/comptages_routiers: overdue ")

    @dg.op
    def transfert():
        raise RuntimeError("le serveur SFTP du partenaire ne répond pas")

    @dg.job
    def ingestion_enedis():
        transfert()

    failed = ingestion_enedis.execute_in_process(instance=instance, raise_on_error=False)
    failure = instance.get_records_for_run(failed.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
    on_failure(dg.build_run_status_sensor_context(
        sensor_name="alert_on_run_failure", dagster_instance=instance, dagster_run=failed.dagster_run,
        dagster_event=failure[0].event_log_entry.dagster_event, resources=resources).for_run_failure())
    assert receiver.received[-1][1]["alert"]["kind"] == "run_failure"
    assert receiver.received[-1][1]["alert"]["subject"] == "ingestion_enedis"

    # the alert log: every alert with what happened to the webhook, never the webhook's token
    log = alert_log(settings)
    assert log.stat().st_mode & 0o777 == 0o600
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == len(late_ones) + 1 and all(line["webhook"].endswith("(HTTP 204)") for line in lines)
    assert "jeton-secret-123" not in log.read_text()

    # a webhook that does not answer: recorded, not raised
    receiver.server.shutdown()
    receiver.server.server_close()
    on_failure(dg.build_run_status_sensor_context(
        sensor_name="alert_on_run_failure", dagster_instance=instance, dagster_run=failed.dagster_run,
        dagster_event=failure[0].event_log_entry.dagster_event, resources=resources).for_run_failure())
    assert "failed" in json.loads(log.read_text().splitlines()[-1])["webhook"]

    shown = hub(settings.home, "status").stdout
    assert "Overdue deliveries (" in shown and "montpellier-metropole/comptages_routiers: overdue" in shown
    assert "Latest alerts" in shown and "run_failure: ingestion_enedis" in shown
    assert "check_failure: raw/montpellier_metropole__comptages_routiers delivery_due" in shown
