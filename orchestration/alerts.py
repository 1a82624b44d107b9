"""The alert sensors: a failed run, or a run whose checks failed (a late delivery, a blocked mart),
sends an alert per failure through ``territoire_hub.alerts`` (the alert log and the webhook)."""

from __future__ import annotations

import dagster as dg

from territoire_hub.alerts import Alert, send_alert
from territoire_hub.orchestration.resources import HubResource


def failed_checks(instance: dg.DagsterInstance, run_id: str) -> list[Alert]:
    """An alert per check that failed in the run ``run_id``."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    alerts = []
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if not evaluation.passed:
            subject = f"{evaluation.asset_key.to_user_string()} {evaluation.check_name}"
            message = evaluation.description or "failed"
            alerts.append(Alert("check_failure", subject, message, run_id))
    return alerts


def alert_sensors() -> list[dg.SensorDefinition]:
    @dg.run_failure_sensor(name="alert_on_run_failure", default_status=dg.DefaultSensorStatus.RUNNING,
                           description="A failed run: an alert (log and webhook), with its failed checks.")
    def _on_failure(context: dg.RunFailureSensorContext, hub: HubResource) -> None:
        settings = hub.settings()
        run = context.dagster_run
        message = context.failure_event.message if context.failure_event else "the run failed"
        for alert in [Alert("run_failure", run.job_name, message, run.run_id),
                      *failed_checks(context.instance, run.run_id)]:
            context.log.info(f"{alert.text}: {send_alert(settings, alert)}")

    @dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, name="alert_on_check_failure",
                          default_status=dg.DefaultSensorStatus.RUNNING,
                          description="A run that succeeded with failed checks (a late delivery, a blocked mart): "
                                      "an alert per failed check (log and webhook).")
    def _on_checks(context: dg.RunStatusSensorContext, hub: HubResource) -> None:
        settings = hub.settings()
        for alert in failed_checks(context.instance, context.dagster_run.run_id):
            context.log.info(f"{alert.text}: {send_alert(settings, alert)}")

    return [_on_failure, _on_checks]
