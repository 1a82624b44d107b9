"""Lighting operations: the daily cabinet meter readings and the failure tickets (GMAO exports with
naive local times), one file per month, of each dataset of the registry, on the points of the
inventory it is linked to (the demo: the syndicate's readings and tickets, Beaucaire's tickets)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from territoire_hub.sources.demo import writer as w
from territoire_hub.sources.demo.deliveries import Context, GeneratedFile, delivery_time
from territoire_hub.sources.demo.lighting import COMMUNE, SYNDICATE, TYPE_CODES, Inventory, encoding_of, style
from territoire_hub.sources.demo.paris_time import DAY, dst_change_days, epoch, local_midnight, naive_local
from territoire_hub.sources.demo.sun import day_length_hours

READINGS_FORMAT, TICKETS_FORMAT = "eclairage_releves_armoire", "eclairage_tickets"
READINGS_HEADER = ["id_armoire", "code_insee", "date_releve", "index_kwh"]
TICKETS_HEADER = ["numero_ticket", "code_insee", "id_point_lumineux", "date_signalement", "date_resolution",
                  "type_panne", "canal"]
LED = TYPE_CODES.index("LED")
BALLAST = np.array([1.0 if t == "LED" else 1.12 for t in TYPE_CODES])  # gear losses of discharge lamps
PHOTOCELL_HOURS = 0.3  # lamps light a little after sunset and go off a little before sunrise
METERS_SINCE = date(2020, 1, 1)  # the cabinet meters' common start (the demo's histories begin later)

FAILURES_PER_POINT_MONTH = 0.012
FAILURE_WEIGHT = {"LED": 0.5, "VM": 2.0, "INC": 2.5, "SBP": 2.0, "FLUO": 1.5}
# (label per partner, share, median hours to repair)
FAILURES = [
    ({SYNDICATE: "Lampe HS", COMMUNE: "Lampe grillée"}, 0.46, 40),
    ({SYNDICATE: "Allumage en journée", COMMUNE: "Allumé en journée"}, 0.14, 24),
    ({SYNDICATE: "Candélabre accidenté", COMMUNE: "Mât accidenté"}, 0.10, 10),
    ({SYNDICATE: "Défaut armoire", COMMUNE: "Armoire en défaut"}, 0.12, 8),
    ({SYNDICATE: "Câble sectionné", COMMUNE: "Câble arraché"}, 0.08, 72),
    ({SYNDICATE: "Luminaire vandalisé", COMMUNE: "Vandalisme"}, 0.10, 120),
]
CHANNELS = {
    SYNDICATE: (["Application citoyenne", "Téléphone", "Patrouille de nuit", "Courriel", "Télégestion"],
                [0.35, 0.25, 0.15, 0.10, 0.15]),
    COMMUNE: (["Téléphone mairie", "Élu", "Application citoyenne", "Police municipale", "Courriel"],
              [0.40, 0.10, 0.25, 0.15, 0.10]),
}


def _month_days(ctx: Context, year: int, month: int) -> list[date]:
    return [d for d in ctx.scale.day_list if (d.year, d.month) == (year, month)]


def readings(ctx: Context, inv: Inventory, entry) -> list[GeneratedFile]:
    """Cumulative index per cabinet at the end of each local day, consistent with lamp power and
    the night length (minus the night cut and LED dimming)."""
    sel = inv.of_any(ctx.linked(entry, "inventory"))
    sel = sel[inv.cabinet[sel] != ""]
    if sel.size == 0:
        return []
    rng = ctx.rng("lighting", "readings")
    cabinets, which = np.unique(inv.cabinet[sel], return_inverse=True)
    n_cab = cabinets.size
    full_kw = np.bincount(which, inv.power[sel] * BALLAST[inv.kind[sel]], n_cab) / 1000
    dimmable = (inv.kind[sel] == LED) & np.isin(inv.adaptive[sel], [1, 2])
    dim_kw = np.bincount(which, np.where(dimmable, inv.power[sel], 0.0), n_cab) / 1000
    commune = inv.commune[sel][np.unique(which, return_index=True)[1]]
    lat = np.bincount(which, inv.lat[sel], n_cab) / np.bincount(which, minlength=n_cab)
    cut = inv.night_cut[commune]

    def consumed(days: list[date]) -> np.ndarray:
        """kWh per cabinet (rows) and local day (columns), before the meters' ±3 % noise."""
        noon = np.array([epoch(d) + 12 * 3600 for d in days], dtype=np.int64)
        local_hours = np.array([(_next_midnight(d) - local_midnight(d)) / 3600 for d in days])
        night = local_hours[None, :] - day_length_hours(noon[None, :], lat[:, None]) - PHOTOCELL_HOURS
        lit = night - np.where(cut, 4.0, 0.0)[:, None]
        dim_hours = np.where(cut, 2.0, 6.0)[:, None]
        return full_kw[:, None] * lit - 0.5 * dim_kw[:, None] * dim_hours

    days = ctx.scale.day_list
    kwh = consumed(days) * rng.uniform(0.97, 1.03, (n_cab, len(days)))
    # Each meter runs since METERS_SINCE from its own starting index (drawn apart from the readings,
    # whatever the scale): a history generated a year at a time (bench/run.py --years) continues
    # from one piece to the next instead of jumping to a new random index each 1 January.
    if ctx.scale.start < METERS_SINCE:
        raise ValueError(f"the demo's cabinet meters run from {METERS_SINCE}: start there or later")
    before = [METERS_SINCE + timedelta(days=i) for i in range((ctx.scale.start - METERS_SINCE).days)]
    since = ctx.rng("lighting", "meters").uniform(5_000, 250_000, n_cab)
    since += consumed(before).sum(axis=1) if before else 0.0
    index = since[:, None] + np.cumsum(kwh, axis=1)
    present = rng.random(index.shape) >= 0.01  # a few readings never came back

    files = []
    dates = np.array([f"{d:%d/%m/%Y}" for d in days], dtype=w.STR)
    months = np.array([(d.year, d.month) for d in days])
    for year, month in ctx.scale.months:
        cols = np.flatnonzero((months[:, 0] == year) & (months[:, 1] == month))
        c, t = np.nonzero(present[:, cols])
        t = cols[t]
        cells = [cabinets[c], ctx.region.code[commune[c]], dates[t], w.integer(np.floor(index[c, t]))]
        path = ctx.path(entry, f"releves_armoires_{year}{month:02d}.csv", period=f"{year}{month:02d}")
        w.write_csv(path, w.render(READINGS_HEADER, w.join_rows(cells, ";"), ";"), bom=True)
        last = _month_days(ctx, year, month)[-1]
        files.append(ctx.record(entry.key, path, 1, "", delivery_time(last, minutes=50)))
    return files


def _next_midnight(day: date) -> int:
    return local_midnight(date.fromordinal(day.toordinal() + 1))


def _shift_out_of_dst_hour(wall: np.ndarray, change_days: set[date]) -> np.ndarray:
    """02:00–02:59 on a DST-change day does not exist (March) or is ambiguous (October): the GMAO
    would not write it, so move such times to 03:xx."""
    if not change_days:
        return wall
    day_start = np.array([epoch(d) for d in sorted(change_days)], dtype=np.int64)
    bad = np.isin(wall // DAY * DAY, day_start) & ((wall % DAY) // 3600 == 2)
    return np.where(bad, wall + 3600, wall)


def tickets(ctx: Context, inv: Inventory, entry) -> list[GeneratedFile]:
    inventories = ctx.linked(entry, "inventory")
    points = inv.of_any(inventories)
    if points.size == 0:
        return []
    owner = style(inventories[0])
    key = entry.key
    weight = np.array([FAILURE_WEIGHT.get(t, 1.0) for t in TYPE_CODES])[inv.kind[points]]
    change_days = dst_change_days(ctx.scale.start, ctx.scale.end)
    horizon = epoch(ctx.scale.end) + DAY  # naive local end of the demo period
    encoding, bom = encoding_of(entry)
    labels = [f[0][owner] for f in FAILURES]
    share = np.array([f[1] for f in FAILURES])
    median_h = np.array([f[2] for f in FAILURES], dtype=np.float64)
    channels, channel_p = CHANNELS[owner]
    files = []
    for year, month in ctx.scale.months:
        rng = ctx.rng("tickets", entry.partner.id, year, month)
        days = _month_days(ctx, year, month)
        n = int(rng.poisson(points.size * FAILURES_PER_POINT_MONTH * len(days) / 30.4))
        if n == 0:
            n = 1  # an empty GMAO export is not delivered; keep one ticket so the month exists
        point = rng.choice(points, size=n, p=weight / weight.sum())
        day0 = np.array([epoch(d) for d in days], dtype=np.int64)[rng.integers(0, len(days), n)]
        evening = rng.random(n) < 0.3
        minute = np.where(evening, rng.integers(18 * 60, 24 * 60, n), rng.integers(8 * 60, 20 * 60, n))
        reported = np.sort(_shift_out_of_dst_hour(day0 + minute * 60, change_days))
        kind = rng.choice(len(FAILURES), size=n, p=share / share.sum())
        delay_h = np.clip(rng.lognormal(np.log(median_h[kind]), 0.8), 1.0, 20 * 24.0)
        solved = _shift_out_of_dst_hour(reported + np.rint(delay_h * 60).astype(np.int64) * 60, change_days)
        open_ = solved >= horizon
        code = ctx.region.code[inv.commune[point]]
        ids = inv.point[point].astype(w.STR)
        stem = inv.point[point[0]].split("-")[0]     # the owner's id prefix: HE, BCR…
        prefix = f"{stem}-{year}{month:02d}-" if owner == SYNDICATE else f"{stem}-{year % 100:02d}{month:02d}-"
        cells = [
            np.strings.add(prefix, np.strings.zfill(np.arange(1, n + 1).astype(w.STR), 4)),
            code, w.blank(ids, rng.random(n) < 0.05),
            naive_local(reported), w.blank(naive_local(solved), open_),
            w.pick(labels, kind), w.pick(channels, rng.choice(len(channels), size=n, p=channel_p)),
        ]
        path = ctx.path(entry, f"tickets_pannes_{year}{month:02d}.csv", period=f"{year}{month:02d}")
        w.write_csv(path, w.render(TICKETS_HEADER, w.join_rows(cells, ";"), ";"), encoding=encoding, bom=bom)
        files.append(ctx.record(key, path, 1, "", delivery_time(days[-1], minutes=55)))
    return files


def generate(ctx: Context, inv: Inventory) -> list[GeneratedFile]:
    files = []
    for entry in ctx.of_format(READINGS_FORMAT):
        files += readings(ctx, inv, entry)
    for entry in ctx.of_format(TICKETS_FORMAT):
        files += tickets(ctx, inv, entry)
    return files
