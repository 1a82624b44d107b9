"""Charging points of each operator of the registry (the demo: Recharge Sud): the national IRVE
static file (schema v2.3.0) and one gzip status file per local day (IRVE dynamic schema)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from territoire_hub.sources.demo import writer as w
from territoire_hub.sources.demo.deliveries import Context, GeneratedFile, delivery_time
from territoire_hub.sources.demo.paris_time import iso_local, iso_utc, local_midnight
from territoire_hub.sources.demo.region import scatter, town_radius_m

STATIC_FORMAT = "irve_statique"

STATIC_HEADER = (
    "nom_amenageur,siren_amenageur,contact_amenageur,nom_operateur,contact_operateur,telephone_operateur,"
    "nom_enseigne,id_station_itinerance,id_station_local,nom_station,implantation_station,adresse_station,"
    "code_insee_commune,coordonneesXY,nbre_pdc,id_pdc_itinerance,id_pdc_local,puissance_nominale,prise_type_ef,"
    "prise_type_2,prise_type_combo_ccs,prise_type_chademo,prise_type_autre,gratuit,paiement_acte,paiement_cb,"
    "paiement_autre,tarification,condition_acces,reservation,horaires,accessibilite_pmr,restriction_gabarit,"
    "station_deux_roues,raccordement,num_pdl,date_mise_en_service,observations,date_maj,cable_t2_attache"
).split(",")
DYNAMIC_HEADER = ["id_pdc_itinerance", "etat_pdc", "occupation_pdc", "horodatage", "etat_prise_type_2",
                  "etat_prise_type_combo_ccs", "etat_prise_type_chademo", "etat_prise_type_ef"]

# implantation: (share of stations, PDC per station range, power classes in kW)
SITES = [
    ("Voirie", 0.45, (2, 2), [7.4, 22]),
    ("Parking public", 0.25, (2, 6), [22, 22, 7.4]),
    ("Parking privé à usage public", 0.15, (2, 4), [22, 50]),
    ("Station dédiée à la recharge rapide", 0.15, (4, 8), [150, 300, 300]),
]
PLACES = ["Place de la Mairie", "Parking du Marché", "Avenue de la Gare", "Centre commercial",
          "Pôle d'échanges", "Parking de la Plage", "Zone d'activités", "Salle polyvalente", "Stade municipal"]
STREETS = ["avenue de la Liberté", "rue de la République", "boulevard Victor Hugo", "route de Nîmes",
           "avenue Jean Jaurès", "chemin des Vignes", "rue du Stade", "avenue de la Mer"]
PMR = ["Accessible mais non réservé PMR", "Accessibilité inconnue", "Réservé PMR", "Non accessible"]
BOOLEAN_STYLES = [("true", "false"), ("TRUE", "FALSE"), ("True", "False")]


@dataclass(frozen=True)
class ChargePoints:
    pdc: np.ndarray  # id_pdc_itinerance
    power: np.ndarray  # kW
    type_2: np.ndarray
    combo: np.ndarray
    chademo: np.ndarray
    ef: np.ndarray
    utc_form: np.ndarray  # this PDC's firmware writes "+0000" timestamps


def operator_code(partner_id: str) -> str:
    """Three letters for the operator's roaming ids (FR + code + P/E + number): the initials of
    the partner id's words, then its consonants."""
    words = partner_id.split("-")
    letters = "".join(w[0] for w in words if w) + "".join(c for c in partner_id if c.isalpha() and c not in "aeiouy")
    return letters[:3].upper()


def _static(ctx: Context, entry, area: np.ndarray, salt: tuple) -> tuple[str, ChargePoints]:
    """The operator's stations in the communes of ``area``, more where more people live."""
    region, rng = ctx.region, ctx.rng("irve", "static", *salt)
    partner = entry.partner
    code, name, siren = operator_code(partner.id), partner.name, partner.siren or "912345674"
    short = name.split(" (")[0]
    target = ctx.scale.charge_points
    weight = np.zeros(len(region))
    weight[area] = region.population[area].astype(np.float64) ** 0.8
    rows: list[list[str]] = []
    pdc_ids, power, t2, combo, chademo, ef = [], [], [], [], [], []
    station = 0
    while len(pdc_ids) < target:  # one iteration per station (a few dozen)
        station += 1
        kind = int(rng.choice(len(SITES), p=[s[1] for s in SITES]))
        implantation, _, (lo, hi), classes = SITES[kind]
        size = min(int(rng.integers(lo, hi + 1)), target - len(pdc_ids))
        c = int(rng.choice(len(region), p=weight / weight.sum()))
        lat, lon = scatter(rng, region.lat[[c]], region.lon[[c]], town_radius_m(region.population[[c]]))
        space = ", " if rng.random() < 0.6 else ","
        true, false = BOOLEAN_STYLES[int(rng.choice(3, p=[0.8, 0.1, 0.1]))]
        declared = size + (1 if station == 3 else 0)  # one station declares a PDC it has not yet installed
        kw = float(rng.choice(classes))
        dc = kw >= 50
        place = PLACES[int(rng.integers(len(PLACES)))]
        street = STREETS[int(rng.integers(len(STREETS)))]
        address = f"{int(rng.integers(1, 120))} {street}, {region.postal[c]} {region.name[c]}"
        opened = ctx.scale.start - timedelta(days=int(rng.integers(60, 6 * 365)))
        pdl = f"{int(rng.integers(10**13, 10**14 - 1)):014d}"
        bookable, card = rng.random() < 0.2, dc or rng.random() < 0.5
        pmr = PMR[int(rng.choice(4, p=[0.7, 0.15, 0.1, 0.05]))]
        connection = "Direct" if dc or rng.random() < 0.7 else "Indirect"
        for j in range(1, size + 1):
            has_ef = (not dc) and implantation == "Voirie" and rng.random() < 0.5
            has_chademo = kw == 50 and rng.random() < 0.5
            pdc = f"FR{code}E{station:05d}{j}"
            pdc_ids.append(pdc)
            power.append(kw)
            t2.append(not dc or kw == 50)
            combo.append(dc)
            chademo.append(has_chademo)
            ef.append(has_ef)
            b = lambda v: true if v else false  # noqa: E731
            rows.append([
                short, siren, f"contact@{partner.id}.example", f"{short} Exploitation",
                f"exploitation@{partner.id}.example", "0467000000", short,
                f"FR{code}P{station:05d}", f"{code}-{region.code[c]}-{station:03d}", f"{region.name[c]} - {place}",
                implantation, address, region.code[c], f"[{lon[0]:.6f}{space}{lat[0]:.6f}]", str(declared),
                pdc, f"{code}-{station:05d}-{j}", f"{kw:g}",
                b(has_ef), b(t2[-1]), b(dc), b(has_chademo), false,
                b(implantation == "Parking public" and kw < 22), true, b(card), true,
                "0,59 €/kWh" if dc else "0,35 €/kWh", "Accès libre", b(bookable),
                "24/7" if implantation != "Parking public" else "Mo-Su 06:00-23:00", pmr,
                "Hauteur maximale 2,10 m" if implantation.startswith("Parking") else "Aucune restriction",
                false, connection, pdl,
                opened.isoformat(), "", (ctx.scale.start - timedelta(days=3)).isoformat(),
                b((not dc) and rng.random() < 0.3),
            ])
    cols = [w.quote_needed(np.array(col, dtype=object).astype(str), ",") for col in zip(*rows)]
    text = w.render(STATIC_HEADER, w.join_rows(cols, ","), ",")
    n = len(pdc_ids)
    points = ChargePoints(np.array(pdc_ids), np.array(power), np.array(t2), np.array(combo), np.array(chademo),
                          np.array(ef), rng.random(n) < 0.1)
    return text, points


def _day_events(ctx: Context, cp: ChargePoints, day, salt: tuple) -> str:
    """Status changes of every PDC over one local day, in time order."""
    rng = ctx.rng("irve", day.isoformat(), *salt)
    n, k = cp.pdc.size, 14
    start = local_midnight(day)
    length = local_midnight(day + timedelta(days=1)) - start
    dc = cp.power >= 50
    busy_mean = np.where(dc, 30 * 60.0, 2.5 * 3600)[:, None]  # occupancy ~17 % (DC) to ~24 % (AC)
    idle_mean = np.where(dc, 2.5 * 3600, 8.0 * 3600)[:, None]
    idle = rng.exponential(1.0, (n, k)) * idle_mean
    busy = np.clip(rng.lognormal(0, 0.45, (n, k)) * busy_mean, 600, None)
    ends = np.cumsum(idle + busy, axis=1)
    session_start = (ends - busy).astype(np.int64)
    session_end = ends.astype(np.int64)
    # outage: out of order from a random time for a few hours (no sessions meanwhile)
    broken = rng.random(n) < 0.01
    out_from = rng.integers(0, length, n)
    out_to = out_from + rng.integers(2 * 3600, 10 * 3600, n)
    clash = broken[:, None] & (session_end > out_from[:, None]) & (session_start < out_to[:, None])
    ok = (session_start < length) & ~clash

    t, p, etat, occ = [], [], [], []

    def add(times, pdcs, e, o):
        t.append(np.asarray(times, dtype=np.int64))
        p.append(np.asarray(pdcs, dtype=np.int64))
        etat.append(np.full(len(p[-1]), e, dtype=object))
        occ.append(np.full(len(p[-1]), o, dtype=object))

    add(rng.integers(0, 120, n), np.arange(n), "en_service", "libre")  # daily snapshot at midnight
    pi, si = np.nonzero(ok)
    add(session_start[pi, si], pi, "en_service", "occupe")
    fin = session_end[pi, si] < length
    add(session_end[pi, si][fin], pi[fin], "en_service", "libre")
    booked = (rng.random(pi.size) < 0.03) & (idle[pi, si] >= 1200)
    add(np.maximum(session_start[pi, si][booked] - 600, 0), pi[booked], "en_service", "reserve")
    b = np.flatnonzero(broken)
    add(out_from[b], b, "hors_service", "inconnu")
    back = b[out_to[b] < length]
    add(out_to[back], back, "en_service", "libre")
    lost = np.flatnonzero(rng.random(n) < 0.005)  # supervision lost the charger for a moment
    add(rng.integers(0, length, lost.size), lost, "inconnu", "inconnu")

    times, pdcs = np.concatenate(t), np.concatenate(p)
    etats, occs = np.concatenate(etat), np.concatenate(occ)
    order = np.lexsort((pdcs, times))
    times, pdcs, etats, occs = times[order] + start, pdcs[order], etats[order], occs[order]
    stamp = np.where(cp.utc_form[pdcs], iso_utc(times), iso_local(times)).astype(w.STR)
    plug = np.where(etats == "en_service", "fonctionnel", np.where(etats == "hors_service", "hors_service", "inconnu"))
    plug = plug.astype(str).astype(w.STR)
    cells = [cp.pdc[pdcs], etats.astype(str), occs.astype(str), stamp,
             w.blank(plug, ~cp.type_2[pdcs]), w.blank(plug, ~cp.combo[pdcs]),
             w.blank(plug, ~cp.chademo[pdcs]), w.blank(plug, ~cp.ef[pdcs])]
    return w.render(DYNAMIC_HEADER, w.join_rows(cells, ","), ",")


def generate(ctx: Context) -> list[GeneratedFile]:
    """Each operator's inventory (the static file) and the status feeds linked to it."""
    if ctx.scale.charge_points <= 0:
        return []
    files = []
    for n, entry in enumerate(ctx.of_format(STATIC_FORMAT)):
        salt = () if n == 0 else (entry.partner.id,)     # another operator, other stations
        text, points = _static(ctx, entry, ctx.region.area_of(entry.partner)[0], salt)
        path = ctx.path(entry, f"irve_statique_{ctx.scale.start:%Y%m%d}.csv")
        w.write_csv(path, text)
        files.append(ctx.record(entry.key, path, 1, "", delivery_time(ctx.scale.start - timedelta(days=1), minutes=15)))
        for dynamic in ctx.linking(entry, "inventory"):
            for day in ctx.scale.day_list:
                path = ctx.path(dynamic, f"irve_dynamique_{day:%Y%m%d}.csv.gz", period=f"{day:%Y%m%d}")
                w.write_csv(path, _day_events(ctx, points, day, salt), compress=True)
                files.append(ctx.record(dynamic.key, path, 1, "", delivery_time(day, minutes=1)))
    return files
