"""Run tags the hub reads: one command of the CLI may launch several Dagster runs (ingest the
inventories, then each cadence's partitions; build in three selections…). They share one hub run id,
under which their validations, quality reports and publications are recorded."""

from __future__ import annotations

import dagster as dg

RUN_TAG = "territoire-hub/run"            # the hub run id, shared by the Dagster runs of one command
COMMAND_TAG = "territoire-hub/command"    # the `hub` command that launched the run
PERIODS_TAG = "territoire-hub/periods"    # "all": read every period available, not only the partitions'
DOCS_TAG = "territoire-hub/data-docs"     # "after-runs": the command renders the Data Docs once, after its runs


def hub_run_id(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> str:
    """The hub run id of this Dagster run: its command's, else its own run id (a scheduled run)."""
    run = context.run
    return run.tags.get(RUN_TAG) or run.run_id
