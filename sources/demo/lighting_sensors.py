"""Lamp sensors (the demo's métropole): on/off state and power every 10 minutes, one file per
local day, on points of the inventory the registry links the sensor dataset to.

Lamps follow dusk and dawn (a photocell threshold a little below the horizon), some
communes switch off from 01:00 to 05:00, dimmable LEDs drop to half power late at night,
and a few lamps stay lit in daylight on some days (the hub measures that waste).
"""

from __future__ import annotations

import numpy as np

from territoire_hub.sources.demo import writer as w
from territoire_hub.sources.demo.deliveries import Context, GeneratedFile, delivery_time
from territoire_hub.sources.demo.lighting import TYPE_CODES, Inventory
from territoire_hub.sources.demo.paris_time import day_grid, iso_local, local_wall
from territoire_hub.sources.demo.sun import elevation

FORMAT = "eclairage_capteurs"
HEADER = ["id_capteur", "id_point_lumineux", "horodatage", "etat", "puissance_w"]
STEP = 600
LED = TYPE_CODES.index("LED")


def generate(ctx: Context, inv: Inventory) -> list[GeneratedFile]:
    files = []
    for entry in ctx.of_format(FORMAT):
        files += _generate(ctx, inv, entry)
    return files


def _generate(ctx: Context, inv: Inventory, entry) -> list[GeneratedFile]:
    """Sensors on points of the linked inventory inside the sensor partner's area."""
    area, _ = ctx.region.area_of(entry.partner)
    pool = np.intersect1d(inv.of_any(ctx.linked(entry, "inventory")), np.flatnonzero(np.isin(inv.commune, area)))
    n = min(ctx.scale.lamp_sensors, pool.size)
    if n <= 0:
        return []
    rng = ctx.rng("sensors", "devices")
    point = np.sort(rng.choice(pool, size=n, replace=False))
    sensor = np.array([f"CPT-ECL-{k:04d}" for k in range(1, n + 1)], dtype=w.STR)
    threshold = rng.uniform(-3.5, -1.0, n)  # photocell: degrees of solar elevation
    lat, lon = inv.lat[point], inv.lon[point]
    cut = inv.night_cut[inv.commune[point]]
    dimmable = (inv.kind[point] == LED) & np.isin(inv.adaptive[point], [1, 2])
    files = []
    for day in ctx.scale.day_list:
        rng = ctx.rng("sensors", day.isoformat())
        utc = day_grid(day, STEP)
        minute = ((local_wall(utc) % 86400) // 60)[None, :]
        sun = elevation(utc[None, :], lat[:, None], lon[:, None])
        on = sun < threshold[:, None]
        on &= ~(cut[:, None] & (minute >= 60) & (minute < 300))
        # faults: stuck on for a few daylight hours, on all day, or a dead lamp
        stuck = rng.random(n) < 0.03
        start = rng.integers(8 * 60, 15 * 60, n)[:, None]
        stop = start + rng.integers(2 * 60, 10 * 60, n)[:, None]
        on |= stuck[:, None] & (minute >= start) & (minute < stop)
        on |= (rng.random(n) < 0.004)[:, None]
        on &= ~(rng.random(n) < 0.01)[:, None]
        dim = dimmable[:, None] & ((minute >= 23 * 60) | (minute < 5 * 60))
        watts = inv.power[point][:, None] * np.where(dim, 0.5, 1.0) * rng.uniform(0.97, 1.03, on.shape)
        keep = rng.random(on.shape) >= 0.003  # lost radio messages
        s, t = np.nonzero(keep)  # sensor-major: each device's log in turn
        cells = [sensor[s], inv.point[point][s], iso_local(utc)[t],
                 np.where(on[s, t], "on", "off").astype(w.STR), w.fixed(watts[s, t], 1, missing=~on[s, t])]
        text = w.render(HEADER, w.join_rows(cells, ";"), ";")
        gz = day.toordinal() % 5 == 0  # some days arrive compressed
        path = ctx.path(entry, f"capteurs_eclairage_{day:%Y%m%d}.csv" + (".gz" if gz else ""), period=f"{day:%Y%m%d}")
        w.write_csv(path, text, compress=gz)
        files.append(ctx.record(entry.key, path, 1, "", delivery_time(day, minutes=40)))
    return files
