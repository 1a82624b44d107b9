"""Public-lighting inventory (light points grouped into cabinets) and its two deliveries:
the Hérault syndicate's export (EclExt codes, UTF-8 BOM) and Beaucaire's GIS export
(Windows-1252, French labels); both ``;`` with a decimal comma."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from territoire_hub.sources.demo import writer as w
from territoire_hub.sources.demo.deliveries import Context, GeneratedFile, delivery_time
from territoire_hub.sources.demo.region import BEAUCAIRE, scatter, to_lambert93, town_radius_m

SYNDICATE, COMMUNE = "herault-energies", "ville-beaucaire"
KEYS = {SYNDICATE: "herault_energies__points_lumineux", COMMUNE: "ville_beaucaire__points_lumineux"}
BEAUCAIRE_SHARE = 0.15
POINTS_PER_CABINET = 35

HEADER = ["idPointLumineux", "insee", "idArmoire", "X", "Y", "typeSource", "puissance", "fluxSource",
          "TemperatureCouleur", "hauteurFeu", "support", "eclairageAdaptatif", "fabricant", "model",
          "datePremieInstallation"]

# technology: share of points, power classes (W), efficacy (lm/W), colour temperatures (K), install years
TYPES = {
    "LED": (0.40, [18, 24, 27.5, 36, 40, 45.5, 55, 62.5, 75, 90], 125, [2700, 3000, 3000, 3000, 4000], (2014, 2023)),
    "SHP": (0.34, [70, 70, 100, 100, 150, 250], 100, [2000], (1990, 2016)),
    "IM": (0.12, [35, 70, 100, 150], 85, [3000, 4200], (2000, 2018)),
    "VM": (0.04, [80, 125, 125, 250], 50, [4000], (1975, 1998)),
    "FLUO": (0.04, [36, 55, 72], 70, [4000], (1985, 2010)),
    "SBP": (0.02, [35, 55, 90], 150, [1800], (1980, 2000)),
    "HAL": (0.02, [100, 150], 18, [3000], (1990, 2010)),
    "IND": (0.01, [80, 120], 75, [4000], (2005, 2015)),
    "INC": (0.01, [60, 75, 100], 12, [2700], (1975, 1995)),
}
TYPE_CODES = list(TYPES)
SUPPORT_P = [0.78, 0.15, 0.03, 0.04]  # pole, wall, ground-recessed, catenary
SUPPORT_LABELS = {SYNDICATE: ["MAT", "MUR", "SOL", "CAT"],
                  COMMUNE: ["Mât", "Façade", "Encastré au sol", "Caténaire"]}
ADAPTIVE_P = [0.62, 0.10, 0.08, 0.20]  # all night, presence detection, on demand, none / night cut
ADAPTIVE_LABELS = {SYNDICATE: ["EN", "CO", "AV", ""],
                   COMMUNE: ["Toute la nuit", "Détection de présence", "À la demande", "Extinction 1h–5h"]}
MAKERS = {
    "Schréder": ["Teceo", "Alura", "Piano", "Izylum"], "Thorn": ["Isaro", "R2L2", "Civic"],
    "Philips": ["Iridium", "Luma", "CitySoul"], "Ragni": ["Kao", "Stela"], "Eclatec": ["Vega", "Kalos", "Rubis"],
    "Comatelec": ["Citea", "Ampera"], "Valentin": ["Vtl", "Clip"],
}
LOCAL_MAKERS = {"Société Électrique du Gard": ["Arène", "Camargue"], "Éclairage Méridional": ["Cévennes"]}


@dataclass(frozen=True)
class Inventory:
    owner: np.ndarray
    point: np.ndarray
    commune: np.ndarray  # index into the region
    cabinet: np.ndarray  # "" when the point is not attached to a known cabinet
    lat: np.ndarray
    lon: np.ndarray
    kind: np.ndarray  # index into TYPE_CODES
    power: np.ndarray  # W
    flux: np.ndarray
    colour: np.ndarray
    height: np.ndarray
    support: np.ndarray  # index into SUPPORT_LABELS[owner]
    adaptive: np.ndarray  # index into ADAPTIVE_LABELS[owner]
    maker: np.ndarray
    model: np.ndarray
    installed: np.ndarray  # datetime64[D], NaT when unknown
    night_cut: np.ndarray  # per commune of the region: lamps off 01:00–05:00 local

    def of(self, owner: str) -> np.ndarray:
        return np.flatnonzero(self.owner == owner)


def _allocate(total: int, weight: np.ndarray) -> np.ndarray:
    """Split ``total`` proportionally to ``weight`` (largest remainders), deterministic."""
    if total <= 0 or weight.size == 0:
        return np.zeros(weight.size, dtype=np.int64)
    share = total * weight / weight.sum()
    counts = np.floor(share).astype(np.int64)
    rest = total - counts.sum()
    counts[np.argsort(-(share - counts), kind="stable")[:rest]] += 1
    return counts


def build_inventory(ctx: Context) -> Inventory:
    region, rng = ctx.region, ctx.rng("lighting", "inventory")
    total = ctx.scale.lamp_points
    beaucaire = region.index_of(BEAUCAIRE)
    n_bcr = int(round(total * BEAUCAIRE_SHARE)) if beaucaire is not None else 0
    herault = region.where(region.dep == "34")
    counts = np.zeros(len(region), dtype=np.int64)
    counts[herault] = _allocate(total - n_bcr, region.population[herault].astype(np.float64) ** 0.75)
    if beaucaire is not None:
        counts[beaucaire] = n_bcr
    commune = np.repeat(np.arange(len(region)), counts)
    n = commune.size
    owner = np.where(region.code[commune] == BEAUCAIRE, COMMUNE, SYNDICATE)
    lat, lon = scatter(rng, region.lat[commune], region.lon[commune], town_radius_m(region.population[commune]) * 0.6)

    ids, cabinets = np.empty(n, dtype=object), np.empty(n, dtype=object)
    for c in np.flatnonzero(counts):  # per commune: number the points, group them by nearest cabinet
        members = np.flatnonzero(commune == c)
        code = region.code[c]
        n_cab = max(1, int(np.ceil(members.size / POINTS_PER_CABINET)))
        clat, clon = scatter(rng, np.full(n_cab, region.lat[c]), np.full(n_cab, region.lon[c]),
                             town_radius_m(region.population[c]) * 0.5)
        nearest = np.argmin(np.hypot(lat[members, None] - clat[None, :], lon[members, None] - clon[None, :]), axis=1)
        if code == BEAUCAIRE:
            ids[members] = [f"BCR-{k:05d}" for k in range(1, members.size + 1)]
            cabinets[members] = [f"BCR-ARM-{k + 1:03d}" for k in nearest]
        else:
            ids[members] = [f"HE-{code}-{k:05d}" for k in range(1, members.size + 1)]
            cabinets[members] = [f"ARM-{code}-{k + 1:03d}" for k in nearest]
    cabinets[rng.random(n) < 0.01] = ""

    kind = rng.choice(len(TYPE_CODES), size=n, p=[t[0] for t in TYPES.values()])
    power, colour, efficacy = np.zeros(n), np.zeros(n, dtype=np.int64), np.zeros(n)
    year = np.zeros(n, dtype=np.int64)
    for k, (_, classes, lm_w, temps, (y0, y1)) in enumerate(TYPES.values()):
        sel = np.flatnonzero(kind == k)
        power[sel] = rng.choice(classes, size=sel.size)
        colour[sel] = rng.choice(temps, size=sel.size)
        efficacy[sel] = lm_w
        year[sel] = rng.integers(y0, min(y1, ctx.scale.start.year - 1) + 1, sel.size)
    colour[rng.random(n) < 0.05] = 0  # unknown colour temperature
    flux = np.rint(power * efficacy * rng.uniform(0.9, 1.1, n))
    support = rng.choice(4, size=n, p=SUPPORT_P)
    height = np.select([support == 1, support == 2, support == 3],
                       [rng.uniform(3.5, 6, n), rng.uniform(0.3, 1.0, n), rng.uniform(6, 8, n)],
                       rng.uniform(4, 12, n))
    adaptive = rng.choice(4, size=n, p=ADAPTIVE_P)
    makers = list(MAKERS) + ["INCONNU"]
    maker_p = np.array([1.0] * len(MAKERS) + [1.4]) / (len(MAKERS) + 1.4)
    maker = np.asarray(makers, dtype=object)[rng.choice(len(makers), size=n, p=maker_p)]
    local = (owner == COMMUNE) & (rng.random(n) < 0.35)
    maker[local] = np.asarray(list(LOCAL_MAKERS), dtype=object)[rng.integers(0, len(LOCAL_MAKERS), local.sum())]
    catalogue = {**MAKERS, **LOCAL_MAKERS, "INCONNU": ["INCONNU"]}
    pick = rng.random(n)
    model = np.array([catalogue[m][int(p * len(catalogue[m]))] for m, p in zip(maker, pick)], dtype=object)
    model[(maker != "INCONNU") & (rng.random(n) < 0.05)] = "INCONNU"
    installed = (np.array([f"{y}-01-01" for y in year], dtype="datetime64[D]")
                 + rng.integers(0, 365, n).astype("timedelta64[D]"))
    installed[rng.random(n) < 0.03] = np.datetime64("NaT")
    night_cut = (rng.random(len(region)) < 0.35) & (region.population < 20000)
    return Inventory(owner, ids.astype(str), commune, cabinets.astype(str), lat, lon, kind, power, flux, colour,
                     np.round(height, 1), support, adaptive, maker.astype(str), model.astype(str), installed,
                     night_cut)


def _text(ctx: Context, inv: Inventory, owner: str) -> str:
    sel = inv.of(owner)
    x, y = to_lambert93(inv.lat[sel], inv.lon[sel])
    power = inv.power[sel]
    whole = power == np.round(power)
    adaptive = inv.adaptive[sel]
    installed = inv.installed[sel]
    cells = [
        inv.point[sel], ctx.region.code[inv.commune[sel]], inv.cabinet[sel],
        w.fixed(x, 2, comma=True), w.fixed(y, 2, comma=True),
        w.pick(TYPE_CODES, inv.kind[sel]),
        np.where(whole, w.integer(power), w.fixed(power, 1, comma=True)).astype(w.STR),
        w.integer(inv.flux[sel]), w.integer(inv.colour[sel]), w.fixed(inv.height[sel], 1, comma=True),
        w.pick(SUPPORT_LABELS[owner], inv.support[sel]), w.pick(ADAPTIVE_LABELS[owner], adaptive),
        w.quote_needed(inv.maker[sel], ";"), w.quote_needed(inv.model[sel], ";"),
        w.blank(np.datetime_as_string(installed).astype(w.STR), np.isnat(installed)),
    ]
    return w.render(HEADER, w.join_rows(cells, ";"), ";")


def generate(ctx: Context, inv: Inventory) -> list[GeneratedFile]:
    """One inventory snapshot per partner, dated the first demo day."""
    files = []
    stamp = f"{ctx.scale.start:%Y%m%d}"
    delivered = delivery_time(ctx.scale.start - timedelta(days=1), minutes=5)
    for owner, encoding, bom in ((SYNDICATE, "utf-8", True), (COMMUNE, "cp1252", False)):
        if inv.of(owner).size == 0:
            continue
        path = ctx.inbox_path(KEYS[owner], f"points_lumineux_{stamp}.csv")
        w.write_csv(path, _text(ctx, inv, owner), encoding=encoding, bom=bom)
        files.append(ctx.record(KEYS[owner], path, 1, "", delivered))
    return files
