"""Secret statistique des marts avant publication.

Un mart (une ligne par ``niveau`` × ``code_territoire`` × colonnes de groupe) est publié avec une
colonne finale ``secret_statistique`` : NULL (publiable), ``'primaire'`` ou ``'secondaire'``. Les
mesures d'une ligne secrétisée sont mises à NULL, ainsi que son nombre de contributeurs et sa part
du contributeur dominant (ils renseigneraient sur la valeur). Aucune ligne n'est supprimée.

Secret primaire — la cellule ne respecte pas la règle du registre (``SecrecyRule``) :
nombre de contributeurs < ``min_contributors`` (un nombre inconnu, NULL, compte pour 0), ou part
du contributeur dominant (0–1) > ``max_dominant_share`` quand la règle et la colonne existent (une
part inconnue ne déclenche rien). ``by_sector`` remplace ces seuils pour les lignes du secteur.

Secret secondaire — empêcher de retrouver une cellule secrète par différence. Les niveaux sont
emboîtés : EPCI = somme de ses communes, département = somme de ses EPCI (un EPCI appartient au
département de ses communes), région = somme de ses départements. Si un EPCI publié n'a qu'une
commune secrète, « EPCI moins les autres communes » la révèle ; de même, un EPCI secrétisé dont
toutes les communes sont publiées se recalcule en les additionnant (secret inutile). D'où la
règle, dans chaque groupe (tableau indépendant) et pour chaque relation parent = Σ enfants
présents dans la table : le nombre de cellules secrètes parmi le parent et ses enfants ne doit
jamais valoir exactement 1. Sinon on secrétise en « secondaire » l'enfant publié ayant le moins de
contributeurs (à égalité, le plus petit code) ; s'il n'y en a pas (parent à un seul enfant, parent
= enfant), c'est le parent. On recommence jusqu'à stabilité : une secrétisation à un niveau peut
en exiger une au niveau supérieur (parent secrétisé) ou inférieur (enfant secrétisé, à protéger
par une de ses communes). Sur une hiérarchie en arbre, chaque inconnue se trouve alors dans des
équations qui en comptent au moins deux : aucune n'est déterminée par le système linéaire.

Limites :
* ``apply_secrecy`` ne protège que les relations territoriales, ses groupes étant supposés
  indépendants ; une ligne « tous secteurs » égale à la somme des secteurs est traitée par
  ``apply_secrecy_with_total`` (en bas de ce module) ; un total annuel d'une table journalière
  ne l'est pas ;
* les lignes vides (toutes mesures NULL, contributeurs NULL/0) ne sont ni secrétisées ni
  choisies, et comptent comme connues dans les sommes ; un parent ou des enfants absents de la
  table ne forment pas de relation ;
* un EPCI interdépartemental est rattaché à chacun de ses départements (prudent), mais la
  relation exacte département = EPCI entiers + communes des EPCI partagés n'est pas vérifiée ;
* les encadrements (valeurs positives, secret sur une paire de cellules petites) et le choix
  heuristique de la cellule complémentaire ne garantissent ni un secret minimal ni une
  protection contre l'estimation par intervalles.
"""

from __future__ import annotations

import uuid

import duckdb
import numpy as np
import pyarrow as pa

from territoire_hub.registry import SecrecyRule

STATUS = "secret_statistique"
_LEVELS = [("epci", "code_epci", "commune", "code_commune"),
           ("departement", "code_departement", "epci", "code_epci"),
           ("region", "code_region", "departement", "code_departement")]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def apply_secrecy(
    con: duckdb.DuckDBPyConnection,
    source: str,
    *,
    group: list[str],
    measures: list[str],
    contributors: str,
    rule: SecrecyRule,
    dominant_share: str | None = None,
    sector_column: str | None = None,
    hierarchy: str = "intermediate.int_territory__communes",
) -> pa.Table:
    """Every row of ``source`` (same columns, same order) plus ``secret_statistique``; the
    measures, contributors and dominant share of suppressed rows are NULL. See the module doc."""
    data = con.sql(f"select * from {source}").fetch_arrow_table()
    columns = data.column_names
    needed = ["niveau", "code_territoire", *group, *measures, contributors]
    needed += [c for c in (dominant_share, sector_column) if c is not None]
    missing = [c for c in needed if c not in columns]
    if missing:
        raise ValueError(f"apply_secrecy: columns {missing} not in {source}")
    if STATUS in columns:
        raise ValueError(f"apply_secrecy: {source} already has a {STATUS!r} column")
    if not measures:
        raise ValueError("apply_secrecy: at least one measure is needed")

    p = f"_secrecy_{uuid.uuid4().hex[:12]}"
    src, cells, edges, rules, picks = (f"{p}_{n}" for n in ("src", "cells", "edges", "rules", "picks"))
    con.register(src, data.append_column("__rid", pa.array(np.arange(len(data), dtype=np.int64))))
    try:
        # thresholds, per sector when the rule says so
        con.execute(f"create temp table {rules} (sector varchar, min_c bigint, max_d double)")
        overrides = [(s, o.min_contributors, o.max_dominant_share) for s, o in rule.by_sector.items()]
        if overrides and sector_column is not None:
            con.executemany(f"insert into {rules} values (?, ?, ?)", overrides)
        sector = f"cast(s.{_q(sector_column)} as varchar)" if sector_column else "null"
        n = f"coalesce(s.{_q(contributors)}, 0)"
        empty = " and ".join(f"s.{_q(m)} is null" for m in measures) + f" and {n} = 0"
        max_d = ("null" if rule.max_dominant_share is None
                 else f"cast({float(rule.max_dominant_share)!r} as double)")
        too_few = f"{n} < coalesce(r.min_c, {int(rule.min_contributors)})"
        dominated = (f" or s.{_q(dominant_share)} > coalesce(r.max_d, {max_d})"
                     if dominant_share else "")
        gid = (f"dense_rank() over (order by {', '.join('s.' + _q(g) for g in group)})"
               if group else "1")
        con.execute(f"""
            create temp table {cells} as
            select s.__rid as rid, {gid} as gid, cast(s.niveau as varchar) as niveau,
                   cast(s.code_territoire as varchar) as code, {n} as contrib,
                   ({empty}) as empty,
                   cast(case when not ({empty}) and ({too_few}{dominated}) then 'primaire' end
                        as varchar) as status
            from {src} as s left join {rules} as r on r.sector = {sector}
        """)

        # parent -> child edges of the territory tree
        con.execute(f"create temp table {edges} as " + " union ".join(
            f"select distinct '{pn}' as pn, cast({pc} as varchar) as pc, '{cn}' as cn, "
            f"cast({cc} as varchar) as cc from {hierarchy} where {pc} is not null and {cc} is not null"
            for pn, pc, cn, cc in _LEVELS))

        # fixpoint: no relation parent = Σ children may hold exactly one suppressed cell
        while True:
            con.execute(f"""
                create or replace temp table {picks} as
                with links as (
                    select p.rid as prid, p.status as pstatus, c.rid, c.code, c.contrib, c.status
                    from {edges} as e
                    join {cells} as p on p.niveau = e.pn and p.code = e.pc and not p.empty
                    join {cells} as c on c.niveau = e.cn and c.code = e.cc and c.gid = p.gid
                                     and not c.empty
                ),
                violated as (
                    select prid, any_value(pstatus) as pstatus from links group by prid
                    having count(status) + (any_value(pstatus) is not null)::int = 1
                ),
                candidates as (
                    select l.prid, l.rid,
                           row_number() over (partition by l.prid order by l.contrib, l.code) as k
                    from links as l join violated as v using (prid)
                    where l.status is null
                )
                select rid from candidates where k = 1
                union
                select prid from violated as v where pstatus is null
                    and not exists (select 1 from candidates as c where c.prid = v.prid)
            """)
            if con.sql(f"select count(*) from {picks}").fetchone()[0] == 0:
                break
            con.execute(f"update {cells} set status = 'secondaire' "
                        f"where rid in (select rid from {picks})")

        hidden = {*measures, contributors, *([dominant_share] if dominant_share else [])}
        select = ", ".join(
            f"case when c.status is null then s.{_q(col)} end as {_q(col)}" if col in hidden
            else f"s.{_q(col)}" for col in columns)
        return con.sql(f"""
            select {select}, c.status as {STATUS}
            from {src} as s join {cells} as c on c.rid = s.__rid order by s.__rid
        """).fetch_arrow_table()
    finally:
        con.unregister(src)
        for table in (cells, edges, rules, picks):
            con.execute(f"drop table if exists {table}")


def apply_secrecy_with_total(
    con: duckdb.DuckDBPyConnection,
    source: str,
    *,
    sector_column: str,
    total: str,
    group: list[str],
    measures: list[str],
    contributors: str,
    rule: SecrecyRule,
    dominant_share: str | None = None,
    hierarchy: str = "intermediate.int_territory__communes",
) -> pa.Table:
    """:func:`apply_secrecy` for a mart whose sectors add up to a ``total`` row (``secteur = 'TOUS'``).

    The sector is then a second hierarchy, inside each territory: « total moins les autres
    secteurs » reveals a sector that is the only secret one, and a secret total whose sectors are
    all published is their sum. Until no such case is left, the cells that must also be hidden
    are forced (their contributor count read as 0) and the territorial rules run again, so each
    forced cell is itself protected against the territorial roll-ups. Forced cells are
    ``secondaire``.
    """
    others = [g for g in group if g != sector_column]
    keys = ["niveau", "code_territoire", *others, sector_column]
    forced = pa.table({k: pa.array([], pa.string()) for k in keys})
    key_list = ", ".join(_q(k) for k in keys)
    part_keys = ", ".join(_q(k) for k in ["niveau", "code_territoire", *others])
    empty = " and ".join(f"{_q(m)} is null" for m in measures)
    for _ in range(50):
        con.register("_forced", forced)
        src = (f"(select s.* replace (case when f.niveau is not null then 0 else s.{_q(contributors)} end "
               f"as {_q(contributors)}) from {source} s left join _forced f using ({key_list}))")
        result = apply_secrecy(con, src, group=group, measures=measures, contributors=contributors, rule=rule,
                               dominant_share=dominant_share, sector_column=sector_column, hierarchy=hierarchy)
        con.register("_result", result)
        total_literal = "'" + total.replace("'", "''") + "'"
        new = con.execute(f"""
            with cells as (
                select *, cast({_q(sector_column)} as varchar) = {total_literal} as is_total,
                       {STATUS} is not null as secret, not ({empty}) as has_value
                from _result
            ), per_territory as (
                select {part_keys},
                       count(*) filter (not is_total and secret) as secret_parts,
                       bool_or(is_total and secret) as total_secret,
                       bool_or(is_total and has_value) as total_present,
                       arg_min(cast({_q(sector_column)} as varchar), {_q(contributors)})
                           filter (not is_total and not secret and has_value) as smallest_open_part
                from cells group by {part_keys}
            )
            select {part_keys}, {total_literal} as {_q(sector_column)} from per_territory
            where total_present and not total_secret and secret_parts = 1
            union
            select {part_keys}, smallest_open_part from per_territory
            where total_secret and secret_parts = 0 and smallest_open_part is not null
            """).fetch_arrow_table()
        con.unregister("_result")
        con.unregister("_forced")
        new = new.cast(pa.schema([(k, pa.string()) for k in keys]))
        if new.num_rows == 0:
            break
        forced = pa.concat_tables([forced, new])
    # forced cells are complementary suppressions: label them so
    con.register("_forced", forced)
    try:
        return _label(con, result, keys)
    finally:
        con.unregister("_forced")


def _label(con: duckdb.DuckDBPyConnection, result: pa.Table, keys: list[str]) -> pa.Table:
    """``secondaire`` on the forced cells (registered as ``_forced``), row order kept."""
    ordered = result.append_column("__order", pa.array(np.arange(len(result), dtype=np.int64)))
    con.register("_ordered", ordered)
    try:
        columns = ", ".join(f"r.{_q(c)}" for c in result.column_names if c != STATUS)
        match = " and ".join(f"cast(r.{_q(k)} as varchar) = f.{_q(k)}" for k in keys)
        return con.execute(
            f"select {columns}, case when exists (select 1 from _forced f where {match}) then 'secondaire' "
            f"else r.{STATUS} end as {STATUS} from _ordered r order by r.__order").fetch_arrow_table()
    finally:
        con.unregister("_ordered")
