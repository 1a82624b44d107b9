"""The demo region's communes (COG reference), random places inside them, and Lambert-93."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np

from territoire_hub.cog import load_reference
from territoire_hub.registry import Partner, Registry
from territoire_hub.registry_tables import write_registry
from territoire_hub.territory import resolve


_COMMUNES_SQL = """
SELECT c.code_commune, c.nom_commune, c.code_epci, e.nom_epci, e.type_epci,
       c.code_departement, d.nom_departement, c.code_region, r.nom_region,
       coalesce(c.population, 0) AS population, coalesce(c.codes_postaux, '') AS codes_postaux,
       c.latitude, c.longitude, coalesce(c.siren, '') AS siren
FROM ref.communes AS c
LEFT JOIN ref.epci AS e USING (code_epci)
JOIN ref.departements AS d ON d.code_departement = c.code_departement
JOIN ref.regions AS r ON r.code_region = c.code_region
JOIN registry.territory_communes AS t ON t.code_commune = c.code_commune
WHERE c.type_commune = 'commune-actuelle'
ORDER BY c.code_commune
"""


@dataclass(frozen=True)
class Region:
    """Column arrays, one entry per commune, sorted by INSEE code."""

    code: np.ndarray
    name: np.ndarray
    epci: np.ndarray
    epci_name: np.ndarray
    epci_type: np.ndarray
    dep: np.ndarray
    dep_name: np.ndarray
    reg: np.ndarray
    reg_name: np.ndarray
    population: np.ndarray
    postal: np.ndarray  # first postal code
    lat: np.ndarray
    lon: np.ndarray
    siren: np.ndarray   # the commune's own SIREN (a commune partner is found by it)

    def __len__(self) -> int:
        return len(self.code)

    def where(self, mask: np.ndarray) -> np.ndarray:
        """Indices of the communes selected by ``mask``."""
        return np.flatnonzero(mask)

    def index_of(self, code: str) -> int | None:
        hits = np.flatnonzero(self.code == code)
        return int(hits[0]) if hits.size else None

    def area_of(self, partner: Partner) -> tuple[np.ndarray, str]:
        """The communes a partner covers, and how specific that is: its own commune (its SIREN is
        a commune's), its EPCI's communes (its SIREN is an EPCI's), its départements, or all."""
        if partner.siren and np.any(self.siren == partner.siren):
            return np.flatnonzero(self.siren == partner.siren), "commune"
        if partner.siren and np.any(self.epci.astype(str) == partner.siren):
            return np.flatnonzero(self.epci.astype(str) == partner.siren), "epci"
        if partner.departements:
            return np.flatnonzero(np.isin(self.dep, partner.departements)), "departements"
        return np.arange(len(self)), "territory"


def load_region(registry: Registry, limit: int | None = None) -> Region:
    """Current communes of the registry's territory, with population and coordinates.

    ``limit`` keeps N communes taken in turn from each EPCI (largest first), so that even a
    tiny demo has a métropole, a Gard commune and Beaucaire.
    """
    con = duckdb.connect()
    try:
        load_reference(con)
        write_registry(con, registry)
        resolve(con, registry.territory)
        rows = con.execute(_COMMUNES_SQL).fetchall()
    finally:
        con.close()
    if not rows:
        raise ValueError(f"no commune in the territory {registry.territory.name!r}")
    cols = list(zip(*rows))
    lat = np.array([np.nan if v is None else v for v in cols[11]], dtype=np.float64)
    lon = np.array([np.nan if v is None else v for v in cols[12]], dtype=np.float64)
    if np.isnan(lat).any() or np.isnan(lon).any():
        # the generator places things inside communes: it needs every commune's location
        missing = [c for c, a in zip(cols[0], lat) if np.isnan(a)]
        raise ValueError(f"the demo generator needs located communes; no location for {missing}")
    region = Region(
        code=np.array(cols[0]), name=np.array(cols[1]), epci=np.array(cols[2]),
        epci_name=np.array(cols[3]), epci_type=np.array(cols[4]),
        dep=np.array(cols[5]), dep_name=np.array(cols[6]), reg=np.array(cols[7]), reg_name=np.array(cols[8]),
        population=np.array(cols[9], dtype=np.int64),
        postal=np.array([p.split()[0] if p else "" for p in cols[10]]),
        lat=lat, lon=lon, siren=np.array(cols[13]),
    )
    if limit is None or limit >= len(region):
        return region
    # the EPCI declared first come first (the demo's métropole), then the others by code
    order = list(dict.fromkeys(list(registry.territory.epcis) + sorted({str(e) for e in region.epci})))
    return _subset(region, _round_robin(region, order, limit))


def _round_robin(region: Region, epcis: list[str], limit: int) -> np.ndarray:
    queues = [
        sorted(np.flatnonzero(region.epci.astype(str) == e), key=lambda i: (-region.population[i], region.code[i]))
        for e in epcis
    ]
    chosen: list[int] = []
    while len(chosen) < limit and any(queues):
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.append(int(queue.pop(0)))
    return np.sort(np.array(chosen, dtype=np.int64))


def _subset(region: Region, index: np.ndarray) -> Region:
    return Region(**{name: getattr(region, name)[index] for name in Region.__dataclass_fields__})


# -- geometry ---------------------------------------------------------------------

EARTH_M_PER_DEG = 111_320.0


def scatter(rng: np.random.Generator, lat: np.ndarray, lon: np.ndarray, radius_m) -> tuple[np.ndarray, np.ndarray]:
    """Random places around each (lat, lon), Gaussian with ``radius_m`` spread, clipped at 2 sigma."""
    radius_m = np.broadcast_to(np.asarray(radius_m, dtype=np.float64), np.shape(lat))
    d = np.clip(rng.normal(0.0, 1.0, (2, len(lat))), -2, 2) * radius_m
    return lat + d[0] / EARTH_M_PER_DEG, lon + d[1] / (EARTH_M_PER_DEG * np.cos(np.deg2rad(lat)))


def town_radius_m(population: np.ndarray) -> np.ndarray:
    """Spread of places in a commune: ~350 m for a village, ~3 km for Montpellier."""
    return np.clip(12.0 * np.sqrt(np.asarray(population, dtype=np.float64)), 300.0, 3000.0)


# Lambert-93 (EPSG:2154): Lambert conformal conic on GRS80, standard parallels 44° and 49°.
_A, _F = 6378137.0, 1 / 298.257222101
_E = np.sqrt(2 * _F - _F**2)
_LON0, _X0, _Y0 = np.deg2rad(3.0), 700000.0, 6600000.0


def _m(phi):
    return np.cos(phi) / np.sqrt(1 - (_E * np.sin(phi)) ** 2)


def _t(phi):
    return np.tan(np.pi / 4 - phi / 2) / ((1 - _E * np.sin(phi)) / (1 + _E * np.sin(phi))) ** (_E / 2)


_P1, _P2, _P0 = np.deg2rad(44.0), np.deg2rad(49.0), np.deg2rad(46.5)
_N = (np.log(_m(_P1)) - np.log(_m(_P2))) / (np.log(_t(_P1)) - np.log(_t(_P2)))
_AF = _A * _m(_P1) / (_N * _t(_P1) ** _N)
_RHO0 = _AF * _t(_P0) ** _N


def to_lambert93(lat, lon) -> tuple[np.ndarray, np.ndarray]:
    """WGS84/RGF93 degrees to Lambert-93 metres (X east, Y north)."""
    phi, lam = np.deg2rad(np.asarray(lat, dtype=np.float64)), np.deg2rad(np.asarray(lon, dtype=np.float64))
    rho = _AF * _t(phi) ** _N
    theta = _N * (lam - _LON0)
    return _X0 + rho * np.sin(theta), _Y0 + _RHO0 - rho * np.cos(theta)
