"""Publish the approved indicators (``publication.*``) to a CKAN portal.

For each indicator family of ``catalogue.py``: statistical secrecy applied in the warehouse
(rules from the registry), then CSV, Parquet, Table Schema, a chart and the quality report written
under ``<data>/publish/<family>/``, then one CKAN dataset synchronised (``ckan.py``: changed files
only, switched in one request). A family whose marts are not publishable is skipped with the reason: the
portal keeps its previous version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

import duckdb
import pyarrow as pa

from territoire_hub.lineage import model_docs
from territoire_hub.publish import audit, catalogue, files, metadata, releases
from territoire_hub.publish.ckan import (Client, ResourceFile, ensure_config, ensure_group, ensure_logo,
                                        ensure_organization, sync_dataset)
from territoire_hub.settings import Settings
from territoire_hub.registry import LICENCES, Registry, SecrecyOverride, SecrecyRule
from territoire_hub.warehouse import connect, quote_ident

DOMAIN_GROUPS = {"weather": "Climat", "energy": "Énergie", "lighting": "Éclairage public",
                 "traffic": "Mobilité", "ev_charging": "Mobilité électrique", "territory": "Territoires"}
SECRET_STATUS_DOC = ("secret statistique : vide si diffusable, « primaire » si la cellule ne respecte pas la règle "
                     "de sa source, « secondaire » si elle est masquée pour empêcher de retrouver une cellule "
                     "primaire par différence")
LICENCE_IDS = {"licence-ouverte-2.0": "etalab-2.0", "odbl": "odbl-1.0"}


@dataclass
class FamilyResult:
    family: str
    url: str | None = None
    changed: int = 0
    skipped: str | None = None           # why the family was not published
    secret_cells: int = 0
    files: list[str] = field(default_factory=list)
    revised: bool = False                # the portal's dataset was changed (files or metadata)
    release: str | None = None           # the member dataset of the family's series it went to


def client_from(settings: Settings) -> Client:
    """The portal given by HUB_CKAN_URL / HUB_CKAN_TOKEN, else the local portal's env file."""
    from territoire_hub.publish.portal import Portal

    url, token = settings.ckan_url, settings.ckan_token
    if not (url and token):
        local = Portal.from_settings(settings).secrets()
        url, token = url or local.get("HUB_CKAN_URL"), token or local.get("HUB_CKAN_TOKEN")
    if not (url and token):
        raise RuntimeError("no portal: set HUB_CKAN_URL and HUB_CKAN_TOKEN, or run `hub portal up`")
    return Client(url, token)


def _publishable(con: duckdb.DuckDBPyConnection, mart: str) -> str | None:
    """None when the mart may be published, else the reason."""
    row = con.execute("SELECT publishable, critical_failed FROM quality.mart_status WHERE mart = ?", [mart]).fetchone()
    if row is None:
        return f"marts.{mart} has not been validated (run `hub build`)"
    exists = con.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = 'publication' "
                         "AND table_name = ?", [mart]).fetchone()
    if not row[0] or not exists:
        return f"marts.{mart} is blocked by its quality gate: {'; '.join(row[1][:3])}"
    return None


def strictest(rules: list[SecrecyRule]) -> SecrecyRule:
    """One rule at least as strict as each of ``rules``: most contributors, smallest dominant share."""
    def share(values):
        known = [v for v in values if v is not None]
        return min(known) if known else None

    sectors = sorted({k for r in rules for k in r.by_sector})
    return SecrecyRule(
        contributor=" / ".join(dict.fromkeys(r.contributor for r in rules)),
        min_contributors=max(r.min_contributors for r in rules),
        max_dominant_share=share([r.max_dominant_share for r in rules]),
        by_sector={k: SecrecyOverride(
            min_contributors=max(r.by_sector[k].min_contributors or r.min_contributors if k in r.by_sector
                                 else r.min_contributors for r in rules),
            max_dominant_share=share([(r.by_sector[k].max_dominant_share if k in r.by_sector else None)
                                      or r.max_dominant_share for r in rules]))
            for k in sectors})


def secrecy_origin(registry: Registry, secrecy: catalogue.Secrecy) -> str:
    """Where the rule of a source format comes from: the datasets declaring one, else the legal default."""
    declared = [e.key for e in registry.of_format(secrecy.source) if e.dataset.secrecy is not None]
    return f"declared by {', '.join(declared)}" if declared else "legal default"


def secrecy_rule(registry: Registry, secrecy: catalogue.Secrecy) -> SecrecyRule:
    """The rule for the source format (the strictest of its datasets' registry rules, else the
    legal default), its dominant share scaled to the table's unit (% or ratio)."""
    declared = [e.dataset.secrecy for e in registry.of_format(secrecy.source) if e.dataset.secrecy is not None]
    rule = strictest(declared) if declared else secrecy.default
    scale = secrecy.dominant_share_scale
    if scale == 1:
        return rule
    scaled = lambda share: None if share is None else share * scale  # noqa: E731
    return rule.model_copy(update={
        "max_dominant_share": scaled(rule.max_dominant_share),
        "by_sector": {k: o.model_copy(update={"max_dominant_share": scaled(o.max_dominant_share)})
                      for k, o in rule.by_sector.items()}})


def protected_table(con: duckdb.DuckDBPyConnection, registry: Registry, table: catalogue.Table) -> tuple[pa.Table, int]:
    """The approved mart with statistical secrecy applied (when its source requires it), and the
    columns it copies from a mart under secrecy blanked where that mart's cell is secret."""
    relation = f"publication.{quote_ident(table.mart)}"
    if table.masks:
        return _masked(con, registry, table)
    if table.secrecy is None:
        return con.execute(f"SELECT * FROM {relation}").fetch_arrow_table(), 0
    from territoire_hub.publish.secrecy import apply_secrecy, apply_secrecy_with_total

    s = table.secrecy
    rule = secrecy_rule(registry, s)
    common = dict(group=list(s.group), measures=list(s.measures), contributors=s.contributors, rule=rule,
                  dominant_share=s.dominant_share)
    if s.total is not None:
        protected = apply_secrecy_with_total(con, relation, sector_column=s.sector_column, total=s.total, **common)
    else:
        protected = apply_secrecy(con, relation, sector_column=s.sector_column, **common)
    secret = protected.column("secret_statistique").drop_null()
    return protected, len(secret)


def _masked(con: duckdb.DuckDBPyConnection, registry: Registry, table: catalogue.Table) -> tuple[pa.Table, int]:
    sources = {t.mart: t for f in catalogue.FAMILIES for t in f.tables}
    replace, status, joins = [], [], []
    for i, mask in enumerate(table.masks):
        protected, _ = protected_table(con, registry, sources[mask.mart])
        con.register(f"_mask{i}", protected)
        joins.append(f"LEFT JOIN (SELECT niveau, code_territoire, annee FROM _mask{i} WHERE ({mask.where}) "
                     f"AND secret_statistique IS NOT NULL) s{i} USING (niveau, code_territoire, annee)")
        replace += [f"CASE WHEN s{i}.code_territoire IS NULL THEN {quote_ident(c)} END AS {quote_ident(c)}"
                    for c in mask.columns]
        status.append(f"s{i}.code_territoire IS NOT NULL")
    try:
        data = con.execute(
            f"SELECT m.* REPLACE ({', '.join(replace)}), "
            f"CASE WHEN {' OR '.join(status)} THEN 'secondaire' END AS secret_statistique "
            f"FROM publication.{quote_ident(table.mart)} m {' '.join(joins)} "
            f"ORDER BY m.niveau, m.code_territoire, m.annee").fetch_arrow_table()
    finally:
        for i in range(len(table.masks)):
            con.unregister(f"_mask{i}")
    return data, len(data.column("secret_statistique").drop_null())


def publish_family(con: duckdb.DuckDBPyConnection, settings: Settings, registry: Registry, client: Client,
                   family: catalogue.Family, *, run_id: str, mart_datasets: dict[str, list[str]],
                   echo: Callable[[str], None] = lambda _: None) -> FamilyResult:
    result = FamilyResult(family.name)
    for table in family.tables:
        reason = _publishable(con, table.mart)
        if reason:
            result.skipped = reason
            return result
    folder = settings.data_dir / "publish" / family.name
    folder.mkdir(parents=True, exist_ok=True)
    resources: list[ResourceFile] = []
    years: list[int] = []
    protected: dict[str, pa.Table] = {}
    for table in family.tables:
        data, secret = protected_table(con, registry, table)
        result.secret_cells += secret
        model = model_docs(settings).get(table.mart, {})
        docs = dict(model.get("columns", {}))
        docs["secret_statistique"] = SECRET_STATUS_DOC
        key = [c for c in ("niveau", "code_territoire", "id_compteur", "annee", "jour", "energie", "secteur")
               if c in data.column_names]
        data = files.settled(data, key, model.get("precision", {}))
        protected[table.mart] = data
        base = folder / table.mart
        resources += [
            ResourceFile(f"{table.mart}.csv", files.write_csv(data, base.with_suffix(".csv")), "CSV",
                         f"{table.title} — CSV UTF-8, séparateur virgule, point décimal.",
                         datastore=files.neutralised(data), mimetype=metadata.MEDIA_TYPES["CSV"], view="datatables_view",
                         descriptions={k: v for k, v in docs.items() if k in data.column_names},
                         conforms_to=f"{table.mart}.schema.json"),
            ResourceFile(f"{table.mart}.parquet", files.write_parquet(data, base.with_suffix(".parquet")), "Parquet",
                         f"{table.title} — Parquet (types conservés).", mimetype=metadata.MEDIA_TYPES["Parquet"],
                         conforms_to=f"{table.mart}.schema.json"),
            ResourceFile(f"{table.mart}.schema.json",
                         files.write_schema(files.table_schema(data, docs, key), folder / f"{table.mart}.schema.json"),
                         "JSON", f"Dictionnaire des données de {table.mart} (Frictionless Table Schema).",
                         mimetype=metadata.MEDIA_TYPES["JSON"]),
        ]
        if "annee" in data.column_names:
            years += [y for y in data.column("annee").to_pylist() if y is not None]
    con.register("_chart", protected[family.chart.mart])     # the chart shows what the CSV shows
    try:
        plan = files.chart_plan(con, "_chart", family.chart.measure, family.chart.label, family.chart.unit,
                                family.chart.where)
        chart = files.write_chart(plan, folder / "graphique.png")
    finally:
        con.unregister("_chart")
    resources.append(ResourceFile("graphique.png", chart, "PNG", f"{plan.title} ({plan.unit}).",
                                  mimetype=metadata.MEDIA_TYPES["PNG"],
                                  view="image_view"))
    quality = _quality_report(con, family)
    report = folder / "rapport_qualite.json"
    report.write_text(json.dumps(quality, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    resources.append(ResourceFile("rapport_qualite.json", report, "JSON",
                                  "Dernier rapport qualité des tables (Great Expectations) et signalements.",
                                  mimetype=metadata.MEDIA_TYPES["JSON"]))

    sources = sorted({k for t in family.tables for k in mart_datasets.get(t.mart, [])})
    partners = sorted({registry.dataset(k).partner.id for k in sources if k in registry.datasets})
    licences = {registry.dataset(k).dataset.licence for k in sources if k in registry.datasets}
    flags = sum(len(m["flags"]) for m in quality["tables"])
    organisation = catalogue.organisation_of([registry.partners[p] for p in partners], registry.structure)
    ensure_organization(client, organisation)
    spatial, communes = metadata.spatial_coverage(con, registry)
    fields = {
        "name": family.name, "title": family.title, "notes": family.notes,
        "owner_org": organisation["name"],
        "license_id": LICENCE_IDS["odbl"] if "odbl" in licences else LICENCE_IDS["licence-ouverte-2.0"],
        "tags": [{"name": t} for t in family.tags], "groups": [{"name": _group_name(family.domain)}],
        "theme": metadata.themes(family.domain), "frequency": metadata.frequency(family.frequency),
        "publisher": metadata.publisher(registry.structure), "contact": metadata.contact(registry.structure),
        "qualified_attribution": metadata.attributions([registry.partners[p] for p in partners]),
        "spatial_coverage": spatial, "communes_couvertes": communes,
        "temporal_coverage": [{"start": f"{min(years)}-01-01", "end": f"{max(years)}-12-31"}] if years else [],
        "quality_status": "validé" if not flags else f"validé avec avertissements ({flags})",
        # (no run id: a run that changes nothing must not change the metadata; the audit log has it)
        "provenance": f"modèles dbt {', '.join('marts.' + t.mart for t in family.tables)}; "
                      f"sources {', '.join(sources)}",
    }
    # the family is a dataset series; this publication, a release of it (publish/releases.py)
    series = {k: v for k, v in fields.items() if k not in ("quality_status", "provenance")}
    series.update(type="dataset_series", series_order_field="version", series_order_type="text")
    _archive_pre_series(client, family.name, echo)
    series_counts = sync_dataset(client, series, [])
    series_id = client.call("package_show", id=family.name)["id"]
    digests = {r.name: files.sha256(r.path) for r in resources}
    edition = releases.edition_of(years)
    latest = releases.current(client, family.name, edition)
    if latest is not None and releases.same_files(latest[1], digests):
        release, notes = latest[0], latest[1].get("version_notes") or releases.first_notes(latest[0])
    elif latest is not None:          # the files of a released edition changed: a new version of it
        release = releases.Release(family.name, edition, latest[0].version + 1)
        notes = releases.correction_notes(release, latest[0], latest[1], digests, client.url)
        echo(f"    {family.name}: edition {edition} corrected, published as {release.name}")
    else:
        release = releases.Release(family.name, edition, 1)
        notes = releases.first_notes(release)
    member = dict(fields, name=release.name, in_series=[series_id], version=release.label, version_notes=notes,
                  title=f"{family.title} — édition {release.label}")
    counts = sync_dataset(client, member, resources, on_change=lambda what: echo(f"    {what}"))
    result.changed = counts["changed"] + counts["removed"]
    result.revised = counts["revised"] or series_counts["revised"]
    result.files = [r.name for r in resources]
    result.url = f"{client.url}/dataset/{release.name}"
    result.release = release.name
    return result


def _archive_pre_series(client: Client, name: str, echo: Callable[[str], None]) -> None:
    """A portal published before families were series holds the family as a plain dataset under the
    series' name: it is renamed (``<family>-archive-<date>``), files untouched, so it stays
    downloadable and the series can take the name."""
    found = client.show("package_show", id=name)
    if found is None or found.get("type") == "dataset_series":
        return
    archived = f"{name}-archive-{found['metadata_created'][:10]}"
    client.call("package_patch", id=found["id"], name=archived,
                title=f"{found['title']} (archive, avant les éditions)")
    echo(f"    {name}: the earlier dataset is kept as {archived}")


def _group_name(domain: str) -> str:
    return domain.replace("_", "-")


def _quality_report(con: duckdb.DuckDBPyConnection, family: catalogue.Family) -> dict:
    tables = []
    for table in family.tables:
        mart, publishable, warnings, flags = con.execute(
            "SELECT mart, publishable, warnings, upstream_flags FROM quality.mart_status WHERE mart = ?",
            [table.mart]).fetchone()
        tables.append({"mart": mart, "publishable": publishable, "warnings": list(warnings),
                       "flags": list(warnings) + list(flags)})
    return {"family": family.name, "tables": tables}


def publish_all(settings: Settings, registry: Registry, client: Client, *, run_id: str,
                mart_datasets: dict[str, list[str]], echo: Callable[[str], None] = print,
                families: tuple[catalogue.Family, ...] = catalogue.FAMILIES) -> list[FamilyResult]:
    ensure_config(client, metadata.site_options(registry.structure))
    if registry.structure.logo:
        ensure_logo(client, registry.structure.logo)
    ensure_organization(client, catalogue.structure_organisation(registry.structure))
    for family in families:
        ensure_group(client, _group_name(family.domain), DOMAIN_GROUPS[family.domain])

    results: list[FamilyResult] = []
    con = connect(settings.warehouse, read_only=True)   # others may read the warehouse meanwhile
    try:
        for family in families:
            result = publish_family(con, settings, registry, client, family, run_id=run_id,
                                    mart_datasets=mart_datasets, echo=echo)
            state = f"skipped: {result.skipped}" if result.skipped else \
                f"{result.changed} resources updated, {result.secret_cells} cells under statistical secrecy"
            echo(f"  {family.name:<32} {state}")
            results.append(result)
    finally:
        con.close()
        published = [r for r in results if r.url and r.revised]
        if published:       # what changed on the portal is recorded, even when a later family failed
            con = connect(settings.warehouse)
            try:
                for r in published:
                    audit.record(con, "publication", "public", r.url, run_id,
                                 {"resources_changed": r.changed, "secret_cells": r.secret_cells, "files": r.files})
            finally:
                con.close()
    return results


__all__ = ["publish_all", "client_from", "FamilyResult", "LICENCES"]
