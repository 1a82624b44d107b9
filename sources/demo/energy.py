"""Enedis annual electricity consumption per commune, Agence ORE layout, official-export form
(``;``, UTF-8 with BOM), with statistical secrecy applied like the real files."""

from __future__ import annotations

import numpy as np

from territoire_hub.sources.demo import writer as w
from territoire_hub.sources.demo.deliveries import Context, GeneratedFile, delivery_time

FORMAT = "ore_conso_commune"

HEADER = (
    "operateur,filiere,annee,code_commune,nom_commune,code_epci,nom_epci,type_epci,code_departement,"
    "nom_departement,code_region,nom_region,code_categorie_consommation,code_grand_secteur,code_secteur_naf2,"
    "nb_sites,conso_totale_mwh,conso_moyenne_mwh,nombre_d_habitants,taux_de_logements_collectifs,"
    "taux_de_residences_principales,superficie_des_logements_30_m2,superficie_des_logements_30_a_40_m2,"
    "superficie_des_logements_40_a_60_m2,superficie_des_logements_60_a_80_m2,superficie_des_logements_80_a_100_m2,"
    "superficie_des_logements_100_m2,residences_principales_avant_1919,residences_principales_de_1919_a_1945,"
    "residences_principales_de_1946_a_1970,residences_principales_de_1971_a_1990,"
    "residences_principales_de_1991_a_2005,residences_principales_de_2006_a_2015,"
    "residences_principales_apres_2016,taux_de_chauffage_electrique"
).split(",")
HOUSING = HEADER[18:]

# ORE writes the métropole type as "ME"; the COG (decoupage-administratif) says "METRO".
EPCI_TYPES = {"METRO": "ME", "MET69": "ME"}

# PRO (≤ 36 kVA) sectors: sites per inhabitant (agriculture: per commune), mean MWh per site
PRO = [("TERTIAIRE", 0.055, 14.0), ("INDUSTRIE", 0.004, 28.0), ("AGRICULTURE", 0.0, 16.0), ("INCONNU", 0.003, 6.0)]
# ENT (> 36 kVA): NAF divisions with sites per 1,000 inhabitants and mean MWh per site
ENT = {
    "TERTIAIRE": [("45", .04, 120), ("46", .08, 180), ("47", .25, 260), ("49", .03, 400), ("52", .03, 900),
                  ("55", .05, 350), ("56", .09, 140), ("62", .03, 300), ("64", .03, 160), ("68", .12, 130),
                  ("70", .03, 150), ("84", .12, 420), ("85", .14, 160), ("86", .05, 900), ("87", .04, 380),
                  ("93", .04, 300), ("96", .03, 110)],
    "INDUSTRIE": [("10", .03, 900), ("11", .01, 700), ("20", .008, 2500), ("22", .008, 1400), ("23", .01, 1100),
                  ("25", .02, 500), ("28", .01, 600), ("33", .02, 200), ("35", .01, 800), ("36", .006, 1500),
                  ("38", .01, 1200), ("41", .03, 90), ("43", .05, 70)],
    "AGRICULTURE": [("01", .05, 150)],
    "INCONNU": [("", .02, 60)],
}
TOURIST = {"34344", "34192"}  # La Grande-Motte, Palavas-les-Flots: mostly second homes
SECRECY_MIN = {"RESIDENTIEL": 10}  # Code de l'énergie D111-53; other sectors: 3
CORRECTED_COMMUNES = 3


def _rows(ctx: Context, communes: np.ndarray) -> dict[str, list]:
    """One record per commune × category × sector (× NAF division on ENT rows)."""
    region, rng = ctx.region, ctx.rng("energy", "communes")
    out: dict[str, list] = {k: [] for k in ("commune", "cat", "sector", "naf", "sites", "mwh", "housing")}

    def add(i, cat, sector, naf, sites, mwh, housing=None):
        for k, v in zip(out, (i, cat, sector, naf, sites, mwh, housing)):
            out[k].append(v)

    noisy = int(np.argmin(np.abs(region.population - 10000)))
    for i in communes:
        pop = float(region.population[i])
        collective = float(np.clip(0.05 + 0.17 * np.log10(max(pop, 100) / 500) + rng.normal(0, 0.04), 0.02, 0.9))
        principal = 0.35 if region.code[i] in TOURIST else float(np.clip(rng.normal(0.88, 0.03), 0.7, 0.97))
        electric = float(rng.uniform(0.30, 0.55))
        homes = pop / 2.15
        surfaces = rng.dirichlet(np.array([1, 2, 5, 6, 4, 6]) * (1 + collective * np.array([6, 4, 2, 1, 0.4, 0.2])))
        periods = rng.dirichlet(np.array([1.0, 0.6, 2.0, 4.0, 4.0, 3.0, 1.2]) * 4)
        housing = [pop + (1e-11 if i == noisy else 0.0), collective, principal,
                   *(surfaces * homes), *(periods * homes), electric]
        res_sites = int(round(homes / principal * rng.uniform(0.95, 1.03)))
        per_site = (3.2 + 4.0 * electric) * rng.uniform(0.93, 1.07)  # electric heating drives it
        add(i, "RES", "RESIDENTIEL", "", res_sites, res_sites * per_site, housing)
        for sector, per_head, mwh in PRO:
            sites = per_head * pop if per_head else rng.uniform(3, 40) / (1 + pop / 20000)
            sites = int(rng.poisson(max(sites, 0.5)))
            if sites:
                add(i, "PRO", sector, "", sites, sites * mwh * rng.lognormal(0, 0.15))
        for sector, divisions in ENT.items():
            for naf, per_1000, mwh in divisions:
                sites = int(rng.poisson(per_1000 * pop / 1000))
                if sites:
                    add(i, "ENT", sector, naf, sites, sites * mwh * rng.lognormal(0, 0.35))
    return out


def _text(ctx: Context, rows: dict[str, list]) -> str:
    region = ctx.region
    c = np.asarray(rows["commune"], dtype=np.int64)
    sector = np.asarray(rows["sector"])
    sites = np.asarray(rows["sites"], dtype=np.float64)
    mwh = np.round(np.asarray(rows["mwh"], dtype=np.float64), 3)
    threshold = np.array([SECRECY_MIN.get(s, 3) for s in sector])
    secret = sites < threshold
    is_res = np.asarray(rows["cat"]) == "RES"
    mean = np.where(is_res, np.round(mwh / sites, 3), mwh / sites)
    housing = np.array([h if h is not None else [np.nan] * len(HOUSING) for h in rows["housing"]], dtype=np.float64)
    epci_type = np.array([EPCI_TYPES.get(t, t) for t in region.epci_type])
    cells = [
        "Enedis", "Electricité", str(ctx.scale.start.year),
        region.code[c], w.quote_needed(region.name[c], ";"), region.epci[c], w.quote_needed(region.epci_name[c], ";"),
        epci_type[c], region.dep[c], region.dep_name[c], region.reg[c], region.reg_name[c],
        np.asarray(rows["cat"]), sector, np.asarray(rows["naf"]),
        w.shortest(sites, missing=secret), w.shortest(mwh, missing=secret),
        np.where(secret, "0.0", w.shortest(mean)).astype(w.STR),  # the real files write 0.0 under secrecy
        *(w.shortest(housing[:, k]) for k in range(len(HOUSING))),
    ]
    return w.render(HEADER, w.join_rows(cells, ";"), ";")


def generate(ctx: Context) -> list[GeneratedFile]:
    files = []
    for n, entry in enumerate(ctx.of_format(FORMAT)):
        files += _generate(ctx, entry, corrected=n == 0)
    return files


def _generate(ctx: Context, entry, corrected: bool) -> list[GeneratedFile]:
    # the consumption of the simulated year, so that it meets that year's weather (climate
    # correction); in reality ORE publishes year N during year N+1. Each operator (partner)
    # delivers the communes of its area (a syndicate's départements, an EPCI's communes, or all).
    year = ctx.scale.start.year
    rows = _rows(ctx, ctx.region.area_of(entry.partner)[0])
    bom = entry.encodings[0] == "utf-8-sig" or entry.encodings[0] == "utf-8"
    path = ctx.path(entry, f"conso_elec_commune_{year}.csv", period=str(year))
    w.write_csv(path, _text(ctx, rows), bom=bom)
    files = [ctx.record(entry.key, path, 1, "", delivery_time(ctx.scale.end, minutes=20))]
    if not corrected:
        return files

    # a rectified delivery: a few communes' consumption revised (metering corrections)
    rng = ctx.rng("energy", "rectificatif")
    big = np.flatnonzero(ctx.region.population >= 2000)
    chosen = set(rng.choice(big, size=min(CORRECTED_COMMUNES, big.size), replace=False).tolist()) if big.size else set()
    factors = rng.uniform(0.9, 1.1, len(rows["mwh"]))
    rows["mwh"] = [m * f if (ci in chosen and cat in ("RES", "PRO")) else m
                   for m, f, ci, cat in zip(rows["mwh"], factors, rows["commune"], rows["cat"])]
    path = ctx.path(entry, f"conso_elec_commune_{year}_rectificatif.csv", period=str(year))
    w.write_csv(path, _text(ctx, rows), bom=bom)
    files.append(ctx.record(entry.key, path, 2, "corrected"))
    return files
