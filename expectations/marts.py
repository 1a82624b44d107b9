"""Expectation suites for the marts (the published indicators), declared per mart.

For each mart:

* ``<mart>__rows``: one row per key, values in plausible bands (per-inhabitant values
  included), and no unexplained null: a null measure must carry a ``motif_absence``;
* ``<mart>__rollup``: the communes of each EPCI add up to the EPCI row (additive measures);
* ``<mart>__reconcile``: each région row (the territory's communes in that région: a territory
  may span several régions) matches the layer it was computed from.

A failed ``critical`` expectation keeps the mart out of publication; ``warning`` travels with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from territoire_hub.expectations.deliveries import Range
from territoire_hub.expectations.suites import WARNING, Suite, expect
from territoire_hub.warehouse import quote_ident, quote_literal

TERRITORY = ("niveau", "code_territoire")


@dataclass(frozen=True)
class Reconcile:
    """``sql`` returns rows (label, mart_value, source_value) that must agree."""

    what: str
    sql: str
    tolerance: float = 1e-6


@dataclass(frozen=True)
class MartRules:
    key: tuple[str, ...]
    ranges: tuple[Range, ...] = ()
    explained: tuple[str, ...] = ()        # null allowed only with a motif_absence
    additive: tuple[str, ...] = ()         # sum of the communes = the EPCI
    reconcile: tuple[Reconcile, ...] = ()
    reason_column: str = "motif_absence"


# the territory's communes in the région of the mart row m
_REGION_COMMUNES = "SELECT code_commune FROM intermediate.int_territory__communes WHERE code_region = m.code_territoire"

MARTS: dict[str, MartRules] = {
    "energie_territoire_annee": MartRules(
        key=TERRITORY + ("annee", "energie", "secteur"),
        ranges=(Range("conso_mwh", 0, None, unit="MWh"),
                # residential electricity per inhabitant of a commune: 2–7 MWh in France; outside
                # 0.3–20 it is a mis-coded commune or a unit error, not a territory (groupings
                # are not bounded below: a partner may deliver only some of their communes)
                Range("conso_mwh_par_habitant", 0.3, 20, unit="MWh/hab",
                      where=(("secteur", "==", "RESIDENTIEL"), ("niveau", "==", "commune"))),
                Range("conso_mwh_par_habitant", 0, 200, unit="MWh/hab"),
                Range("part_point_dominant_max", 0, 1), Range("rapport_climatique", 0.3, 3, severity=WARNING)),
        explained=("conso_mwh",),
        additive=("conso_mwh", "points_de_livraison", "cellules_livrees", "cellules_secretisees"),
        reconcile=(Reconcile(
            "electricity of each région of the territory = sum of the current ORE cells of its communes",
            f"""
            SELECT 'électricité ' || m.annee || ' région ' || m.code_territoire, m.conso_mwh,
                   (SELECT sum(s.consumption_mwh) FROM staging.stg_ore_conso_commune s
                     WHERE s.energy = 'electricity' AND s.year = m.annee AND s.code_commune IN ({_REGION_COMMUNES}))
            FROM marts.energie_territoire_annee m
            WHERE m.niveau = 'region' AND m.secteur = 'TOUS' AND m.energie = 'electricite'
            """),),
    ),
    "eclairage_territoire_annee": MartRules(
        key=TERRITORY + ("annee",),
        ranges=(Range("part_led_pct", 0, 100, unit="%"), Range("kwh_par_habitant", 0, 1000, unit="kWh/hab"),
                Range("kwh_par_point_lumineux", 0, 5000, unit="kWh/point"), Range("pannes_pour_1000_points", 0, 5000)),
        explained=("points_lumineux", "conso_armoires_kwh"),
        additive=("points_lumineux", "conso_armoires_kwh", "pannes"),
        reconcile=(Reconcile(
            "light points of each région of the territory = the current inventories of its communes",
            f"""
            SELECT 'points ' || m.annee || ' région ' || m.code_territoire, m.points_lumineux,
                   (SELECT count(*) FROM intermediate.int_lighting__points p WHERE p.code_commune IN ({_REGION_COMMUNES}))
            FROM marts.eclairage_territoire_annee m WHERE m.niveau = 'region'
            """),),
    ),
    "meteo_territoire_jour": MartRules(
        key=TERRITORY + ("jour",),
        ranges=(Range("temperature_min_c", -40, 50, unit="°C"), Range("temperature_moyenne_c", -40, 50, unit="°C"),
                Range("temperature_max_c", -40, 50, unit="°C"), Range("pluie_mm", 0, 500, unit="mm"),
                Range("dju_18", 0, 60)),
        explained=("temperature_moyenne_c",),
    ),
    "meteo_territoire_annee": MartRules(
        key=TERRITORY + ("annee",),
        ranges=(Range("dju_18", 0, 6000), Range("pluie_mm", 0, 4000, unit="mm"), Range("jours_de_pluie", 0, 366)),
        explained=("dju_18",),
    ),
    "trafic_compteur": MartRules(
        key=("producteur", "id_compteur", "annee"),
        ranges=(Range("tmj_tous_jours", 0, 200000, unit="veh/j"), Range("part_heure_de_pointe_pct", 0, 100, unit="%"),
                Range("heures_congestion_par_jour", 0, 24, unit="h")),
        explained=("tmj_tous_jours",),
    ),
    "trafic_territoire_annee": MartRules(
        key=TERRITORY + ("annee",),
        ranges=(Range("tmj_moyen_par_compteur", 0, 200000, unit="veh/j"), Range("part_heure_de_pointe_pct", 0, 100)),
        explained=("tmj_moyen_par_compteur",),
        additive=("compteurs",),
        reconcile=(Reconcile(
            "counters of each région of the territory = its communes' counters with a yearly value",
            f"""
            SELECT 'compteurs ' || m.annee || ' région ' || m.code_territoire, m.compteurs,
                   (SELECT count(*) FROM marts.trafic_compteur c WHERE c.annee = m.annee AND c.tmj_tous_jours IS NOT NULL
                      AND c.code_commune IN ({_REGION_COMMUNES}))
            FROM marts.trafic_territoire_annee m WHERE m.niveau = 'region'
            """),),
    ),
    "trafic_troncon_annee": MartRules(
        key=("producteur", "format_source", "id_troncon", "annee"),
        ranges=(Range("tmja", 0, 400000, unit="veh/j"), Range("part_poids_lourds_pct", 0, 100, unit="%")),
        explained=("tmja", "part_poids_lourds_pct"),
    ),
    "mobilites_site_annee": MartRules(
        key=("producteur", "id_site", "mode", "annee"),
        ranges=(Range("passages_moyens_par_jour", 0, 200000, unit="passages/j"),),
        explained=("passages_moyens_par_jour",),
    ),
    "recharge_territoire": MartRules(
        key=TERRITORY,
        ranges=(Range("points_pour_1000_habitants", 0, 100), Range("taux_occupation_pct", 0, 100, unit="%"),
                Range("taux_en_service_pct", 0, 100, unit="%")),
        explained=("points_de_charge",),
        additive=("points_de_charge", "stations"),
        reconcile=(Reconcile(
            "charge points of each région of the territory = the current IRVE points of its communes",
            f"""
            SELECT 'points de charge région ' || m.code_territoire, m.points_de_charge,
                   (SELECT count(*) FROM intermediate.int_ev__charge_points p WHERE p.code_commune IN ({_REGION_COMMUNES}))
            FROM marts.recharge_territoire m WHERE m.niveau = 'region'
            """),),
    ),
    "recharge_territoire_annee": MartRules(
        key=TERRITORY + ("annee",),
        ranges=(Range("taux_occupation_pct", 0, 100, unit="%"), Range("taux_en_service_pct", 0, 100, unit="%")),
        explained=("taux_occupation_pct",),
        additive=("points_observes",),
    ),
    "fiche_territoire": MartRules(
        key=TERRITORY + ("annee",),
        ranges=(Range("conso_electricite_mwh_par_habitant", 0, 200), Range("recharge_points_pour_1000_habitants", 0, 100),
                Range("part_led_pct", 0, 100)),
        reason_column="motifs_absence",
        explained=("conso_electricite_mwh", "points_lumineux"),
    ),
}


def _meta(check: str, column: str | None, message: str) -> dict:
    return {"check": check, "column": column, "message": message}


def rows_suite(name: str, rules: MartRules) -> Suite:
    key = list(rules.key)
    expectations = [expect(
        "expect_compound_columns_to_be_unique", column_list=key, meta=_meta("duplicate_key", ", ".join(key), "two rows for the same key " + ", ".join(key)))]
    for r in rules.ranges:
        bounds = f"between {r.min} and {r.max}" if r.max is not None else f"≥ {r.min}"
        expectations.append(expect(
            "expect_column_values_to_be_between", column=r.column, min_value=r.min, max_value=r.max,
            severity=r.severity, row_condition=r.where or None,
            meta=_meta("implausible_value", r.column,
                       f"{r.column} = {{value}} for {{code_territoire}} {{annee}}: expected {bounds} {r.unit}".rstrip())))
    for column in rules.explained:
        expectations.append(expect(
            "expect_column_values_to_not_be_null", column=rules.reason_column,
            row_condition=((column, "is_null", None),),
            meta=_meta("unexplained_null", column, f"{column} is empty without a {rules.reason_column}")))
    return Suite(name=f"mart__{name}__rows", expectations=expectations, meta={"mart": name})


def rollup_suite(name: str) -> Suite:
    return Suite(name=f"mart__{name}__rollup", expectations=[expect(
        "expect_column_values_to_be_between", column="relative_gap", max_value=1e-6,
        meta=_meta("rollup_mismatch", "measure",
                   "{measure} of EPCI {epci} ({epci_value}) ≠ sum of its communes ({communes_sum})"))],
        meta={"mart": name})


def reconcile_suite(name: str) -> Suite:
    return Suite(name=f"mart__{name}__reconcile", expectations=[expect(
        "expect_column_values_to_be_between", column="relative_gap", max_value=1e-6,
        meta=_meta("does_not_reconcile", "label", "{label}: mart {mart_value} ≠ source {source_value} ({what})"))],
        meta={"mart": name})


def _rollup_sql(name: str, rules: MartRules) -> str:
    others = [k for k in rules.key if k not in TERRITORY]
    join = "".join(f" AND c.{quote_ident(k)} IS NOT DISTINCT FROM e.{quote_ident(k)}" for k in others)
    group = "".join(f", e.{quote_ident(k)}" for k in others)
    parts = [
        f"""
        SELECT e.code_territoire AS epci, '{m}' AS measure{group},
               CAST(e.{quote_ident(m)} AS DOUBLE) AS epci_value, CAST(sum(c.{quote_ident(m)}) AS DOUBLE) AS communes_sum
        FROM marts.{quote_ident(name)} e
        JOIN intermediate.int_territory__communes t ON t.code_epci = e.code_territoire
        JOIN marts.{quote_ident(name)} c ON c.niveau = 'commune' AND c.code_territoire = t.code_commune{join}
        WHERE e.niveau = 'epci'
        GROUP BY e.code_territoire{group}, e.{quote_ident(m)}
        """
        for m in rules.additive
    ]
    return ("SELECT *, abs(coalesce(epci_value, 0) - coalesce(communes_sum, 0)) "
            "/ greatest(abs(coalesce(epci_value, 0)), 1) AS relative_gap FROM ("
            + " UNION ALL ".join(parts) + ")")


def _reconcile_sql(rules: MartRules) -> str:
    parts = [f"SELECT {r.tolerance} AS tolerance, {quote_literal(r.what)} AS what, label, CAST(mart_value AS DOUBLE) AS mart_value, "
             f"CAST(source_value AS DOUBLE) AS source_value FROM ({r.sql}) AS x(label, mart_value, source_value)"
             for r in rules.reconcile]
    return ("SELECT *, abs(coalesce(mart_value, 0) - coalesce(source_value, 0)) "
            "/ greatest(abs(coalesce(source_value, 0)), 1) AS relative_gap FROM (" + " UNION ALL ".join(parts) + ")")


def checks(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple[Suite, str, list[str]]]:
    """(suite, SQL of the rows it judges, the columns naming a failing row) for each suite of a
    mart: evaluated inside DuckDB (``engine.py``), never materialised."""
    rules = MARTS[name]
    columns = {r[0] for r in con.execute(f"DESCRIBE marts.{quote_ident(name)}").fetchall()}
    found = [(rows_suite(name, rules), f"SELECT * FROM marts.{quote_ident(name)}",
              [c for c in ("niveau", "code_territoire", "annee", "jour", "producteur", "id_compteur", "energie", "secteur")
               if c in columns])]
    if rules.additive:
        found.append((rollup_suite(name), _rollup_sql(name, rules), ["epci", "measure", "epci_value", "communes_sum"]))
    if rules.reconcile:
        found.append((reconcile_suite(name), _reconcile_sql(rules), ["label", "what", "mart_value", "source_value"]))
    return found
