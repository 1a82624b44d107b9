"""The territory's communes, resolved from the codes the registry declares and the COG.

A territory is declared by région, département, EPCI (SIREN) or commune codes, in any mix
(``territory:`` in the registry). Resolution happens in the warehouse, against the COG loaded
in ``ref``: every current commune of a declared région or département, every member of a
declared EPCI, every declared commune — a former, delegated or arrondissement code leading to
its current commune. The result is ``registry.territory_communes``, which the dbt models read.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from territoire_hub.registry import Territory

_LEVELS = {
    "region": ("SELECT code_region FROM ref.regions", "régions"),
    "departement": ("SELECT code_departement FROM ref.departements", "départements"),
    "epci": ("SELECT code_epci FROM ref.epci", "EPCI"),
    "commune": ("SELECT code FROM ref.commune_codes", "communes"),
}

_RESOLVE_SQL = """
CREATE OR REPLACE TABLE registry.territory_communes AS
WITH declared AS (
    SELECT niveau, code FROM registry.territory_codes
),
matches AS (
    SELECT c.code_commune, d.niveau, d.code
    FROM ref.communes AS c
    JOIN declared AS d
      ON (d.niveau = 'region' AND d.code = c.code_region)
      OR (d.niveau = 'departement' AND d.code = c.code_departement)
      OR (d.niveau = 'epci' AND d.code = c.code_epci)
    WHERE c.type_commune = 'commune-actuelle'
    UNION ALL
    SELECT cc.code_commune, d.niveau, d.code
    FROM declared AS d JOIN ref.commune_codes AS cc ON cc.code = d.code
    WHERE d.niveau = 'commune'
)
SELECT code_commune, string_agg(niveau || ' ' || code, ', ' ORDER BY niveau, code) AS declared_by
FROM matches
GROUP BY code_commune
ORDER BY code_commune
"""


class TerritoryError(ValueError):
    """A declared code is not in the COG; the message names the level and the code."""


@dataclass(frozen=True)
class Resolution:
    communes: int
    epcis: int
    departements: int
    regions: int
    population: int
    mapped: list[tuple[str, str, str]]      # (declared commune code, current commune, kind)


def check_codes(con: duckdb.DuckDBPyConnection, territory: Territory) -> None:
    """Raise TerritoryError naming every declared code the COG does not know."""
    unknown = []
    for level, code in territory.codes():
        sql, label = _LEVELS[level]
        if not con.execute(f"SELECT 1 FROM ({sql}) AS known(code) WHERE code = ?", [code]).fetchone():
            unknown.append(f"{level} {code!r} is not a code of the COG {territory.cog_vintage} ({label})")
    if unknown:
        raise TerritoryError("territory: " + "; ".join(unknown))


def resolve(con: duckdb.DuckDBPyConnection, territory: Territory) -> Resolution:
    """Write ``registry.territory_communes`` (the registry tables must be written) and describe it."""
    check_codes(con, territory)
    con.execute(_RESOLVE_SQL)
    counts = con.execute("""
        SELECT count(*), count(DISTINCT c.code_epci), count(DISTINCT c.code_departement),
               count(DISTINCT c.code_region), coalesce(sum(c.population), 0)
        FROM registry.territory_communes AS t
        JOIN ref.communes AS c ON c.code_commune = t.code_commune AND c.type_commune = 'commune-actuelle'
    """).fetchone()
    mapped = con.execute("""
        SELECT d.code, cc.code_commune, cc.kind FROM registry.territory_codes AS d
        JOIN ref.commune_codes AS cc ON cc.code = d.code
        WHERE d.niveau = 'commune' AND cc.kind <> 'commune' ORDER BY 1
    """).fetchall()
    return Resolution(*counts, mapped=[tuple(m) for m in mapped])
