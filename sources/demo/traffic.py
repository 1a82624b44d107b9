"""Road counters of each partner delivering hourly counts (the demo's Montpellier métropole): the
site list (national comptage-mobilités layout) linked to the counts, and one hourly file per local
day in the Paris permanent-counter layout (``;``, UTF-8 with BOM)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from territoire_hub.sources.demo import writer as w
from territoire_hub.sources.demo.calendar_fr import day_kind
from territoire_hub.sources.demo.climate import RegionalWeather
from territoire_hub.sources.demo.deliveries import Context, GeneratedFile, delivery_time
from territoire_hub.sources.demo.paris_time import day_grid, dst_change_days, iso_local, local_wall
from territoire_hub.sources.demo.region import scatter, town_radius_m

FORMAT, SITES_FORMAT = "comptage_routier_horaire", "comptage_mobilites_site"

HEADER = [
    "Identifiant arc", "Libelle", "Date et heure de comptage", "Débit horaire", "Taux d'occupation",
    "Etat trafic", "Identifiant noeud amont", "Libelle noeud amont", "Identifiant noeud aval",
    "Libelle noeud aval", "Etat arc", "Date debut dispo data", "Date fin dispo data", "geo_point_2d", "geo_shape",
]
SITE_HEADER = ["site_id", "parent_site_id", "site_name", "fr_insee_code", "xlong", "ylat", "external_ids",
               "infrastructure_type"]

STREETS = [
    "Av_de_la_Liberte", "Av_de_Palavas", "Route_de_Lodeve", "Route_de_Mende", "Route_de_Ganges",
    "Av_Pierre_Mendes_France", "Bd_Renouvier", "Av_de_Toulouse", "Av_de_Maurin", "Av_du_Pont_Juvenal",
    "Av_de_la_Mer", "Av_Georges_Clemenceau", "Bd_de_Strasbourg", "Av_de_Lodeve", "Av_du_Pere_Soulas",
    "Rue_de_la_Croix_de_Lavit", "Av_de_Nimes", "Av_du_Marche_Gare", "Av_Raymond_Dugrand", "Bd_Gambetta",
    "RD65", "RD66", "RD986", "RD613", "RD21", "RD112", "RD189", "RD5", "RD132", "RD27",
    "A709_bretelle", "Av_de_l_Europe", "Av_des_Pres_d_Arenes", "Bd_Paul_Valery", "Av_Jean_Mermoz",
]
NODES = ["Rd-pt_Richter", "Rd-pt_Garcia_Lorca", "Carrefour_Ecusson", "Rd-pt_Lunaret", "Carrefour_Moulares",
         "Rd-pt_Pres_d_Arenes", "Rd-pt_Odysseum", "Carrefour_Boutonnet", "Echangeur_A709", "Rd-pt_Agropolis",
         "Carrefour_Mas_Drevon", "Rd-pt_Saint_Jean", "Carrefour_Celleneuve", "Rd-pt_Ecole_Normale"]

# share of the daily traffic in each local hour (%), urban arterial shapes
WEEKDAY = np.array([0.8, 0.5, 0.35, 0.3, 0.45, 1.2, 3.6, 6.8, 7.6, 5.6, 5.0, 5.3,
                    5.6, 5.3, 5.4, 5.9, 6.7, 7.6, 7.4, 5.6, 3.9, 2.9, 2.2, 1.5])
SATURDAY = np.array([1.3, 0.9, 0.7, 0.5, 0.5, 0.8, 1.6, 2.8, 4.3, 5.8, 6.8, 7.0,
                     6.8, 6.2, 6.0, 6.3, 6.6, 6.8, 6.6, 5.5, 4.2, 3.3, 2.6, 2.0])
SUNDAY = np.array([1.8, 1.3, 1.0, 0.7, 0.6, 0.7, 1.0, 1.6, 2.6, 4.0, 5.4, 6.2,
                   6.2, 5.8, 5.9, 6.5, 7.0, 7.2, 7.0, 6.2, 5.0, 3.8, 2.7, 1.9])
PROFILES = {"weekday": WEEKDAY / WEEKDAY.sum(), "saturday": SATURDAY / SATURDAY.sum(), "sunday": SUNDAY / SUNDAY.sum()}
DAY_FACTOR = {"weekday": 1.0, "saturday": 0.82, "sunday": 0.64}
MONTH_FACTOR = np.array([0.95, 0.97, 1.0, 1.0, 1.01, 1.02, 0.95, 0.84, 1.02, 1.03, 1.0, 0.96])
STATES = np.array(["Fluide", "Pré-saturé", "Saturé", "Bloqué", "Inconnu"])


@dataclass(frozen=True)
class Counters:
    arc: np.ndarray
    commune: np.ndarray  # index into the region
    lat: np.ndarray
    lon: np.ndarray
    label: np.ndarray
    aadt: np.ndarray  # vehicles per day on a normal weekday
    capacity: np.ndarray  # veh/h at which the loop is saturated
    tilt: np.ndarray  # > 0: morning-heavy (inbound) arc, < 0: evening-heavy
    prefix: np.ndarray  # "arc;libelle"
    suffix: np.ndarray  # ";node…;Ouvert;dates;geo_point_2d;geo_shape"


def place_counters(ctx: Context, pool: np.ndarray) -> Counters | None:
    """Counters in the communes of ``pool`` (the counting partner's area), more where more people live."""
    region, n = ctx.region, ctx.scale.counters
    if n <= 0 or pool.size == 0:
        return None
    rng = ctx.rng("traffic", "counters")
    weight = region.population[pool].astype(np.float64) ** 0.8
    commune = rng.choice(pool, size=n, p=weight / weight.sum())
    lat, lon = scatter(rng, region.lat[commune], region.lon[commune], town_radius_m(region.population[commune]))
    arc = np.sort(rng.choice(np.arange(100, 100 + max(10000, 4 * n)), size=n, replace=False))
    aadt = np.clip(rng.lognormal(np.log(9000), 0.6, n), 800, 60000)
    capacity = aadt * 0.085 * rng.uniform(1.15, 1.7, n)
    tilt = rng.uniform(-0.3, 0.3, n)
    street = rng.integers(0, len(STREETS), n)
    labels, seen = [], {}
    for s in street:  # a few thousand counters at most: per-counter metadata, not data rows
        seen[s] = seen.get(s, 0) + 1
        labels.append(f"{STREETS[s]}_{seen[s]}")
    up, down = rng.integers(0, len(NODES), n), rng.integers(0, len(NODES), n)
    up_id, down_id = rng.integers(1000, 9999, n), rng.integers(1000, 9999, n)
    since = np.datetime64("2008-01-01") + rng.integers(0, 13 * 365, n).astype("timedelta64[D]")
    bearing = rng.uniform(0, np.pi, n)
    prefix, suffix = [], []
    lat_f, lon_f = lat.tolist(), lon.tolist()  # Python floats: repr as the portal writes them
    for i in range(n):
        dy, dx = float(0.0007 * np.cos(bearing[i])), float(0.0009 * np.sin(bearing[i]))
        coords = ", ".join(f"[{lon_f[i] + k * dx!r}, {lat_f[i] + k * dy!r}]" for k in (-1.0, -0.3, 0.4, 1.0))
        shape = '"{""coordinates"": [' + coords + '], ""type"": ""LineString""}"'
        prefix.append(f"{arc[i]};{labels[i]}")
        suffix.append(f";{up_id[i]};{NODES[up[i]]};{down_id[i]};{NODES[down[i]]};Ouvert;{since[i]};;"
                      f'"{lat_f[i]!r}, {lon_f[i]!r}";{shape}')
    return Counters(arc, commune, lat, lon, np.array(labels), aadt, capacity, tilt,
                    np.array(prefix, dtype=w.STR), np.array(suffix, dtype=w.STR))


@dataclass
class DayCounts:
    utc: np.ndarray  # (hours,) start of each local hour
    flow: np.ndarray  # (counters, hours) vehicles
    occupancy: np.ndarray  # (counters, hours) %
    unknown: np.ndarray  # both measures missing ("Inconnu")
    flow_missing: np.ndarray  # flow missing, occupancy present


def simulate_day(ctx: Context, counters: Counters, day: date, rainy: bool) -> DayCounts:
    rng = ctx.rng("traffic", day.isoformat())
    utc = day_grid(day, 3600)
    hour = ((local_wall(utc) % 86400) // 3600).astype(np.int64)
    kind = day_kind(day)
    n_c, n_h = len(counters.arc), len(utc)
    profile = PROFILES[kind][hour]
    peaks = np.where(hour < 12, 1.0, -1.0) * np.exp(-0.5 * ((hour - np.where(hour < 12, 8, 18)) / 1.5) ** 2)
    shape = profile[None, :] * (1 + counters.tilt[:, None] * peaks[None, :] * (kind == "weekday"))
    volume = counters.aadt * DAY_FACTOR[kind] * MONTH_FACTOR[day.month - 1] * (0.95 if rainy else 1.0)
    volume = volume * rng.lognormal(0, 0.05, n_c)
    flow = volume[:, None] * shape * rng.lognormal(0, 0.08, (n_c, n_h))
    ratio = flow / counters.capacity[:, None]
    occupancy = 0.6 + 30 * ratio**1.8 + rng.normal(0, 0.5, (n_c, n_h))
    rush = np.isin(hour, [7, 8, 17, 18]) & (kind == "weekday")
    jam = (rng.random((n_c, n_h)) < 0.006) & rush[None, :]
    occupancy = np.where(jam, rng.uniform(32, 80, (n_c, n_h)), occupancy)
    flow = np.where(jam, flow * rng.uniform(0.5, 0.8, (n_c, n_h)), flow)
    unknown = rng.random((n_c, n_h)) < 0.008
    down = rng.random(n_c) < 0.01  # loop out of order for a few hours
    start = rng.integers(0, max(n_h - 3, 1), n_c)
    length = rng.integers(3, 9, n_c)
    span = np.arange(n_h)[None, :]
    unknown |= down[:, None] & (span >= start[:, None]) & (span < (start + length)[:, None])
    flow_missing = (rng.random((n_c, n_h)) < 0.003) & ~unknown
    return DayCounts(utc, np.rint(flow), np.clip(np.round(occupancy, 1), 0.2, 100.0), unknown, flow_missing)


def render_day(counters: Counters, counts: DayCounts, duplicates: np.ndarray | None = None) -> str:
    """Rows time-major (all arcs of an hour, then the next hour), as the portal accumulates them."""
    n_c, n_h = counts.flow.shape
    c = np.tile(np.arange(n_c), n_h)
    h = np.repeat(np.arange(n_h), n_c)
    flow, occ = counts.flow.T.ravel(), counts.occupancy.T.ravel()
    unknown, flow_missing = counts.unknown.T.ravel(), counts.flow_missing.T.ravel()
    state = np.searchsorted([15.0, 30.0, 50.0], occ, side="right")
    state = np.where(unknown, 4, state)
    row = w.join_rows([
        counters.prefix[c],
        iso_local(counts.utc + 3600)[h],      # the portal stamps the END of the counted hour
        w.fixed(flow, 1, missing=unknown | flow_missing),
        w.fixed(occ, 1, missing=unknown),
        w.pick(STATES, state),
    ], ";")
    row = np.strings.add(row, counters.suffix[c])
    if duplicates is not None and duplicates.size:
        order = np.insert(np.arange(row.size), duplicates + 1, duplicates)
        row = row[order]
    return w.render(HEADER, row, ";")


def _site_file(ctx: Context, sites, counters: Counters) -> GeneratedFile:
    cells = [
        counters.arc.astype(str), "", w.quoted(counters.label), ctx.region.code[counters.commune],
        w.fixed(counters.lon, 7), w.fixed(counters.lat, 7), "", "",
    ]
    rows = w.join_rows(cells, ",")
    path = ctx.path(sites, f"compteurs_routiers_{ctx.scale.start:%Y%m%d}.csv")
    w.write_csv(path, w.render(SITE_HEADER, rows, ","))
    delivered = delivery_time(ctx.scale.start - timedelta(days=1))
    return ctx.record(sites.key, path, 1, "", delivered)


def special_days(ctx: Context) -> tuple[date | None, date | None]:
    """(day delivered again with corrections, day delivered late): never a DST-change day."""
    days = ctx.scale.day_list
    if len(days) < 3:
        return None, None
    dst = dst_change_days(days[0], days[-1])
    free = [d for d in days if d not in dst]
    corrected = free[len(free) // 3]
    late = free[(2 * len(free)) // 3]
    return corrected, (late if late != corrected else None)


def generate(ctx: Context, climate: RegionalWeather) -> list[GeneratedFile]:
    files = []
    for entry in ctx.of_format(FORMAT):
        files += _generate(ctx, climate, entry)
    return files


def _generate(ctx: Context, climate: RegionalWeather, entry) -> list[GeneratedFile]:
    area, how = ctx.region.area_of(entry.partner)
    if how == "territory":   # a partner with no area of its own counts in the most populous EPCI
        epci = ctx.region.epci
        biggest = max(set(epci.astype(str)), key=lambda e: ctx.region.population[epci.astype(str) == e].sum())
        area = np.flatnonzero(epci.astype(str) == biggest)
    counters = place_counters(ctx, area)
    if counters is None:
        return []
    files = [_site_file(ctx, sites, counters) for sites in ctx.linked(entry, "sites")]
    corrected, late = special_days(ctx)
    for day in ctx.scale.day_list:
        counts = simulate_day(ctx, counters, day, climate.rainy(day))
        rng = ctx.rng("traffic", "quirks", day.isoformat())
        dups = None
        if day.toordinal() % 4 == 1:  # the portal export sometimes repeats a few rows
            dups = np.sort(rng.choice(counts.flow.size, size=min(3, counts.flow.size), replace=False))
        path = ctx.path(entry, f"comptages_routiers_{day:%Y%m%d}.csv", period=f"{day:%Y%m%d}")
        w.write_csv(path, render_day(counters, counts, dups), bom=True)
        wave, note = (2, "late") if day == late else (1, "")
        files.append(ctx.record(entry.key, path, wave, note, delivery_time(day, minutes=30)))
        if day == corrected:
            files.append(_corrected(ctx, entry, counters, counts, day, rng))
    return files


def _corrected(ctx: Context, entry, counters: Counters, counts: DayCounts, day: date, rng) -> GeneratedFile:
    """The same day re-sent: two arcs' gaps filled from the recovered log and their flows revised."""
    n_c = counts.flow.shape[0]
    fixed = rng.choice(n_c, size=min(2, n_c), replace=False)
    flow = counts.flow.copy()
    flow[fixed] = np.rint(flow[fixed] * 1.04)
    unknown, flow_missing = counts.unknown.copy(), counts.flow_missing.copy()
    unknown[fixed] = False
    flow_missing[fixed] = False
    revised = DayCounts(counts.utc, flow, counts.occupancy, unknown, flow_missing)
    path = ctx.path(entry, f"comptages_routiers_{day:%Y%m%d}_rectificatif.csv", period=f"{day:%Y%m%d}")
    w.write_csv(path, render_day(counters, revised), bom=True)
    return ctx.record(entry.key, path, 2, "corrected")
