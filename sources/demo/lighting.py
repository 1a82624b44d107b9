"""Public-lighting inventory (light points grouped into cabinets) and one delivery per inventory
dataset of the registry. A commune partner (its SIREN is a commune's) owns its commune's points and
exports them from its GIS with French labels (the demo's Beaucaire: Windows-1252); another owner
(a syndicate: its départements; an EPCI: its communes) exports EclExt codes (the demo's Hérault
Énergies: UTF-8 BOM); both ``;`` with a decimal comma."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from territoire_hub.sources.demo import writer as w
from territoire_hub.sources.demo.deliveries import Context, GeneratedFile, delivery_time
from territoire_hub.sources.demo.region import scatter, to_lambert93, town_radius_m

FORMAT = "eclairage_points_lumineux"
SYNDICATE, COMMUNE = "syndicate", "commune"   # the two export styles
COMMUNE_SHARE = 0.15       # of all points, for each commune partner's own inventory
POINTS_PER_CABINET = 35
_SPECIFIC = {"commune": 0, "epci": 1, "departements": 2, "territory": 3}

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


def style(entry) -> str:
    """How an owner writes its inventory: a commune's GIS (French labels) or EclExt codes."""
    return COMMUNE if entry.partner.kind.value == "commune" else SYNDICATE


def id_prefix(entry, commune_name: str) -> str:
    """Point-id prefix: the commune's consonants (Beaucaire → BCR), or the partner's initials
    (herault-energies → HE)."""
    if style(entry) == COMMUNE:
        consonants = [c for c in commune_name.upper() if c.isalpha() and c not in "AEIOUYÉÈÊÀÂÎÔÛ"]
        return "".join(consonants[:3])
    return "".join(word[0] for word in entry.partner.id.split("-")).upper()


def encoding_of(entry) -> tuple[str, bool]:
    """(encoding, BOM) of the dataset's files as the registry declares them."""
    declared = entry.encodings[0].lower()
    if declared in ("utf-8-sig", "utf-8", "utf8"):
        return "utf-8", declared == "utf-8-sig" or entry.dataset.encoding is None
    return declared, False


@dataclass(frozen=True)
class Inventory:
    owner: np.ndarray   # the inventory dataset key
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

    def of_any(self, owners) -> np.ndarray:
        return np.flatnonzero(np.isin(self.owner, [o.key for o in owners]))


def _allocate(total: int, weight: np.ndarray) -> np.ndarray:
    """Split ``total`` proportionally to ``weight`` (largest remainders), deterministic."""
    if total <= 0 or weight.size == 0:
        return np.zeros(weight.size, dtype=np.int64)
    share = total * weight / weight.sum()
    counts = np.floor(share).astype(np.int64)
    rest = total - counts.sum()
    counts[np.argsort(-(share - counts), kind="stable")[:rest]] += 1
    return counts


def owners_of_communes(ctx: Context) -> tuple[np.ndarray, dict]:
    """For each commune of the region, the inventory dataset that owns its points ("" for none):
    the most specific owner covering it (its commune's own partner, then an EPCI's, then a
    syndicate's départements, then a partner without area)."""
    region = ctx.region
    owner = np.full(len(region), "", dtype=object)
    rank = np.full(len(region), 99)
    entries = {e.key: e for e in ctx.of_format(FORMAT)}
    for entry in entries.values():
        area, how = region.area_of(entry.partner)
        better = area[_SPECIFIC[how] < rank[area]]
        owner[better], rank[better] = entry.key, _SPECIFIC[how]
    return owner, entries


def build_inventory(ctx: Context) -> Inventory:
    region, rng = ctx.region, ctx.rng("lighting", "inventory")
    total = ctx.scale.lamp_points
    owner_of, entries = owners_of_communes(ctx)
    own_commune = np.array([bool(o) and style(entries[o]) == COMMUNE for o in owner_of])
    counts = np.zeros(len(region), dtype=np.int64)
    n_own = int(round(total * COMMUNE_SHARE))
    counts[own_commune] = n_own
    shared = np.flatnonzero((owner_of != "") & ~own_commune)
    counts[shared] = _allocate(total - n_own * int(own_commune.sum()), region.population[shared].astype(np.float64) ** 0.75)
    commune = np.repeat(np.arange(len(region)), counts)
    n = commune.size
    owner = owner_of[commune].astype(str)
    lat, lon = scatter(rng, region.lat[commune], region.lon[commune], town_radius_m(region.population[commune]) * 0.6)

    ids, cabinets = np.empty(n, dtype=object), np.empty(n, dtype=object)
    for c in np.flatnonzero(counts):  # per commune: number the points, group them by nearest cabinet
        members = np.flatnonzero(commune == c)
        code, entry = region.code[c], entries[owner_of[c]]
        prefix = id_prefix(entry, region.name[c])
        n_cab = max(1, int(np.ceil(members.size / POINTS_PER_CABINET)))
        clat, clon = scatter(rng, np.full(n_cab, region.lat[c]), np.full(n_cab, region.lon[c]),
                             town_radius_m(region.population[c]) * 0.5)
        nearest = np.argmin(np.hypot(lat[members, None] - clat[None, :], lon[members, None] - clon[None, :]), axis=1)
        if style(entry) == COMMUNE:
            ids[members] = [f"{prefix}-{k:05d}" for k in range(1, members.size + 1)]
            cabinets[members] = [f"{prefix}-ARM-{k + 1:03d}" for k in nearest]
        else:
            ids[members] = [f"{prefix}-{code}-{k:05d}" for k in range(1, members.size + 1)]
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
    local = np.array([style(entries[o]) == COMMUNE for o in owner], dtype=bool) & (rng.random(n) < 0.35)
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


def _text(ctx: Context, inv: Inventory, entry) -> str:
    sel, labels = inv.of(entry.key), style(entry)
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
        w.pick(SUPPORT_LABELS[labels], inv.support[sel]), w.pick(ADAPTIVE_LABELS[labels], adaptive),
        w.quote_needed(inv.maker[sel], ";"), w.quote_needed(inv.model[sel], ";"),
        w.blank(np.datetime_as_string(installed).astype(w.STR), np.isnat(installed)),
    ]
    return w.render(HEADER, w.join_rows(cells, ";"), ";")


def generate(ctx: Context, inv: Inventory) -> list[GeneratedFile]:
    """One inventory snapshot per partner, dated the first demo day."""
    files = []
    stamp = f"{ctx.scale.start:%Y%m%d}"
    delivered = delivery_time(ctx.scale.start - timedelta(days=1), minutes=5)
    for entry in ctx.of_format(FORMAT):
        if inv.of(entry.key).size == 0:
            continue
        encoding, bom = encoding_of(entry)
        path = ctx.path(entry, f"points_lumineux_{stamp}.csv")
        w.write_csv(path, _text(ctx, inv, entry), encoding=encoding, bom=bom)
        files.append(ctx.record(entry.key, path, 1, "", delivered))
    return files
