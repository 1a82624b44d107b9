"""The hub's own expectation: a value is the INSEE code of a commune of the COG.

GX's ``expect_column_values_to_be_in_set`` would need the 37,000 codes inside the suite, and
GX re-serialises an expectation's arguments for every metric it plans (seconds per batch). This
expectation reads the codes from the COG loaded in the warehouse (``ref.communes``) instead,
set once per process by :func:`use_cog`.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics import ColumnMapMetricProvider, column_condition_partial

_COG: dict[str, pa.Array | None] = {"communes": None}


def use_cog(con: duckdb.DuckDBPyConnection) -> None:
    """Load the commune codes of the COG (all types: communes, déléguées, arrondissements)."""
    if _COG["communes"] is None:
        codes = con.execute("SELECT DISTINCT code_commune FROM ref.communes ORDER BY 1").fetch_arrow_table()
        _COG["communes"] = codes.column(0).combine_chunks()


class ColumnValuesAreInseeCommunes(ColumnMapMetricProvider):
    condition_metric_name = "column_values.insee_commune"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        if _COG["communes"] is None:
            raise RuntimeError("the COG is not loaded: call territoire_hub.expectations.custom.use_cog(con) first")
        # Arrow's is_in against the prepared code array (pandas' isin rebuilds the set on each call)
        values = pa.array(column.astype("string"), from_pandas=True).cast(pa.string())
        found = pc.is_in(values, value_set=_COG["communes"].cast(pa.string()))
        return pd.Series(found.to_numpy(zero_copy_only=False), index=column.index).fillna(False).astype(bool)


class ExpectColumnValuesToBeInseeCommunes(ColumnMapExpectation):
    """Expect each non-null value to be the INSEE code of a commune of the COG 2026."""

    map_metric = "column_values.insee_commune"
    success_keys = ("mostly",)
