"""One composition (issue 20.2): `make run` (`hub demo run`, then its publication) materialises the
asset graph of definitions.py through Dagster, in the hub's persistent instance (data/dagster): what
`dagster dev` shows afterwards is what ran — every asset materialised, every check evaluated."""

from __future__ import annotations

import dagster as dg
import pytest

from territoire_hub.orchestration.definitions import defs
from territoire_hub.orchestration.runs import hub_instance
from territoire_hub.orchestration.tags import COMMAND_TAG, RUN_TAG
from territoire_hub.publish import catalogue
from territoire_hub.warehouse import connect
from tests.conftest import SMALL_DEMO, copy_home, hub, latest_release


@pytest.fixture(scope="module")
def published_then_purged(demo_home, portal, admin, tmp_path_factory):
    """A copy of the demo, published to the session's portal (the demo ran with --no-publish: its
    last stage); the portal emptied afterwards for the publish tests, which expect it fresh."""
    settings = copy_home(demo_home, tmp_path_factory.mktemp("pipeline") / "home")
    env = {"HUB_CKAN_URL": portal.url, "HUB_CKAN_TOKEN": portal.secrets()["HUB_CKAN_TOKEN"]}
    try:
        yield settings, hub(settings.home, "publish", env=env), env
    finally:
        for name in set(admin.action.package_list()) | {d["name"] for d in admin.action.package_search(
                include_private=True, include_drafts=True, rows=1000)["results"]}:
            admin.action.dataset_purge(id=name)
        for name in admin.action.group_list():
            admin.action.group_purge(id=name)
        for name in admin.action.organization_list():
            admin.action.organization_purge(id=name)


def test_make_run_materialises_every_asset_and_evaluates_every_check(published_then_purged):
    settings, done, _ = published_then_purged
    assert "datasets on the portal" in done.stdout

    graph = dg.Definitions.merge(defs()).resolve_asset_graph()
    instance = hub_instance(settings)
    never = [key.to_user_string() for key in graph.materializable_asset_keys
             if instance.get_latest_materialization_event(key) is None]
    assert never == []
    checks = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(graph.asset_check_keys))
    unevaluated = sorted(f"{key.asset_key.to_user_string()}:{key.name}" for key in graph.asset_check_keys
                         if key not in checks or checks[key].status.value not in ("SUCCEEDED", "FAILED"))
    assert unevaluated == []
    # kinds of asset the count must cover, so an empty graph cannot pass
    prefixes = {key.path[0] for key in graph.materializable_asset_keys}
    assert {"raw", "staging", "marts", "publication", "portal", "shared"} <= prefixes
    names = {key.name for key in graph.asset_check_keys}
    assert {"delivery_quality", "delivery_due", "publication_gate"} <= names and len(graph.asset_check_keys) > 100

    # the demo's runs and the publication's share the demo's hub run id: one quality report
    runs = instance.get_runs()
    demo = {r.tags[RUN_TAG] for r in runs if r.tags.get(COMMAND_TAG) == "demo run"}
    assert len(demo) == 1 and all(r.is_success for r in runs)
    assert {r.tags[COMMAND_TAG] for r in runs} == {"demo run", "publish"}
    (publication,) = [r for r in runs if r.tags[COMMAND_TAG] == "publish"]
    assert publication.tags[RUN_TAG] in demo            # published under the run that approved the marts


def test_a_second_make_run_sends_nothing_and_changes_no_published_file(published_then_purged, anonymous):
    """`make run` again with no new data — the same deliveries generated, ingested, built, gated and
    published through Dagster under a new hub run id: the portal gets nothing (not even metadata),
    no published file changes by a byte, no publication is recorded."""
    settings, _, env = published_then_purged

    def portal_state() -> dict:
        shown = {f.name: latest_release(anonymous, f.name) for f in catalogue.FAMILIES}
        return {name: (d["metadata_modified"], {r["id"]: (r["last_modified"], r["url"]) for r in d["resources"]})
                for name, d in shown.items()}

    def published_files() -> dict:
        return {p.relative_to(settings.data_dir): p.read_bytes()
                for p in (settings.data_dir / "publish").rglob("*") if p.is_file()}

    def publications() -> int:
        con = connect(settings.warehouse, read_only=True)
        try:
            return con.execute("SELECT count(*) FROM audit.events WHERE action = 'publication'").fetchone()[0]
        finally:
            con.close()

    before, files, recorded = portal_state(), published_files(), publications()
    assert recorded > 0 and files                       # the first run did publish
    again = hub(settings.home, "demo", "run", *SMALL_DEMO)
    assert "0 quarantined" in again.stdout              # the same deliveries: known, not refused
    republished = hub(settings.home, "publish", env=env)
    lines = [line.split() for line in republished.stdout.splitlines() if line.startswith("  ")]
    assert len(lines) == len(catalogue.FAMILIES) and all(words[-1] == "unchanged" for words in lines), \
        republished.stdout
    assert portal_state() == before
    assert published_files() == files
    assert publications() == recorded

    # nothing new: the second run's build ran nothing, so both publications are under the run whose
    # gate approved the marts, the first one
    assert "Up to date" in again.stdout
    runs = hub_instance(settings).get_runs()
    runs_of = {tag: {r.tags[RUN_TAG] for r in runs if r.tags.get(COMMAND_TAG) == tag} for tag in ("demo run", "publish")}
    assert len(runs_of["demo run"]) == 2 and all(r.is_success for r in runs)
    assert len([r for r in runs if r.tags.get(COMMAND_TAG) == "publish"]) == 2
    assert runs_of["publish"] < runs_of["demo run"] and len(runs_of["publish"]) == 1


def test_ingest_records_the_partitions_it_loaded_not_the_whole_calendar(demo_home):
    instance = hub_instance(copy_home(demo_home, demo_home.parent / "partitions-home"))
    loaded = instance.get_materialized_partitions(dg.AssetKey(["raw", "montpellier_metropole__comptages_routiers"]))
    assert loaded == {"2024-10-26", "2024-10-27", "2024-10-28", "2024-10-29"}     # SMALL_DEMO's four days
    monthly = instance.get_materialized_partitions(dg.AssetKey(["raw", "meteo_france__observations_horaires"]))
    assert monthly == {"2024-10-01"}


# what composes the pipeline: the assets call these, the CLI launches the assets' jobs
PIPELINE_STEPS = {"ingest_all", "ingest_dataset", "load_deliveries", "run_dbt", "gate_marts", "validate_mart",
                  "approve_mart", "publish_all", "write_snapshot"}


def test_the_cli_composes_no_step_of_the_pipeline():
    import ast
    from pathlib import Path

    import territoire_hub.orchestration.cli as cli

    tree = ast.parse(Path(cli.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    called = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert "Pipeline" in imported and "_pipeline" in called      # it launches jobs…
    assert (imported | called) & PIPELINE_STEPS == set()        # …and runs no step itself
