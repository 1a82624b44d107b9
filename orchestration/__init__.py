"""Dagster wiring and the ``hub`` CLI: the only place that knows every layer."""
