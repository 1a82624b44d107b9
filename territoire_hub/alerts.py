"""Alerts: a failed run or a failed check (a late delivery among them) is written to the hub's alert
log (``data/alerts/alerts.jsonl``, 0600: ``hub status`` shows the latest) and POSTed as JSON to the
webhook ``HUB_ALERT_WEBHOOK`` when one is set (``{"text": …, "alert": {…}}``: what Mattermost,
Slack or Rocket.Chat incoming webhooks read). A webhook that fails is recorded with the alert,
never raised: an alert must not fail the sensor that sends it. The webhook's URL may hold a token:
only its host is ever written down."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from territoire_hub.permissions import PRIVATE_FILE, private_dir
from territoire_hub.settings import Settings


@dataclass(frozen=True)
class Alert:
    kind: str             # run_failure | check_failure
    subject: str          # the job, or the asset and check
    message: str
    run_id: str
    at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    @property
    def text(self) -> str:
        return f"[territoire-hub] {self.kind.replace('_', ' ')}: {self.subject} — {self.message}"


def alert_log(settings: Settings) -> Path:
    return settings.data_dir / "alerts" / "alerts.jsonl"


def send_alert(settings: Settings, alert: Alert) -> str:
    """Record ``alert`` and POST it to the webhook; returns what happened to the webhook."""
    outcome = "no webhook (HUB_ALERT_WEBHOOK)"
    if settings.alert_webhook:
        host = urllib.parse.urlsplit(settings.alert_webhook).netloc
        body = json.dumps({"text": alert.text, "alert": asdict(alert)}, ensure_ascii=False).encode()
        request = urllib.request.Request(settings.alert_webhook, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=settings.http_timeout) as response:
                outcome = f"sent to {host} (HTTP {response.status})"
        except (urllib.error.URLError, OSError) as exc:
            outcome = f"webhook {host} failed: {getattr(exc, 'reason', exc)}"
    path = alert_log(settings)
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
    with os.fdopen(fd, "a") as fh:
        fh.write(json.dumps({**asdict(alert), "webhook": outcome}, ensure_ascii=False) + "\n")
    return outcome


def recent_alerts(settings: Settings, limit: int = 10) -> list[dict]:
    """The latest alerts, newest first."""
    path = alert_log(settings)
    if not path.exists():
        return []
    lines = path.read_text().splitlines()[-limit:]
    return [json.loads(line) for line in reversed(lines) if line.strip()]
