"""Météo-France hourly files (H_DD, 204 columns): one gzip file per département and month."""

from __future__ import annotations

import unicodedata
from calendar import monthrange
from dataclasses import dataclass
from datetime import date

import numpy as np

from territoire_hub.sources.demo import writer as w
from territoire_hub.sources.demo.climate import RegionalWeather, seasonal_mean, seasonal_range
from territoire_hub.sources.demo.deliveries import Context, GeneratedFile, delivery_time
from territoire_hub.sources.demo.paris_time import epoch
from territoire_hub.sources.demo.sun import elevation

FORMAT = "meteo_france_horaire"

HOURLY_HEADER = (
    "NUM_POSTE;NOM_USUEL;LAT;LON;ALTI;AAAAMMJJHH;RR1;QRR1;DRR1;QDRR1;FF;QFF;DD;QDD;FXY;QFXY;DXY;"
    "QDXY;HXY;QHXY;FXI;QFXI;DXI;QDXI;HXI;QHXI;FF2;QFF2;DD2;QDD2;FXI2;QFXI2;DXI2;QDXI2;HXI2;QHXI2;"
    "FXI3S;QFXI3S;DXI3S;QDXI3S;HFXI3S;QHFXI3S;T;QT;TD;QTD;TN;QTN;HTN;QHTN;TX;QTX;HTX;QHTX;DG;QDG;"
    "T10;QT10;T20;QT20;T50;QT50;T100;QT100;TNSOL;QTNSOL;TN50;QTN50;TCHAUSSEE;QTCHAUSSEE;DHUMEC;"
    "QDHUMEC;U;QU;UN;QUN;HUN;QHUN;UX;QUX;HUX;QHUX;DHUMI40;QDHUMI40;DHUMI80;QDHUMI80;TSV;QTSV;"
    "PMER;QPMER;PSTAT;QPSTAT;PMERMIN;QPERMIN;GEOP;QGEOP;N;QN;NBAS;QNBAS;CL;QCL;CM;QCM;CH;QCH;N1;"
    "QN1;C1;QC1;B1;QB1;N2;QN2;C2;QC2;B2;QCB2;N3;QN3;C3;QC3;B3;QB3;N4;QN4;C4;QC4;B4;QB4;VV;QVV;"
    "DVV200;QDVV200;WW;QWW;W1;QW1;W2;QW2;SOL;QSOL;SOLNG;QSOLNG;TMER;QTMER;VVMER;QVVMER;ETATMER;"
    "QETATMER;DIRHOULE;QDIRHOULE;HVAGUE;QHVAGUE;PVAGUE;QPVAGUE;HNEIGEF;QHNEIGEF;NEIGETOT;"
    "QNEIGETOT;TSNEIGE;QTSNEIGE;TUBENEIGE;QTUBENEIGE;HNEIGEFI3;QHNEIGEFI3;HNEIGEFI1;QHNEIGEFI1;"
    "ESNEIGE;QESNEIGE;CHARGENEIGE;QCHARGENEIGE;GLO;QGLO;GLO2;QGLO2;DIR;QDIR;DIR2;QDIR2;DIF;QDIF;"
    "DIF2;QDIF2;UV;QUV;UV2;QUV2;UV_INDICE;QUV_INDICE;INFRAR;QINFRAR;INFRAR2;QINFRAR2;INS;QINS;"
    "INS2;QINS2;TLAGON;QTLAGON;TVEGETAUX;QTVEGETAUX;ECOULEMENT;QECOULEMENT"
).split(";")

RECENT_DAYS = 60  # the last two months are only "filtered" (quality code 9), older ones validated (1)


@dataclass(frozen=True)
class Stations:
    num_poste: np.ndarray
    name: np.ndarray
    dep: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    alti: np.ndarray


def station_name(commune: str) -> str:
    """``Saint-Jean-de-Védas`` -> ``SAINT-JEAN-DE-VEDAS`` (upper-case ASCII, like NOM_USUEL)."""
    ascii_ = unicodedata.normalize("NFKD", commune).encode("ascii", "ignore").decode("ascii")
    return ascii_.upper().replace("'", " ")


def station_departements(ctx: Context, entry) -> list[str]:
    """The départements a dataset's files are split by: those of its URL template, else the
    territory's, the one with most communes first."""
    transport = entry.dataset.transport
    declared = [d for d in getattr(transport, "departements", []) if np.any(ctx.region.dep == d)]
    if declared:
        return declared
    deps, counts = np.unique(ctx.region.dep, return_counts=True)
    return [str(d) for d in deps[np.lexsort((deps, -counts))]]


def place_stations(ctx: Context, departements: list[str]) -> Stations:
    """Split the stations over the départements (the first gets n − n//3 when there are two, as the
    demo's Hérault and Gard; more départements share them pro rata to their communes), each set
    spread out (farthest-point choice)."""
    region, n = ctx.region, ctx.scale.stations
    rng = ctx.rng("weather", "stations")
    if len(departements) == 2 and n > 1:
        counts = [n - n // 3, n // 3]
    else:
        weight = np.array([np.sum(region.dep == d) for d in departements], dtype=np.float64)
        counts = list(np.maximum(_largest_remainders(n, weight), 1 if n >= len(departements) else 0))
    picks: list[tuple[int, int]] = []  # (commune index, rank)
    for dep, count in zip(departements, counts):
        pool = region.where(region.dep == dep)
        if count == 0 or pool.size == 0:
            continue
        chosen = [int(pool[np.argmax(region.population[pool])])]
        while len(chosen) < min(count, pool.size):
            d = np.min(np.hypot(region.lat[pool, None] - region.lat[chosen][None, :],
                                region.lon[pool, None] - region.lon[chosen][None, :]), axis=1)
            chosen.append(int(pool[np.argmax(d)]))
        picks += [(chosen[i % len(chosen)], 1 + i // len(chosen)) for i in range(count)]
    idx = np.array([p[0] for p in picks], dtype=np.int64)
    ranks = np.array([p[1] for p in picks])
    num = np.array([f"{region.code[i]}{r:03d}" for i, r in zip(idx, ranks)])
    names = np.array([station_name(region.name[i]) + ("" if r == 1 else f"-{r}") for i, r in zip(idx, ranks)])
    lat, lon = region.lat[idx] + rng.normal(0, 0.01, idx.size), region.lon[idx] + rng.normal(0, 0.01, idx.size)
    alti = np.rint(rng.uniform(2, 80, idx.size)).astype(np.int64)
    return Stations(num, names, region.dep[idx], lat, lon, alti)


def _largest_remainders(total: int, weight: np.ndarray) -> np.ndarray:
    share = total * weight / weight.sum()
    counts = np.floor(share).astype(np.int64)
    counts[np.argsort(-(share - counts), kind="stable")[:total - counts.sum()]] += 1
    return counts


def _diurnal(hour_utc: np.ndarray) -> np.ndarray:
    """-1 at 05 UTC (dawn minimum), +1 at 14 UTC (afternoon maximum), smooth in between."""
    hh = (hour_utc - 5.0) % 24.0
    return np.where(hh < 9.0, -np.cos(np.pi * hh / 9.0), np.cos(np.pi * (hh - 9.0) / 15.0))


def _saturation(t: np.ndarray) -> np.ndarray:
    return np.exp(17.62 * t / (243.12 + t))


def simulate(ctx: Context, stations: Stations, climate: RegionalWeather) -> dict[str, np.ndarray]:
    """Hourly values, arrays of shape (stations, hours); hour k ends at start + k hours (UTC)."""
    rng = ctx.rng("weather", "hourly")
    scale = ctx.scale
    n_s, n_h = len(stations.num_poste), 24 * scale.days
    t0 = epoch(scale.start)
    ends = t0 + 3600 * np.arange(-1, n_h, dtype=np.int64)  # one extra hour for TN/TX of the first
    hour = (ends % 86400) / 3600.0
    days_f = (ends - epoch(climate.first)) / 86400.0
    day_i = np.clip(np.floor(days_f).astype(np.int64), 0, len(climate.rain_mm) - 1)
    doy = (ends / 86400.0 - 10957.0) % 365.25
    anomaly = np.interp(days_f - 0.5, np.arange(len(climate.anomaly)), climate.anomaly)
    rainy = climate.rain_mm[day_i] >= 1.0
    north = climate.north_wind[day_i]

    # the regional climate is Montpellier's; a station further north is colder (about 0.6 °C per
    # degree of latitude, as between Montpellier and Lille), higher up too (lapse rate)
    mean_off = rng.normal(0, 0.4, (n_s, 1)) - 0.0065 * stations.alti[:, None] \
        - 0.6 * np.clip(stations.lat[:, None] - 43.6, 0, None)
    range_k = rng.uniform(0.85, 1.15, (n_s, 1))
    t_mean = seasonal_mean(doy)[None, :] + anomaly[None, :] + mean_off
    t_range = seasonal_range(doy)[None, :] * range_k * np.where(rainy, 0.45, np.where(north, 1.15, 1.0))[None, :]
    # smooth weather noise: a few random slow oscillations per station, plus sensor jitter
    periods = rng.uniform(3.0, 30.0, (n_s, 4, 1))
    phases = rng.uniform(0, 2 * np.pi, (n_s, 4, 1))
    hours_f = (ends / 3600.0)[None, None, :]
    noise = 0.35 * np.sin(2 * np.pi * hours_f / periods + phases).sum(axis=1)
    noise += rng.normal(0, 0.1, noise.shape)
    temp = t_mean + t_range / 2 * _diurnal(hour)[None, :] + noise
    t_now, t_before = temp[:, 1:], temp[:, :-1]
    t = np.round(t_now, 1)
    tn = np.minimum(np.round(np.minimum(t_now, t_before) - np.abs(rng.normal(0, 0.15, t.shape)), 1), t)
    tx = np.maximum(np.round(np.maximum(t_now, t_before) + np.abs(rng.normal(0, 0.15, t.shape)), 1), t)

    # rain: the regional daily total spread over a few hours, varying by station
    day_rain = climate.rain_mm[day_i[1:]]
    share = rng.gamma(0.6, 1.0, (n_s, n_h)) * (rng.random((n_s, n_h)) < 0.35)
    share_day = share.reshape(n_s, scale.days, 24).sum(axis=2)
    share_day = np.where(share_day > 0, share_day, 1.0)
    station_k = rng.lognormal(0, 0.3, (n_s, scale.days))
    rr = share / np.repeat(share_day, 24, axis=1) * day_rain[None, :] * np.repeat(station_k, 24, axis=1)
    rr = np.round(np.where(rr < 0.2, 0.0, rr), 1)

    dew = (seasonal_mean(doy[1:]) + anomaly[1:])[None, :] + mean_off - np.where(
        rainy[1:], 1.5, np.where(north[1:], 9.0, 5.0))[None, :] + rng.normal(0, 0.8, (n_s, n_h))
    dew = np.minimum(dew, t_now)
    u = np.clip(np.rint(100 * _saturation(dew) / _saturation(t_now)), 12, 100)

    breeze = 1 + 0.3 * np.sin(2 * np.pi * (hour[1:] - 9.0) / 24.0)
    ff = np.round(np.clip(climate.wind[day_i[1:]] * breeze * rng.lognormal(0, 0.25, (n_s, n_h)), 0, 30), 1)
    summer_afternoon = (hour[1:] >= 11) & (hour[1:] <= 18) & (doy[1:] > 120) & (doy[1:] < 270)
    dd = np.where(north[1:], rng.normal(335, 20, (n_s, n_h)),
                  np.where(summer_afternoon, rng.normal(165, 20, (n_s, n_h)), rng.uniform(0, 360, (n_s, n_h))))
    dd = np.rint(dd % 360 / 10) * 10
    dd = np.where(dd == 0, 360, dd)

    sun = elevation((ends[1:] - 1800)[None, :], stations.lat[:, None], stations.lon[:, None])
    sunny = np.where(rainy[1:], rng.uniform(0.0, 0.25, n_h), rng.uniform(0.6, 1.0, n_h))[None, :]
    ins = np.rint(60 * np.clip(sunny * rng.uniform(0.8, 1.1, (n_s, n_h)), 0, 1) * np.clip(sun / 3.0, 0, 1))
    sin_e = np.sin(np.deg2rad(np.clip(sun, 0.1, 90)))
    clear = np.where(sun > 0, 1098 * sin_e * np.exp(-0.057 / sin_e), 0.0)
    glo = np.rint(clear * (0.25 + 0.75 * ins / 60) * 0.36)
    return {"RR1": rr, "T": t, "TN": tn, "TX": tx, "U": u, "FF": ff, "DD": dd, "INS": ins, "GLO": glo,
            "ends": ends[1:]}


_DECIMALS = {"RR1": 1, "T": 1, "TN": 1, "TX": 1, "FF": 1}


def generate(ctx: Context, climate: RegionalWeather) -> list[GeneratedFile]:
    if ctx.scale.stations <= 0:
        return []
    files = []
    for entry in ctx.of_format(FORMAT):
        files += _generate(ctx, climate, entry)
    return files


def _generate(ctx: Context, climate: RegionalWeather, entry) -> list[GeneratedFile]:
    departements = station_departements(ctx, entry)
    stations = place_stations(ctx, departements)
    values = simulate(ctx, stations, climate)
    rng = ctx.rng("weather", "gaps")
    n_s, n_h = values["T"].shape
    gap_t = rng.random((n_s, n_h)) < 0.002
    if n_h > 48:  # one station down for five hours
        k = int(rng.integers(12, n_h - 12))
        gap_t[int(rng.integers(0, n_s)), k: k + 5] = True
    gap_rr = rng.random((n_s, n_h)) < 0.001
    gap_other = gap_t | (rng.random((n_s, n_h)) < 0.001)
    recent = values["ends"] > epoch(ctx.scale.end) - 86400 * (RECENT_DAYS - 1)

    stamps = np.datetime_as_string(values["ends"].astype("datetime64[s]").astype("datetime64[h]"), unit="h")
    stamps = np.strings.replace(np.strings.replace(stamps.astype(w.STR), "-", ""), "T", "")
    # AAAAMMJJHH labels the hour ending at HH: the file of a month holds its stamps
    month_of = np.strings.slice(stamps, 0, 6)
    padded_file = (ctx.scale.months[min(1, len(ctx.scale.months) - 1)], departements[0])

    files = []
    for year, month in ctx.scale.months:
        in_month = np.flatnonzero(month_of == f"{year}{month:02d}")
        last_day = min(date(year, month, monthrange(year, month)[1]), ctx.scale.end)
        for dep in departements:
            which = np.flatnonzero(stations.dep == dep)
            if which.size == 0 or in_month.size == 0:
                continue
            pad = padded_file == ((year, month), dep)
            rows = _rows(stations, values, which, in_month, stamps, recent,
                         {"T": gap_t, "RR1": gap_rr, "other": gap_other}, pad)
            period = f"{year}{month:02d}"
            path = ctx.path(entry, f"H_{dep}_{period}.csv.gz", departement=dep, period=period)
            w.write_csv(path, w.render(HOURLY_HEADER, rows, ";"), compress=True)
            files.append(ctx.record(entry.key, path, 1,
                                    "num_poste_padded" if pad else "", delivery_time(last_day, minutes=10)))
    return files


def _rows(stations, values, which, hours, stamps, recent, gaps, pad) -> np.ndarray:
    """Rows station-major then time, for the given stations and hour indices."""
    s = np.repeat(which, hours.size)
    h = np.tile(hours, which.size)
    num = stations.num_poste[s].astype(w.STR)
    if pad:  # a real vintage pads NUM_POSTE with a leading blank
        num = np.strings.add(" ", num)
    quality = np.where(recent[h], "9", "1").astype(w.STR)
    cells: dict[str, np.ndarray | str] = {
        "NUM_POSTE": num,
        "NOM_USUEL": stations.name[s],
        "LAT": w.fixed(stations.lat[s], 6),
        "LON": w.fixed(stations.lon[s], 6),
        "ALTI": w.integer(stations.alti[s]),
        "AAAAMMJJHH": stamps[h],
    }
    for name in ("RR1", "FF", "DD", "T", "TN", "TX", "U", "GLO", "INS"):
        gap = gaps["T"] if name in ("T", "TN", "TX", "U") else gaps["RR1"] if name == "RR1" else gaps["other"]
        missing = gap[s, h]
        data = values[name][s, h]
        cells[name] = w.fixed(data, _DECIMALS[name], missing=missing) if name in _DECIMALS \
            else w.integer(data, missing=missing)
        cells["Q" + name] = w.blank(quality, missing)
    return w.join_rows([cells.get(col, "") for col in HOURLY_HEADER], ";")
