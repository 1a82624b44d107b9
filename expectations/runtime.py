"""The Great Expectations runtime: one file-backed context per hub home.

Suites are declared as plain data (``suites.py``: ``deliveries.py``, ``marts.py``); this module
turns the marts' into GX suites, registers them in a GX file context under ``<data>/quality/gx``
so every validation result is stored, and renders the Data Docs into ``<data>/quality/docs`` —
the marts' pages and the deliveries' (whose results ``engine.py`` computed inside DuckDB and
``store.py`` wrote in GX's format). Batches are pandas frames taken from DuckDB with Arrow (GX's
SQL datasource does not work on DuckDB: every metric fails upstream).

GX is imported lazily: importing it costs seconds and ~230 MiB, and the ingesting process never
needs it (it validates inside DuckDB).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from territoire_hub.expectations import offline_docs, store
from territoire_hub.expectations.store import Validation
from territoire_hub.expectations.suites import Suite
from territoire_hub.settings import Settings

log = logging.getLogger(__name__)
DATASOURCE = "hub_batches"
ASSET = "frames"               # one dataframe asset: each validation passes its own frame
DOCS_SITE = "hub"
# The Data Docs index lists the latest validations only: GX reads every result it lists each time
# it renders the index (after each gate): 3 s per gate at a region-year's 2,000 results, 0.8 s with
# the latest 200. Every page stays on disk until the retention (``retention.py``) prunes it.
INDEX_LIMIT = 200
_lock = threading.Lock()
_contexts: dict[Path | None, "QualityContext"] = {}


@dataclass
class QualityContext:
    root: Path | None            # None: in memory (results not kept, no Data Docs)
    docs_dir: Path | None
    cache_dir: Path | None = None  # where the Data Docs' vendored assets are (offline_docs)
    _gx: Any = None
    _registered: dict[str, Any] = field(default_factory=dict)   # suite name -> (fingerprint, validation definition)
    _warned_offline: bool = False

    @classmethod
    def for_settings(cls, settings: Settings) -> "QualityContext":
        root = settings.data_dir / "quality" / "gx"
        with _lock:
            if root not in _contexts:
                _contexts[root] = cls(root=root, docs_dir=settings.data_dir / "quality" / "docs",
                                      cache_dir=settings.cache_dir)
            return _contexts[root]

    @classmethod
    def in_memory(cls) -> "QualityContext":
        """For callers without a hub home (tools, tests of the parsing layer)."""
        with _lock:
            if None not in _contexts:
                _contexts[None] = cls(root=None, docs_dir=None)
            return _contexts[None]

    def open(self) -> None:
        """Import GX and open the context now (``docs_renderer.py`` does it ahead of rendering)."""
        self._context()

    # -- GX plumbing ----------------------------------------------------------------------
    def _context(self):
        if self._gx is None:
            os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
            import great_expectations as gx

            from territoire_hub.expectations import custom  # noqa: F401  (registers the hub's expectations)

            for name in ("great_expectations", "great_expectations.core", "great_expectations.data_context"):
                logging.getLogger(name).setLevel(logging.ERROR)
            if self.root is None:
                context = gx.get_context(mode="ephemeral")
            else:
                self.root.mkdir(parents=True, exist_ok=True)
                context = gx.get_context(mode="file", project_root_dir=str(self.root))
            context.variables.progress_bars = {"globally": False}
            sites = context.get_config().data_docs_sites or {}
            if self.docs_dir is not None:
                site = {"class_name": "SiteBuilder", "show_how_to_buttons": False,
                        "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                          "base_directory": str(self.docs_dir)},
                        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder",
                                               "validation_results_limit": INDEX_LIMIT},
                        # GX's pages take the index's limit unless told: every pending page is rendered
                        "site_section_builders": {"validations": {"validation_results_limit": 0}}}
                known = sites.get(DOCS_SITE)
                if known is None:
                    context.add_data_docs_site(site_name=DOCS_SITE, site_config=site)
                elif (known.get("store_backend", {}).get("base_directory") != str(self.docs_dir)
                      or known.get("site_index_builder", {}).get("validation_results_limit") != INDEX_LIMIT
                      or known.get("site_section_builders") != site["site_section_builders"]):
                    # a hub home moved or copied (GX keeps an absolute path), or an older site's index
                    context.update_data_docs_site(site_name=DOCS_SITE, site_config=site)
            context.data_sources.add_or_update_pandas(DATASOURCE)
            self._gx = context
        return self._gx

    def _definition(self, suite: Suite):
        """Register (or refresh) a suite and its validation definition, once per process."""
        import great_expectations as gx

        fingerprint = json.dumps(suite.to_json_dict()["expectations"], sort_keys=True, default=str)
        known = self._registered.get(suite.name)
        if known is not None and known[0] == fingerprint:
            return known[1]
        context = self._context()
        batch = self._frames(context)
        stored = context.suites.add_or_update(gx_suite(suite))
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=suite.name, data=batch, suite=stored))
        self._registered[suite.name] = (fingerprint, definition)
        return definition

    def _frames(self, context):
        """The one batch definition every suite validates: a whole pandas frame. One asset for
        all suites: each new asset would rewrite the context's YAML configuration (a tenth of a
        second per suite, on every new hub home)."""
        source = context.data_sources.get(DATASOURCE)
        try:
            asset = source.get_asset(ASSET)
        except LookupError:
            asset = source.add_dataframe_asset(ASSET)
        if asset.batch_definitions:
            return asset.batch_definitions[0]
        return asset.add_batch_definition_whole_dataframe("whole_frame")

    # -- what the hub calls -----------------------------------------------------------------
    def validate(self, suite: Suite, frame, *, run_name: str, index_columns: list[str],
                 parameters: dict[str, Any] | None = None) -> Validation:
        """Validate a pandas frame; the result is stored for Data Docs and returned complete.

        ``index_columns`` name each failing row (``_delivery_id``/``_source_line`` for deliveries)
        so a failure can be traced back to a partner's file and line.
        """
        import great_expectations as gx

        definition = self._definition(suite)
        result = definition.run(
            batch_parameters={"dataframe": frame},
            expectation_parameters=parameters or {},
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": index_columns,
                           "partial_unexpected_count": 20},
            run_id=gx.RunIdentifier(run_name=run_name),
        )
        if self.root is None:
            return Validation(suite.name, result)
        # the key GX stored the result under (``ValidationDefinition.run`` stores it)
        run_id = result.meta["run_id"]
        key = (result.suite_name, run_id.run_name, store.run_time_key(run_id.run_time), result.batch_id)
        store.add_pending(self.root, [key])
        return Validation(suite.name, result, key)

    def rebuild_docs(self) -> Path:
        """Render the Data Docs again from the result store, index included (after a pruning: the
        cost is that of every result kept)."""
        if self.docs_dir is None:
            raise RuntimeError("an in-memory quality context has no Data Docs")
        store.take_pending(self.root)
        self._context().build_data_docs(site_names=[DOCS_SITE])
        self._offline(since=0.0)
        return self.docs_dir / "index.html"

    def build_docs(self) -> Path:
        """Render the results stored since the last build, by this process or another (the
        ingesting one does not import GX): the cost grows with new results only."""
        return self.render_pending()[0]

    def render_pending(self) -> tuple[Path, int]:
        """``build_docs``: the index page, and how many results' pages were rendered."""
        if self.docs_dir is None:
            raise RuntimeError("an in-memory quality context has no Data Docs")
        pending = store.take_pending(self.root)
        if pending or not (self.docs_dir / "index.html").exists():
            from great_expectations.data_context.types.resource_identifiers import ValidationResultIdentifier

            context = self._context()
            started = time.time() - 1          # file systems keep whole seconds at worst
            context.build_data_docs(site_names=[DOCS_SITE],
                                    resource_identifiers=[ValidationResultIdentifier.from_tuple(k) for k in pending])
            self._offline(since=started)
        return self.docs_dir / "index.html", len(pending)

    def _offline(self, since: float) -> None:
        """The pages just written point to the assets served from the docs folder (offline_docs)."""
        if self.cache_dir is None:
            return
        try:
            offline_docs.make_offline(self.docs_dir, self.cache_dir, since=since)
        except offline_docs.AssetsMissing as exc:
            if not self._warned_offline:
                log.warning("%s", exc)
                self._warned_offline = True


def gx_suite(suite: Suite):
    """The GX suite of a plain one (``suites.py``): each expectation built by its type's class,
    row conditions as GX's ``Column`` conditions."""
    import great_expectations as gx
    from great_expectations.expectations.registry import get_expectation_impl

    from territoire_hub.expectations import custom  # noqa: F401  (registers the hub's expectations)

    built = []
    for e in suite.expectations:
        kwargs = dict(e.kwargs)
        if kwargs.get("row_condition"):
            kwargs["row_condition"] = _condition(kwargs["row_condition"])
        built.append(get_expectation_impl(e.type)(**kwargs, meta=dict(e.meta), severity=e.severity))
    return gx.ExpectationSuite(name=suite.name, expectations=built, meta=dict(suite.meta))


def _condition(clauses):
    from great_expectations.expectations.row_conditions import Column

    condition = None
    for column, operator, value in clauses:
        clause = Column(column).is_null() if operator == "is_null" else Column(column) == value
        condition = clause if condition is None else condition & clause
    return condition
