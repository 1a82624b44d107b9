"""The map of the platform: every asset, sensor and resource, in one Definitions object.

Nothing happens at import: Dagster calls ``defs()`` when it loads the code location.
"""

from __future__ import annotations

import dagster as dg

from territoire_hub.orchestration.assets import raw_assets
from territoire_hub.orchestration.resources import HubResource
from territoire_hub.orchestration.sensors import inbox_sensor


@dg.definitions
def defs() -> dg.Definitions:
    hub = HubResource()
    registry = hub.registry()
    return dg.Definitions(
        assets=raw_assets(registry),
        sensors=[inbox_sensor(registry)],
        resources={"hub": hub},
    )
