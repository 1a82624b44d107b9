"""The ``hub`` command line: registry, demo deliveries, ingestion, status.

Commands import the heavy parts they run (Great Expectations, dbt, Dagster, CKAN's client) when
they run: ``hub status`` or ``hub registry`` answer without paying seconds of imports."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click
import duckdb

from territoire_hub import cog
from territoire_hub.alerts import recent_alerts
from territoire_hub.expectations.reports import latest_run, write_reports
from territoire_hub.expectations.results import latest_gate_run, new_run_id
from territoire_hub.expectations.runtime import QualityContext
from territoire_hub.formats import markdown_table
from territoire_hub.memory import one_heap
from territoire_hub.names import printable
from territoire_hub.orchestration.dbt import start_dbt_server
from territoire_hub.orchestration.onboarding import describe_detection, detect_file, scaffold
from territoire_hub.orchestration.status import collect_status, render_status
from territoire_hub.permissions import private_process
from territoire_hub.registry import Registry, RegistryError
from territoire_hub.registry_tables import write_registry
from territoire_hub.settings import Settings
from territoire_hub.sources.ingest import unread_inbox_entries
from territoire_hub.territory import TerritoryError, resolve as resolve_territory
from territoire_hub.warehouse import connect


def _registry(settings: Settings) -> Registry:
    try:
        return settings.load_registry()
    except RegistryError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """territoire-hub: pool partner data, compute shared indicators, publish them."""
    private_process()   # partners' rows: nothing the hub writes is readable by another account
    ctx.obj = Settings.from_env()


@main.group("registry", invoke_without_command=True)
@click.pass_context
def registry_cmd(ctx: click.Context) -> None:
    """Validate the registry (territory codes against the COG) and list partners and datasets."""
    if ctx.invoked_subcommand is not None:
        return
    settings = ctx.obj
    registry = _registry(settings)
    click.echo(_territory_line(registry))
    for partner in registry.partners.values():
        click.echo(f"- {partner.id}: {partner.name} [{partner.kind.value}]")
        for entry in registry.of_partner(partner.id):
            d = entry.dataset
            click.echo(f"    {entry.key:<44} {entry.domain:<12} {d.cadence.value:<9} {d.transport.type:<6} "
                       f"{d.licence:<20} {d.sensitivity.value:<11} format {entry.spec.id}")


@registry_cmd.command("scaffold")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--partner", "partner_id", default="nouveau-partenaire", help="the new partner's id")
@click.pass_obj
def registry_scaffold(settings: Settings, files: tuple[Path, ...], partner_id: str) -> None:
    """Propose the registry entry (YAML) of a partner delivering these sample FILES."""
    try:
        click.echo(scaffold(list(files), _registry(settings).formats, partner_id), nl=False)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
def formats() -> None:
    """The partner file formats the hub reads (packaged, and HUB_FORMATS)."""


@formats.command("list")
@click.option("--markdown", is_flag=True, help="the README's table (family, producer, format id, example file name)")
@click.pass_obj
def formats_list(settings: Settings, markdown: bool) -> None:
    """Every known format: id, family, example file name."""
    known = _registry(settings).formats
    if markdown:
        click.echo(markdown_table(known), nl=False)
        return
    for spec in known.values():
        click.echo(f"{spec.id:<32} {spec.family:<18} {spec.example_filename}")


@formats.command("detect")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def formats_detect(settings: Settings, files: tuple[Path, ...]) -> None:
    """Name the format of each FILE, or the closest format and exactly what differs (exit 1 when a
    file matches none)."""
    known = _registry(settings).formats
    unmatched = 0
    for path in files:
        found = detect_file(path, known)
        unmatched += not found.matches
        click.echo(describe_detection(path, found))
    if unmatched:
        raise SystemExit(1)


@main.command()
@click.argument("delivery_ids", nargs=-1)
@click.option("--dataset", help="every delivery of this dataset (<partner>__<dataset>)")
@click.option("--status", type=click.Choice(["quarantined", "partial", "loaded"]), help="only deliveries of this status")
@click.pass_obj
def replay(settings: Settings, delivery_ids: tuple[str, ...], dataset: str | None, status: str | None) -> None:
    """Process landed deliveries again after a registry or format change (the earlier outcome is
    kept in landing.processing_history). Then `hub build` to update the marts."""
    from territoire_hub.orchestration.ingestion import replay as replay_deliveries  # imports GX
    if not (delivery_ids or dataset or status):
        raise click.ClickException("name deliveries, or --dataset and/or --status")
    registry = _registry(settings)
    if not settings.warehouse.exists():
        raise click.ClickException(f"no warehouse at {settings.warehouse}: nothing was landed yet")
    run_id = new_run_id()
    con = connect(settings.warehouse)
    try:
        done = replay_deliveries(con, settings, registry, delivery_ids=list(delivery_ids), dataset=dataset,
                                 status=status, run_id=run_id)
        write_reports(con, settings, run_id)
    except (KeyError, ValueError) as exc:
        raise click.ClickException(str(exc).strip('"')) from None
    finally:
        con.close()
    for delivery_id, before, after in done:
        click.echo(f"{delivery_id}: {before} -> {after}")
    click.echo(f"Replayed {len(done)} deliveries: {sum(a == 'loaded' for _, _, a in done)} loaded, "
               f"{sum(a == 'partial' for _, _, a in done)} partial, "
               f"{sum(a == 'quarantined' for _, _, a in done)} quarantined (run {run_id}).")
    QualityContext.for_settings(settings).build_docs()
    _quality_line(settings, run_id)


def _territory_line(registry: Registry) -> str:
    """The territory resolved against the COG, or a ClickException naming the unknown codes."""
    territory = registry.territory
    con = duckdb.connect()
    try:
        cog.load_reference(con)
        write_registry(con, registry)
        resolution = resolve_territory(con, territory)
    except TerritoryError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        con.close()
    declared = ", ".join(f"{level} {code}" for level, code in territory.codes())
    lines = [f"Territory: {territory.name} — {resolution.communes} communes, {resolution.epcis} EPCI, "
             f"{resolution.departements} département(s), {resolution.regions} région(s), population "
             f"{resolution.population:,} (COG {territory.cog_vintage}); declared by {declared}"]
    lines += [f"  note: commune {code} is a {kind.replace('_', ' ')}: counted as {target}"
              for code, target, kind in resolution.mapped]
    return "\n".join(lines)


def _pipeline(settings: Settings, registry: Registry, command: str, run_id: str | None = None):
    """The runs of ``command``; `hub ingest` loads the graph's raw half only (no dbt: its memory is
    bounded), the others the whole map. Imported here: Dagster and dbt take seconds to import."""
    from territoire_hub.orchestration.runs import Pipeline

    if command == "ingest":
        from territoire_hub.orchestration.raw_definitions import raw_definitions as definitions
    else:
        from territoire_hub.orchestration.definitions import defs as definitions
    return Pipeline(settings, registry, command, definitions(), run_id)


def _failed(stage) -> None:
    """A stage's failed steps as a clear error (the Dagster UI has their events)."""
    if not stage.success:
        lines = "\n".join(f"  {printable(f)[:2000]}" for f in stage.failures)
        raise click.ClickException(f"{stage.name} failed (Dagster runs {', '.join(stage.run_ids)}):\n{lines}")


def _ingest(settings: Settings, registry: Registry, pipeline, keys: list[str] | None):
    """The raw assets of ``keys`` (every dataset by default), every period available."""
    click.echo("Ingesting the partners' deliveries…")
    stage = pipeline.ingest(keys)
    for error in stage.transport_errors():
        click.echo(f"transport error {error}", err=True)
    unread = unread_inbox_entries(settings, registry)
    if unread:
        click.echo(f"{len(unread)} inbox entries left in place (not read):", err=True)
        for item in unread:
            click.echo(f"  {item.line()}", err=True)
    t = stage.delivery_totals()
    click.echo(f"Ingestion: {t.get('deliveries_landed', 0)} new deliveries landed, {t.get('deliveries_loaded', 0)} loaded "
               f"({t.get('rows_loaded', 0):,} rows), {t.get('deliveries_quarantined', 0)} quarantined, "
               f"{t.get('deliveries_already_landed', 0)} already landed (no-op) — {stage.seconds:.0f} s, "
               f"{len(stage.run_ids)} Dagster runs")
    _failed(stage)
    _quality_line(settings, pipeline.run_id)
    return stage


@main.command()
@click.option("--partner", help="only this partner's datasets")
@click.option("--dataset", "datasets", multiple=True, help="dataset key <partner>__<dataset> (repeatable)")
@click.pass_obj
def ingest(settings: Settings, partner: str | None, datasets: tuple[str, ...]) -> None:
    """Collect deliveries (inbox and HTTP), land them and load the raw tables: the raw assets, run
    by Dagster in this process (recorded in DAGSTER_HOME: `make dagster` shows them)."""
    registry = _registry(settings)
    keys = list(datasets) or None
    if partner:
        try:
            keys = [e.key for e in registry.of_partner(partner)]
        except KeyError as exc:
            raise click.ClickException(str(exc)) from None
    unknown = sorted(set(keys or []) - set(registry.datasets))
    if unknown:
        raise click.ClickException(f"unknown dataset(s) {', '.join(unknown)}; known: {', '.join(sorted(registry.datasets))}")
    one_heap()          # before Dagster's and DuckDB's threads start: an ingestion's memory is bounded
    stage = _ingest(settings, registry, _pipeline(settings, registry, "ingest"), keys)
    totals = stage.delivery_totals()
    if totals.get("transport_errors") and not totals.get("deliveries_landed"):
        # every transfer failed (an expired token, a partner's server down): a failure, not an empty day
        raise click.ClickException(f"{totals['transport_errors']} transport error(s) and nothing received: see above")


@main.command()
@click.option("--dataset", "dataset_key", required=True, help="dataset key <partner>__<dataset>")
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d", "%Y-%m", "%Y"]),
              help="first period: a day (2024-10-01), a month (2024-10) or a year")
@click.option("--to", "last", required=True, type=click.DateTime(["%Y-%m-%d", "%Y-%m", "%Y"]),
              help="last period, included")
@click.pass_obj
def backfill(settings: Settings, dataset_key: str, first, last) -> None:
    """Ingest a dataset's partitions from --from to --to in one Dagster run, recorded in the hub's
    Dagster instance (DAGSTER_HOME, default data/dagster: `make dagster` shows it)."""
    from territoire_hub.orchestration.runs import RunError, backfill as run_backfill   # imports Dagster (seconds)

    try:
        one_heap()      # as `hub ingest`
        done = run_backfill(settings, _registry(settings), dataset_key, first.date(), last.date())
    except RunError as exc:
        raise click.ClickException(str(exc)) from None
    meta = done.metadata
    click.echo(f"Backfill of {dataset_key}: {len(done.partitions)} partitions ({done.partitions[0]} … "
               f"{done.partitions[-1]}) in Dagster run {done.run_id}")
    if meta:
        click.echo(f"  {meta.get('deliveries_landed', 0)} deliveries landed, {meta.get('deliveries_loaded', 0)} loaded "
                   f"({meta.get('rows_loaded', 0):,} rows), {meta.get('deliveries_quarantined', 0)} quarantined, "
                   f"{meta.get('transport_errors', 0)} transport errors")
    if not done.success:
        raise click.ClickException(f"the run failed: {printable(done.failure or 'see the Dagster UI')}")


@main.command()
@click.option("--days", type=click.IntRange(min=0), help="keep this many days (default HUB_RETENTION_DAYS, 90)")
@click.option("--dry-run", is_flag=True, help="say what would be removed, remove nothing")
@click.pass_obj
def prune(settings: Settings, days: int | None, dry_run: bool) -> None:
    """Remove the quality history (Great Expectations results, Data Docs pages, run reports,
    partners' outbox files), the run logs and the Dagster runs older than the retention period."""
    from territoire_hub.orchestration.retention import prune as run_prune   # imports Dagster (seconds)
    from territoire_hub.orchestration.runs import hub_instance

    pruned, runs = run_prune(settings, hub_instance(settings), days, dry_run=dry_run)
    counts = pruned.counts()
    verb = "would remove" if dry_run else "removed"
    click.echo(f"Older than {settings.retention_days if days is None else days} days, {verb}: "
               f"{counts['results']} validation results, {counts['pages']} Data Docs pages, "
               f"{counts['reports']} run reports, {counts['outbox']} outbox files, {counts['logs']} run logs, "
               f"{len(runs)} Dagster runs")


def _build(settings: Settings, pipeline, full_refresh: bool = False):
    """dbt build, the publication gate of each mart, the analysts' snapshot: the graph's models,
    checks and publication assets, run by Dagster in this process."""
    click.echo("Building the indicators (dbt build: seeds, models, tests), then the publication gate…")
    stage = pipeline.build(full_refresh)
    if not stage.stale:
        click.echo("  Up to date: no delivery processed and no model, macro or registry change since the last "
                   "build (`hub status` shows the marts' gate; `hub build --full-refresh` rebuilds everything).")
        return stage
    if not full_refresh:
        click.echo(f"  {len(stage.stale)} assets to build: " + _reasons(stage.stale))
    tests = {k: passed for k, (passed, _, _) in stage.checks.items() if k.name != "publication_gate"}
    models = [k for k in stage.materialized if k.path[0] not in ("publication", "shared")]
    warned = sorted((k for k, passed in tests.items() if not passed), key=lambda k: k.asset_key.path)
    logs = settings.data_dir / "logs" / "dbt"
    click.echo(f"  dbt build: {len(models) + len(tests)} nodes in {stage.seconds:.0f} s — "
               f"{len(models) + len(tests) - len(warned)} passed, {len(warned)} warnings, {len(stage.failures)} errors "
               f"({len(stage.run_ids)} Dagster runs; dbt's logs: {logs})")
    for key in warned[:10]:
        click.echo(f"    warning: {key.name} on {key.asset_key.to_user_string()}")
    _failed(stage)
    for key, (passed, description, meta) in sorted(stage.checks.items(), key=lambda kv: kv[0].asset_key.path):
        if key.name == "publication_gate":
            flags = len(meta.get("warnings") or []) + len(meta.get("upstream_flags") or [])
            click.echo(f"  marts.{key.asset_key.path[-1]:<30} {'publishable' if passed else 'NOT PUBLISHABLE'}"
                       + (f" ({flags} flags)" if flags else ""))
            if not passed and description:
                click.echo(f"      - {description}")
    if stage.docs and stage.docs.pages:
        click.echo(f"  Data Docs: {stage.docs.pages:,} validation pages rendered ({stage.docs.seconds:.0f} s after the runs)")
    _snapshot_written(stage)
    _quality_line(settings, pipeline.run_id)
    return stage


def _reasons(stale) -> str:
    """Why a build runs what it runs, in a line: the first causes (not "downstream of"), counted."""
    causes: dict[str, int] = {}
    for reason in stale.values():
        if not reason.startswith("downstream of"):
            causes[reason] = causes.get(reason, 0) + 1
    words = [f"{reason} ({count})" if count > 1 else reason for reason, count in sorted(causes.items())]
    downstream = sum(r.startswith("downstream of") for r in stale.values())
    return "; ".join(words[:5] + ([f"{len(words) - 5} more causes"] if len(words) > 5 else [])) \
        + (f"; {downstream} downstream of those" if downstream else "")


def _snapshot_written(stage) -> None:
    meta = stage.materialized.get(next((k for k in stage.materialized if k.path[0] == "shared"), None))
    if meta:
        click.echo(f"Analysts' snapshot: {meta['path']} ({meta['tables']} tables, {meta['cells_under_secrecy']} cells "
                   "under statistical secrecy; sensitivity check passed)")


def _quality_line(settings: Settings, run_id: str) -> None:
    """Where the run's quality reports and the Data Docs are (written by the assets that validate)."""
    folder = settings.data_dir / "quality" / "reports" / run_id
    if (folder / "summary.md").exists():
        click.echo(f"Quality report: {folder / 'summary.md'} (partners' reports in {folder / 'partners'}); "
                   f"Data Docs: {settings.data_dir / 'quality' / 'docs' / 'index.html'}")


@main.command()
@click.option("--full-refresh", is_flag=True, help="rebuild incremental models from the whole history")
@click.pass_obj
def build(settings: Settings, full_refresh: bool) -> None:
    """Build the dbt models (staging → intermediate → marts) and run their tests, gate the marts,
    write the analysts' snapshot: run by Dagster in this process."""
    if not settings.warehouse.exists():
        raise click.ClickException(f"no warehouse at {settings.warehouse}: run `hub ingest` first")
    start_dbt_server()
    registry = _registry(settings)
    _build(settings, _pipeline(settings, registry, "build"), full_refresh)


@main.command()
@click.option("--all", "show_all", is_flag=True, help="every reason of every quarantined delivery")
@click.pass_obj
def status(settings: Settings, show_all: bool) -> None:
    """Deliveries per partner, rows per raw table, quarantined deliveries with their reasons,
    overdue deliveries and the latest alerts."""
    registry = _registry(settings)
    if not settings.warehouse.exists():
        raise click.ClickException(f"no warehouse at {settings.warehouse}: run `hub ingest` (or `make run`) first")
    con = connect(settings.warehouse, read_only=True)
    try:
        unread = unread_inbox_entries(settings, registry)
        alerts = recent_alerts(settings)
        click.echo(render_status(collect_status(con, registry, unread, alerts), max_reasons=10_000 if show_all else 3))
    finally:
        con.close()
    click.echo(_snapshot_line(settings))


def _snapshot_line(settings: Settings) -> str:
    import duckdb

    path = settings.shared_warehouse
    if not path.exists():
        return f"Analysts' snapshot: none yet ({path} is written by `hub build`)"
    con = duckdb.connect(str(path), read_only=True)
    try:
        run_id, written = con.execute("SELECT run_id, written_at FROM meta.snapshot").fetchone()
    finally:
        con.close()
    from datetime import timezone

    return f"Analysts' snapshot: {path} (run {run_id}, written {written.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC)"


@main.group()
def quality() -> None:
    """Quality reports and Great Expectations Data Docs."""


@quality.command("report")
@click.option("--run", "run_id", help="run id (default: the latest run that validated something)")
@click.pass_obj
def quality_report(settings: Settings, run_id: str | None) -> None:
    """Write a run's quality report (JSON + summary) and one report per partner; print the summary."""
    if not settings.warehouse.exists():
        raise click.ClickException(f"no warehouse at {settings.warehouse}: run `hub ingest` first")
    con = connect(settings.warehouse, read_only=True)
    try:
        run_id = run_id or latest_run(con)
        folder = write_reports(con, settings, run_id) if run_id else None
    finally:
        con.close()
    if folder is None:
        raise click.ClickException("nothing validated yet: run `hub ingest`")
    click.echo((folder / "summary.md").read_text())
    click.echo(f"Written to {folder}")


@quality.command("fetch-assets")
@click.pass_obj
def quality_fetch_assets(settings: Settings) -> None:
    """Download the scripts, styles and fonts the Data Docs use (pinned npm packages, checked
    against their registry integrity) into HUB_CACHE_DIR, so the pages render offline. Run by
    `make install`; the only command that uses the network (the npm registry)."""
    from territoire_hub.expectations.offline_docs import PACKAGES, fetch_assets

    try:
        where = fetch_assets(settings.cache_dir)
    except (OSError, RuntimeError) as exc:
        raise click.ClickException(f"Data Docs assets: {exc}") from None
    click.echo(f"Data Docs assets ({len(PACKAGES)} packages) in {where}")


@quality.command("docs")
@click.pass_obj
def quality_docs(settings: Settings) -> None:
    """Render the Great Expectations Data Docs pages of the validations not rendered yet (`hub
    ingest` validates inside DuckDB and leaves its pages to this command and to `hub build`),
    and print where the index is."""
    results = settings.data_dir / "quality" / "gx"
    if not results.is_dir():
        raise click.ClickException("nothing validated yet: run `hub ingest` or `hub build`")
    click.echo(QualityContext.for_settings(settings).build_docs())


def _publish(settings: Settings, pipeline, run_id: str | None = None) -> None:
    """The portal assets: each family's dataset on CKAN; unchanged files are not re-sent."""
    from territoire_hub.publish.publisher import client_from
    from territoire_hub.orchestration.runs import RunError

    try:
        client = client_from(settings)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Publishing the approved indicators to {client.url}…")
    try:
        stage = pipeline.publish(run_id)
    except RunError as exc:
        raise click.ClickException(str(exc)) from None
    for key, meta in sorted(stage.of_prefix("portal").items()):
        changed = meta.get("resources_updated") or 0
        state = f"{changed} resource(s) sent" if changed else \
            "description updated" if meta.get("metadata_revised") else "unchanged"
        click.echo(f"  {meta.get('release') or key.path[-1]:<36} {state}")
    if not stage.success:
        _failed(stage)
    click.echo(f"{len(stage.of_prefix('portal'))} datasets on the portal: {client.url}/dataset/")


@main.command()
@click.pass_obj
def publish(settings: Settings) -> None:
    """Publish the approved indicators (publication.*) to CKAN: HUB_CKAN_URL/HUB_CKAN_TOKEN, or the
    local portal of `hub portal up`. Unchanged files are not re-sent. Run by Dagster in this process."""
    if not settings.warehouse.exists():
        raise click.ClickException(f"no warehouse at {settings.warehouse}: run `hub ingest` and `hub build` first")
    registry = _registry(settings)
    _publish(settings, _pipeline(settings, registry, "publish"))


@main.command()
@click.pass_obj
def snapshot(settings: Settings) -> None:
    """Rewrite the analysts' snapshot (HUB_SHARED_WAREHOUSE) from the approved marts. `hub build`
    does it after each gated build; readers of the previous one are not disturbed."""
    from territoire_hub.orchestration.runs import RunError

    if not settings.warehouse.exists():
        raise click.ClickException(f"no warehouse at {settings.warehouse}: run `hub ingest` and `hub build` first")
    try:
        stage = _pipeline(settings, _registry(settings), "snapshot").snapshot()
    except RunError as exc:
        raise click.ClickException(str(exc)) from None
    _failed(stage)
    _snapshot_written(stage)


@main.group()
def partner() -> None:
    """What a partner receives: its own data, its quality reports and the shared marts."""


@partner.command("export")
@click.argument("partner_id")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="file to write (default: <exports>/<partner>.duckdb)")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]),
              help="only the partner's deliveries processed on or after this day (Europe/Paris), their rows and checks")
@click.pass_obj
def partner_export(settings: Settings, partner_id: str, output: Path | None, since) -> None:
    """Write a DuckDB file with PARTNER_ID's own landed and staged data, its quality reports and the
    shared marts — nothing of any other partner (checked before the file is put in place)."""
    from territoire_hub.lineage import mart_datasets
    from territoire_hub.publish.partner_export import export_partner
    from territoire_hub.publish.shared_warehouse import SharingRefused

    registry = _registry(settings)
    if partner_id not in registry.partners:
        raise click.ClickException(f"unknown partner {partner_id!r}; known: {', '.join(sorted(registry.partners))}")
    if not settings.warehouse.exists():
        raise click.ClickException(f"no warehouse at {settings.warehouse}: run `hub ingest` and `hub build` first")
    con = connect(settings.warehouse)
    try:
        done = export_partner(con, settings, registry, partner_id, latest_gate_run(con) or "-",
                              mart_datasets(settings, registry), output, since.date() if since else None)
    except SharingRefused as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        con.close()
    own = {k: v for k, v in done.tables.items() if k.split(".")[0] in ("landing", "raw", "staging", "quality")}
    click.echo(f"Export for {partner_id}" + (f" (processed since {since:%Y-%m-%d})" if since else "") + f": {done.path}")
    for table, rows in own.items():
        click.echo(f"  {table:<52} {rows:>10,} rows")
    click.echo(f"  + {len(done.tables) - len(own)} shared tables (marts, ref); sensitivity check passed")


@main.group()
def sensitivity() -> None:
    """The sensitivity check of the files that leave the warehouse."""


@sensitivity.command("check")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--partner", "partner_id", help="with FILES: the partner they are for (default: as each file declares)")
@click.pass_obj
def sensitivity_check(settings: Settings, files: tuple[Path, ...], partner_id: str | None) -> None:
    """Walk every table and column of FILES (default: the analysts' snapshot and every partner
    export); exit 1 if anything restricted, unaggregated or of another partner is found."""
    from territoire_hub.publish.sensitivity import check_file, declared_audience

    registry = _registry(settings)
    if files:        # as the partner given, else as the file declares
        targets = [(path, partner_id or declared_audience(path)) for path in files]
    else:            # the snapshot for analysts, each export for the partner it is named after
        targets = [(settings.shared_warehouse, None)] if settings.shared_warehouse.exists() else []
        targets += [(path, path.stem) for path in sorted(settings.exports_dir.glob("*.duckdb"))]
    if not targets:
        raise click.ClickException("nothing to check: no snapshot nor export yet")
    unknown = sorted({a for _, a in targets if a and a not in registry.partners})
    if unknown:
        raise click.ClickException(f"not a partner of the registry: {', '.join(unknown)}")
    failed = 0
    for path, audience in targets:
        findings = check_file(path, settings, registry, partner=audience)
        click.echo(f"{'FAIL' if findings else 'ok  '} {path} (for {audience or 'analysts'})")
        for finding in findings:
            click.echo(f"       - {finding}")
        failed += bool(findings)
    if failed:
        sys.exit(1)


@main.command("audit")
@click.option("--action", type=click.Choice(["snapshot", "partner_export", "publication"]))
@click.option("--for", "audience", help="'analysts', 'public' or a partner id")
@click.option("--limit", default=50, show_default=True)
@click.pass_obj
def audit_cmd(settings: Settings, action: str | None, audience: str | None, limit: int) -> None:
    """What left the warehouse: snapshots, partner exports and publications, latest first."""
    from territoire_hub.publish import audit

    if not settings.warehouse.exists():
        raise click.ClickException(f"no warehouse at {settings.warehouse}")
    con = connect(settings.warehouse, read_only=True)
    try:
        click.echo(audit.render(audit.events(con, action=action, audience=audience, limit=limit)))
    finally:
        con.close()


@main.group()
def portal() -> None:
    """The local CKAN portal (CKAN 2.12, search served by PostgreSQL): up, down, status, reset,
    rotate-logs, rotate-secrets."""


def _portal(settings: Settings):
    from territoire_hub.publish.portal import Portal

    return Portal.from_settings(settings)


@portal.command("up")
@click.pass_obj
def portal_up(settings: Settings) -> None:
    """Install what is missing (Debian packages, CKAN's virtualenv), start PostgreSQL, Redis and
    CKAN, and wait until the API answers. Idempotent."""
    from territoire_hub.publish.portal import PortalError

    click.echo("Starting the portal…")
    try:
        _portal(settings).up(echo=click.echo)
    except PortalError as exc:
        raise click.ClickException(str(exc)) from None


@portal.command("down")
@click.pass_obj
def portal_down(settings: Settings) -> None:
    """Stop the web server, Redis and PostgreSQL (data kept)."""
    _portal(settings).down(echo=click.echo)
    click.echo("Portal stopped.")


@portal.command("status")
@click.pass_obj
def portal_status(settings: Settings) -> None:
    """Whether the portal answers, with its CKAN version and extensions (exit 1 when down)."""
    target = _portal(settings)
    status = target.status()
    if status is None:
        click.echo(f"Portal not running at {target.url} (`hub portal up`).")
        sys.exit(1)
    click.echo(f"Portal up at {target.url}: CKAN {status['ckan_version']}, extensions {', '.join(status['extensions'])}")


@portal.command("rotate-logs")
@click.pass_obj
def portal_rotate_logs(settings: Settings) -> None:
    """Rotate the portal's logs past 10 MiB (5 kept; the web server reopens its own). Run it daily
    (cron, a systemd timer); `hub portal up` does it too."""
    rotated = _portal(settings).rotate_logs()
    click.echo(f"{len(rotated)} log(s) rotated" + "".join(f"\n  {printable(str(p))}" for p in rotated))


@portal.command("rotate-secrets")
@click.confirmation_option(prompt="Restart the portal with new database and Redis passwords and a new API token?")
@click.pass_obj
def portal_rotate_secrets(settings: Settings) -> None:
    """New PostgreSQL and Redis passwords and a new API token for the hub's sysadmin (its older
    tokens revoked); the portal restarts with them. A HUB_CKAN_TOKEN set by hand must be updated."""
    from territoire_hub.publish.portal import PortalError

    try:
        _portal(settings).rotate_secrets(echo=click.echo)
    except PortalError as exc:
        raise click.ClickException(str(exc)) from None


@portal.command("reset")
@click.confirmation_option(prompt="Delete the portal's database, uploads and token, then start it afresh?")
@click.pass_obj
def portal_reset(settings: Settings) -> None:
    """Stop, delete the portal's data (its virtualenv is kept) and start a fresh portal."""
    from territoire_hub.publish.portal import PortalError

    try:
        _portal(settings).reset(echo=click.echo)
    except PortalError as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
def demo() -> None:
    """The demo region: generate partner deliveries, serve the HTTP partners, run it all."""


def _scale_options(fn):
    options = [
        click.option("--seed", default=42, show_default=True),
        click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default="2024-01-01", show_default=True),
        click.option("--days", default=366, show_default=True),
        click.option("--counters", default=24, show_default=True, help="traffic counters"),
        click.option("--lamp-sensors", default=40, show_default=True),
        click.option("--stations", default=6, show_default=True, help="weather stations"),
        click.option("--charge-points", default=60, show_default=True),
        click.option("--lamp-points", default=1500, show_default=True),
        click.option("--communes", type=int, default=None, help="limit to N communes of the region (default: all)"),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _generate(settings: Settings, registry: Registry, seed: int, start, **scale) -> None:
    from territoire_hub.sources.demo import Scale, generate_demo

    chosen = Scale(start=start.date() if hasattr(start, "date") else start, **scale)
    click.echo(f"Generating demo deliveries into {settings.data_dir} (seed {seed}, {chosen.days} days from {chosen.start})…")
    files = generate_demo(settings.data_dir, registry, seed=seed, scale=chosen)
    click.echo(f"  {len(files)} files: inbox {settings.data_dir / 'inbox'}, HTTP partners {settings.data_dir / 'remote'}")


@demo.command("generate")
@_scale_options
@click.pass_obj
def demo_generate(settings: Settings, seed, start, **scale):
    """Write the demo partners' deliveries (deterministic for a seed)."""
    _generate(settings, _registry(settings), seed, start, **scale)


@demo.command("run")
@_scale_options
@click.option("--no-generate", is_flag=True, help="ingest what is already in the inbox and remote folders")
@click.option("--no-build", is_flag=True, help="stop after ingestion (no dbt build)")
@click.option("--no-publish", is_flag=True, help="do not start the local portal nor publish")
@click.pass_obj
def demo_run(settings: Settings, no_generate: bool, no_build: bool, no_publish: bool, seed, start, **scale):
    """Generate the demo deliveries, serve the HTTP partners on loopback, ingest, build, publish to the
    local portal, print the status."""
    from territoire_hub.orchestration.runs import environment
    from territoire_hub.sources.demo.server import PartnerServer, demo_environment, protected_paths

    registry = _registry(settings)
    if not no_generate:
        _generate(settings, registry, seed, start, **scale)
    pipeline = _pipeline(settings, registry, "demo run")
    remote = settings.data_dir / "remote"
    token = secrets.token_urlsafe(24)  # lives only in this process: nothing to leak
    with PartnerServer(remote, tokens=protected_paths(registry, token)) as server, \
            environment(demo_environment(settings, registry, server.url, token)):
        click.echo(f"Demo HTTP partners served from {remote} at {server.url}")
        _ingest(settings, registry, pipeline, None)
    if not no_build:
        _build(settings, pipeline)
    if not no_build and not no_publish:
        from territoire_hub.publish.portal import Portal, PortalError

        click.echo("Starting the local portal…")
        try:
            Portal.from_settings(settings).up(echo=click.echo)
        except PortalError as exc:
            raise click.ClickException(str(exc)) from None
        _publish(settings, pipeline, pipeline.run_id)
    pipeline.freshness()      # the delivery_due checks: `hub status` lists what is overdue
    con = connect(settings.warehouse, read_only=True)
    try:
        status = collect_status(con, registry, unread_inbox_entries(settings, registry))
        click.echo("")
        click.echo(render_status(status))
    finally:
        con.close()
    click.echo("")
    click.echo(_final_block(settings, status, pipeline.run_id, published=not no_build and not no_publish))


def _final_block(settings: Settings, status, run_id: str, published: bool) -> str:
    """Where everything is, at the end of a run: the counts are hub status's own."""
    from territoire_hub.publish.portal import Portal

    loaded = sum(row[2] for row in status.deliveries)
    lines = ["Done.",
             f"  deliveries     {loaded} loaded, {len(status.quarantined)} quarantined (`hub status --all` for the reasons)",
             f"  quality        {settings.data_dir / 'quality' / 'reports' / run_id / 'summary.md'}",
             f"  Data Docs      {settings.data_dir / 'quality' / 'docs' / 'index.html'}"]
    if settings.shared_warehouse.exists():
        lines.append(f"  analysts       {settings.shared_warehouse}")
    if published:
        lines.append(f"  portal         {Portal.from_settings(settings).url} (stop it: `hub portal down`)")
    return "\n".join(lines)


@demo.command("serve")
@click.option("--port", default=8765, show_default=True)
@click.pass_obj
def demo_serve(settings: Settings, port: int) -> None:
    """Serve the demo HTTP partners until interrupted (for `dagster dev`).

    The variables to export are written to <data>/demo.env (mode 0600), never printed:
    it holds the demo partner's bearer token.
    """
    import os
    import threading

    from territoire_hub.sources.demo.server import PartnerServer, demo_settings, protected_paths

    registry = _registry(settings)
    token = secrets.token_urlsafe(24)
    with PartnerServer(settings.data_dir / "remote", port=port, tokens=protected_paths(registry, token)) as server:
        served = demo_settings(settings, registry, server.url, token)
        env_file = settings.data_dir / "demo.env"
        env_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            for name, value in sorted(served.url_vars.items()):
                fh.write(f"export {name}={value}\n")
            for name, value in sorted(served.partner_tokens.items()):
                fh.write(f"export HUB_PARTNER_TOKEN_{name.upper()}={value}\n")
        click.echo(f"Serving {settings.data_dir / 'remote'} at {server.url}; `source {env_file}` before `dagster dev`.")
        click.echo("Ctrl-C to stop.", err=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":  # pragma: no cover
    main()
