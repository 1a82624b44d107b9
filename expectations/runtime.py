"""The Great Expectations runtime: one file-backed context per hub home.

Suites are defined in code (``deliveries.py``, ``marts.py``); this module registers them in a
GX file context under ``<data>/quality/gx`` so every validation result is stored, and renders
the Data Docs into ``<data>/quality/docs``. Batches are pandas frames taken from DuckDB with
Arrow (GX's SQL datasource does not work on DuckDB: every metric fails upstream).

GX is imported lazily: importing it costs seconds, and most CLI commands never validate.
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

from territoire_hub.expectations import offline_docs
from territoire_hub.settings import Settings

log = logging.getLogger(__name__)
DATASOURCE = "hub_batches"
ASSET = "frames"               # one dataframe asset: each validation passes its own frame
DOCS_SITE = "hub"
_lock = threading.Lock()
_contexts: dict[Path | None, "QualityContext"] = {}


@dataclass(frozen=True)
class Validation:
    """The outcome of one suite on one batch, with the id Data Docs knows it by."""

    suite: str
    result: Any                  # great_expectations.core.ExpectationSuiteValidationResult
    result_id: Any               # ValidationResultIdentifier (None when not stored)

    @property
    def success(self) -> bool:
        return bool(self.result.success)


@dataclass
class QualityContext:
    root: Path | None            # None: in memory (results not kept, no Data Docs)
    docs_dir: Path | None
    cache_dir: Path | None = None  # where the Data Docs' vendored assets are (offline_docs)
    _gx: Any = None
    _registered: dict[str, Any] = field(default_factory=dict)   # suite name -> (fingerprint, validation definition)
    _pending_docs: list[Any] = field(default_factory=list)
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
                        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"}}
                if DOCS_SITE not in sites:
                    context.add_data_docs_site(site_name=DOCS_SITE, site_config=site)
                elif sites[DOCS_SITE].get("store_backend", {}).get("base_directory") != str(self.docs_dir):
                    # a hub home moved or copied: its Data Docs follow it (GX keeps an absolute path)
                    context.update_data_docs_site(site_name=DOCS_SITE, site_config=site)
            context.data_sources.add_or_update_pandas(DATASOURCE)
            self._gx = context
        return self._gx

    def _definition(self, suite):
        """Register (or refresh) a suite and its validation definition, once per process."""
        import great_expectations as gx

        fingerprint = json.dumps(suite.to_json_dict()["expectations"], sort_keys=True, default=str)
        known = self._registered.get(suite.name)
        if known is not None and known[0] == fingerprint:
            return known[1]
        context = self._context()
        batch = self._frames(context)
        stored = context.suites.add_or_update(suite)
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
    def validate(self, suite, frame, *, run_name: str, index_columns: list[str],
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
        result_id = self._result_id(result)
        self._pending_docs.append(result_id)
        return Validation(suite.name, result, result_id)

    @staticmethod
    def _result_id(result):
        """The key GX stored the result under (``ValidationDefinition.run`` stores it)."""
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        return ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=result.suite_name),
            run_id=result.meta["run_id"],
            batch_identifier=result.batch_id,
        )

    def rebuild_docs(self) -> Path:
        """Render the Data Docs again from the result store, index included (after a pruning: the
        cost is that of every result kept)."""
        if self.docs_dir is None:
            raise RuntimeError("an in-memory quality context has no Data Docs")
        self._context().build_data_docs(site_names=[DOCS_SITE])
        self._pending_docs.clear()
        self._offline(since=0.0)
        return self.docs_dir / "index.html"

    def build_docs(self) -> Path:
        """Render the results validated since the last call (cost grows with new results only)."""
        context = self._context()
        if self.docs_dir is None:
            raise RuntimeError("an in-memory quality context has no Data Docs")
        if self._pending_docs:
            started = time.time() - 1          # file systems keep whole seconds at worst
            context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=list(self._pending_docs))
            self._pending_docs.clear()
            self._offline(since=started)
        return self.docs_dir / "index.html"

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
