"""Secret statistique primaire et secondaire on tiny hand-made marts in an in-memory DuckDB."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from territoire_hub.publish.secrecy import apply_secrecy
from territoire_hub.registry import SecrecyRule

RULE = SecrecyRule(contributor="point de livraison", min_contributors=3, max_dominant_share=0.85,
                   by_sector={"RESIDENTIEL": {"min_contributors": 10}})

# région 76 > départements 34, 30 > EPCI > communes
HIERARCHY = {
    "200000001": ("34", ["34001", "34002", "34003"]),
    "200000002": ("34", ["34004", "34005"]),
    "200000004": ("34", ["34010", "34011"]),
    "200000003": ("30", ["30001", "30002"]),
}
PARENT = {c: e for e, (_, communes) in HIERARCHY.items() for c in communes}
PARENT |= {e: d for e, (d, _) in HIERARCHY.items()} | {"34": "76", "30": "76"}
LEVEL = {"commune": "epci", "epci": "departement", "departement": "region"}


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("create schema intermediate")
    con.execute("create table intermediate.int_territory__communes (code_commune varchar, "
                "code_epci varchar, code_departement varchar, code_region varchar)")
    con.executemany("insert into intermediate.int_territory__communes values (?, ?, ?, '76')",
                    [(c, e, d) for e, (d, communes) in HIERARCHY.items() for c in communes])
    yield con
    con.close()


def mart(con, rows):
    """rows: (niveau, code, annee, secteur, conso_mwh, nb_sites, part_dominante)."""
    con.execute("create or replace table mart (niveau varchar, code_territoire varchar, nom varchar, "
                "annee integer, secteur varchar, conso_mwh double, nb_sites bigint, part_dominante double)")
    con.executemany("insert into mart values (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(n, c, f"T{c}", y, s, v, k, d) for n, c, y, s, v, k, d in rows])


def run(con, rows, **kw):
    mart(con, rows)
    options = dict(group=["annee", "secteur"], measures=["conso_mwh"], contributors="nb_sites",
                   rule=RULE, dominant_share="part_dominante") | kw
    return apply_secrecy(con, "mart", **options)


def statuses(table):
    return {(r["code_territoire"], r["annee"], r["secteur"]): r["secret_statistique"]
            for r in table.to_pylist()}


def simple(table):
    """code -> status, for single-group marts."""
    return {r["code_territoire"]: r["secret_statistique"] for r in table.to_pylist()}


def disclosed(table):
    """Suppressed cells that the published values determine exactly, per group: each relation
    parent = Σ children present is a linear equation over the suppressed cells; a cell is
    determined iff its unit vector lies in the row space of the equations."""
    found = []
    rows = table.to_pylist()
    for key in {(r["annee"], r["secteur"]) for r in rows}:
        cells = {(r["niveau"], r["code_territoire"]): r for r in rows if (r["annee"], r["secteur"]) == key}
        unknown = [k for k, r in cells.items() if r["secret_statistique"]]
        index = {k: i for i, k in enumerate(unknown)}
        equations = []
        for parent in {(LEVEL[n], PARENT[c]) for n, c in cells if n in LEVEL}:
            children = [k for k in cells if k[0] in LEVEL and (LEVEL[k[0]], PARENT[k[1]]) == parent]
            if parent not in cells:
                continue
            row = np.zeros(len(unknown))
            if parent in index:
                row[index[parent]] = 1
            for child in children:
                if child in index:
                    row[index[child]] = -1
            equations.append(row)
        if not equations or not unknown:
            continue
        a = np.array(equations)
        rank = np.linalg.matrix_rank(a)
        found += [(key, k) for k, i in index.items()
                  if np.linalg.matrix_rank(np.vstack([a, np.eye(len(unknown))[i]])) == rank]
    return found


def commune(code, nb, share=None, conso=None, year=2023, sector="TOUS"):
    return ("commune", code, year, sector, 10.0 * nb if conso is None else conso, nb, share)


def test_contributors_just_below_and_at_the_threshold(con):
    out = run(con, [commune("34001", 2), commune("34002", 3),
                    ("commune", "34003", 2023, "TOUS", 30.0, None, None),  # count unknown
                    ("commune", "34004", 2023, "TOUS", None, 0, None)])     # nothing to hide
    assert simple(out) == {"34001": "primaire", "34002": None, "34003": "primaire", "34004": None}
    assert out.column("conso_mwh").to_pylist() == [None, 30.0, None, None]
    assert out.column("nb_sites").to_pylist() == [None, 3, None, 0]


def test_dominant_contributor(con):
    rows = [commune("34001", 50, 0.9), commune("34002", 50, 0.85), commune("34003", 50, None)]
    out = run(con, rows)
    assert simple(out) == {"34001": "primaire", "34002": None, "34003": None}
    assert out.column("part_dominante").to_pylist() == [None, 0.85, None]
    # without the column, or without a maximum in the rule, the share is not checked
    assert set(simple(run(con, rows, dominant_share=None)).values()) == {None}
    no_max = SecrecyRule(contributor="site", min_contributors=3)
    assert set(simple(run(con, rows, rule=no_max)).values()) == {None}


def test_sector_override(con):
    rows = [commune("34001", 9, sector="RESIDENTIEL"), commune("34002", 10, sector="RESIDENTIEL"),
            commune("34001", 3, sector="TERTIAIRE"), commune("34002", 2, sector="TERTIAIRE")]
    out = run(con, rows, sector_column="secteur")
    assert statuses(out) == {
        ("34001", 2023, "RESIDENTIEL"): "primaire", ("34002", 2023, "RESIDENTIEL"): None,
        ("34001", 2023, "TERTIAIRE"): None, ("34002", 2023, "TERTIAIRE"): "primaire"}
    # without sector_column the base rule (3) applies to every row
    assert statuses(run(con, rows))[("34001", 2023, "RESIDENTIEL")] is None


def test_epci_roll_up_suppresses_one_more_commune(con):
    epci = ("epci", "200000001", 2023, "TOUS", 720.0, 72, 0.3)
    out = run(con, [commune("34001", 2), commune("34002", 50), commune("34003", 20), epci])
    assert simple(out) == {"34001": "primaire", "34002": None, "34003": "secondaire", "200000001": None}
    assert out.column("conso_mwh").to_pylist() == [None, 500.0, None, 720.0]
    # EPCI minus the published commune only gives the sum of the two suppressed ones
    assert 720.0 - 500.0 == 20.0 + 200.0
    assert disclosed(out) == []
    # the check itself: without the secondary cell, 34001 = 720 - 500 - 200
    leaky = out.set_column(out.num_columns - 1, "secret_statistique",
                           pa.array(["primaire", None, None, None], pa.string()))
    assert disclosed(leaky) == [((2023, "TOUS"), ("commune", "34001"))]


def test_roll_up_tie_takes_the_smallest_code_and_skips_empty_rows(con):
    empty = ("commune", "34002", 2023, "TOUS", None, None, None)
    out = run(con, [commune("34001", 2), empty, commune("34003", 20),
                    ("epci", "200000001", 2023, "TOUS", 220.0, 22, 0.3)])
    assert simple(out) == {"34001": "primaire", "34002": None, "34003": "secondaire", "200000001": None}
    out = run(con, [commune("34003", 20), commune("34002", 20), commune("34001", 2),
                    ("epci", "200000001", 2023, "TOUS", 420.0, 42, 0.3)])
    assert simple(out) == {"34003": None, "34002": "secondaire", "34001": "primaire", "200000001": None}


def full_region(year=2023):
    """A whole consistent mart; département 30 is dominated by one delivery point of 30001."""
    return [
        commune("30001", 4, 0.95, 950.0, year), commune("30002", 40, 0.1, 50.0, year),
        ("epci", "200000003", year, "TOUS", 1000.0, 44, 0.95),
        ("departement", "30", year, "TOUS", 1000.0, 44, 0.95),
        commune("34001", 10, 0.1, None, year), commune("34002", 20, 0.1, None, year),
        commune("34003", 30, 0.1, None, year), ("epci", "200000001", year, "TOUS", 600.0, 60, 0.1),
        commune("34004", 12, 0.1, None, year), commune("34005", 18, 0.1, None, year),
        ("epci", "200000002", year, "TOUS", 300.0, 30, 0.1),
        commune("34010", 4, 0.3, None, year), commune("34011", 6, 0.3, None, year),
        ("epci", "200000004", year, "TOUS", 100.0, 10, 0.3),
        ("departement", "34", year, "TOUS", 1000.0, 100, 0.1),
        ("region", "76", year, "TOUS", 2000.0, 144, 0.475),
    ]


def test_cascade_across_levels(con):
    out = run(con, full_region())
    suppressed = {c: s for c, s in simple(out).items() if s}
    assert suppressed == {
        "30001": "primaire", "200000003": "primaire", "30": "primaire",   # dominated
        "34": "secondaire",          # région - 34 would give 30
        "200000004": "secondaire",   # 34 = sum of its EPCIs otherwise (fewest delivery points)
        "34010": "secondaire",       # 200000004 = sum of its communes otherwise
    }
    assert disclosed(out) == []


def test_parent_with_a_single_child_is_suppressed_and_cascades_up(con):
    rows = [r for r in full_region() if r[1] not in ("30001", "30002", "200000003", "30", "76")]
    rows = [r for r in rows if r[1] not in ("34010", "34011", "200000004")] + [
        commune("34010", 5, 0.9, 100.0),                          # dominated: primaire
        ("commune", "34011", 2023, "TOUS", None, None, None),       # nothing delivered
        ("epci", "200000004", 2023, "TOUS", 100.0, 5, None),        # passes alone, but = 34010
    ]
    out = run(con, rows)
    suppressed = {c: s for c, s in simple(out).items() if s}
    assert suppressed == {
        "34010": "primaire",
        "200000004": "secondaire",   # its only (non-empty) commune is secret
        "200000002": "secondaire",   # 34 - other EPCIs would give 200000004
        "34004": "secondaire",       # 200000002 = sum of its communes otherwise
    }
    assert disclosed(out) == []


def test_groups_are_independent(con):
    rows = [commune("34001", 2, year=2023), commune("34002", 50, year=2023),
            commune("34003", 20, year=2023), ("epci", "200000001", 2023, "TOUS", 720.0, 72, 0.3),
            commune("34001", 5, year=2024), commune("34002", 50, year=2024),
            commune("34003", 20, year=2024), ("epci", "200000001", 2024, "TOUS", 750.0, 75, 0.3)]
    assert {k: v for k, v in statuses(run(con, rows)).items() if v} == {
        ("34001", 2023, "TOUS"): "primaire", ("34003", 2023, "TOUS"): "secondaire"}


def test_rows_kept_and_measures_null_exactly_where_secret(con):
    rows = full_region(2023) + full_region(2024) + [("commune", "34011", 2025, "TOUS", None, 0, None)]
    out = run(con, rows)
    source = con.sql("select * from mart").fetch_arrow_table()
    assert out.num_rows == source.num_rows == len(rows)
    assert out.schema == source.schema.append(pa.field("secret_statistique", pa.string()))
    for col in ("niveau", "code_territoire", "nom", "annee", "secteur"):
        assert out.column(col) == source.column(col)
    for got, src in zip(out.to_pylist(), source.to_pylist()):
        hidden = got["secret_statistique"] is not None
        for col in ("conso_mwh", "nb_sites", "part_dominante"):
            assert got[col] == (None if hidden else src[col])
    assert out.column("secret_statistique").to_pylist().count("primaire") == 6
    assert out.column("secret_statistique").to_pylist().count("secondaire") == 6
    assert con.sql("select count(*) from duckdb_tables() where temporary").fetchone()[0] == 0


def test_subquery_source_and_bad_columns(con):
    mart(con, [commune("34001", 2), commune("34002", 3)])
    out = apply_secrecy(con, "(select * from mart where code_territoire = '34001')", group=[],
                        measures=["conso_mwh"], contributors="nb_sites", rule=RULE)
    assert out.to_pylist()[0]["secret_statistique"] == "primaire"
    with pytest.raises(ValueError, match="points"):
        apply_secrecy(con, "mart", group=[], measures=["conso_mwh"], contributors="points", rule=RULE)
    with pytest.raises(ValueError, match="secret_statistique"):
        apply_secrecy(con, "(select *, 'x' as secret_statistique from mart)", group=[],
                      measures=["conso_mwh"], contributors="nb_sites", rule=RULE)


def test_a_sector_cannot_be_recovered_as_the_total_minus_the_other_sectors():
    """Within a territory the sectors add up to the 'TOUS' row: the only secret sector forces the
    total to be hidden too, and that hidden total is itself protected in the territorial roll-up."""
    from territoire_hub.publish.secrecy import apply_secrecy_with_total

    con = duckdb.connect()
    con.execute("CREATE SCHEMA intermediate")
    con.execute("CREATE TABLE intermediate.int_territory__communes AS SELECT * FROM (VALUES "
                "('c1', 'e1', 'd1', 'r1'), ('c2', 'e1', 'd1', 'r1'), ('c3', 'e1', 'd1', 'r1')) "
                "t(code_commune, code_epci, code_departement, code_region)")
    rows = []
    for niveau, code, scale in [("commune", "c1", 1), ("commune", "c2", 2), ("commune", "c3", 3), ("epci", "e1", 6)]:
        residential, industry = 100.0 * scale, 50.0 * scale
        n_ind = 2 if code == "c1" else 5 * scale            # c1's industry: 2 points < 3 → primaire
        rows += [(niveau, code, 2024, "RESIDENTIEL", residential, 20 * scale),
                 (niveau, code, 2024, "INDUSTRIE", industry, n_ind),
                 (niveau, code, 2024, "TOUS", residential + industry, 20 * scale + n_ind)]
    con.execute("CREATE TABLE mart (niveau VARCHAR, code_territoire VARCHAR, annee INTEGER, secteur VARCHAR, "
                "conso DOUBLE, points INTEGER)")
    con.executemany("INSERT INTO mart VALUES (?, ?, ?, ?, ?, ?)", rows)
    rule = SecrecyRule(contributor="point", min_contributors=3)
    out = apply_secrecy_with_total(con, "mart", sector_column="secteur", total="TOUS", group=["annee", "secteur"],
                                   measures=["conso"], contributors="points", rule=rule)
    status = {(r["code_territoire"], r["secteur"]): r["secret_statistique"] for r in out.to_pylist()}
    assert status[("c1", "INDUSTRIE")] == "primaire"
    # c1's total would give INDUSTRIE = TOUS − RESIDENTIEL: hidden too
    assert status[("c1", "TOUS")] == "secondaire"
    # and c1's total would come back as e1's total minus c2's and c3's: one more commune total hidden
    assert sum(status[(c, "TOUS")] is not None for c in ("c1", "c2", "c3")) == 2
    # whose own sectors no longer add up to it: one of its sectors is hidden as well
    other = next(c for c in ("c2", "c3") if status[(c, "TOUS")] is not None)
    assert sum(status[(other, s)] is not None for s in ("RESIDENTIEL", "INDUSTRIE")) >= 1
    # every territory × sector relation now holds 0 or at least 2 secret cells
    for code in ("c1", "c2", "c3", "e1"):
        assert sum(status[(code, s)] is not None for s in ("RESIDENTIEL", "INDUSTRIE", "TOUS")) != 1
    for sector in ("RESIDENTIEL", "INDUSTRIE", "TOUS"):
        assert sum(status[(c, sector)] is not None for c in ("c1", "c2", "c3", "e1")) != 1
