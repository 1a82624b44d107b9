"""Expectation suites as plain data: what GX calls an expectation, without importing GX.

A suite here is what Great Expectations stores for one (its JSON in ``<data>/quality/gx/gx/
expectations``): a name, a meta, and expectations, each a GX expectation type (``expect_column_
values_to_be_between``…) with its keyword arguments, its ``meta`` (the hub's check name, column
and message template) and its severity. Delivery suites are evaluated inside DuckDB
(``engine.py``): the ingesting process never imports GX (~230 MiB, bench/README.md). The marts'
suites are turned into GX objects by ``runtime.py`` when they are validated.

Row conditions (which rows an expectation is about) are written as clauses: ``(column, "==",
value)`` or ``(column, "is_null", None)``, all of which must hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CRITICAL, WARNING = "critical", "warning"
Clause = tuple[str, str, Any]          # (column, "==" | "is_null", value)
OPERATORS = ("==", "is_null")


@dataclass(frozen=True)
class Expectation:
    """One expectation, named as GX names it: ``type``, ``kwargs``, ``meta``, ``severity``."""

    type: str
    kwargs: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    severity: str = CRITICAL

    def __post_init__(self) -> None:
        if self.severity not in (CRITICAL, WARNING):
            raise ValueError(f"{self.type}: severity {self.severity!r} is neither {CRITICAL!r} nor {WARNING!r}")
        for column, operator, _ in self.kwargs.get("row_condition") or ():
            if operator not in OPERATORS:
                raise ValueError(f"{self.type}: row condition on {column!r} uses {operator!r}, not one of {OPERATORS}")

    def to_json_dict(self) -> dict[str, Any]:
        kwargs = dict(self.kwargs)
        if kwargs.get("row_condition"):
            kwargs["row_condition"] = [list(c) for c in kwargs["row_condition"]]
        return {"type": self.type, "kwargs": kwargs, "meta": self.meta, "severity": self.severity}


def expect(type_: str, *, meta: dict[str, Any], severity: str = CRITICAL, **kwargs: Any) -> Expectation:
    """``expect("expect_column_values_to_be_between", column="t", min_value=-40, meta=…)``; a
    keyword left at None is left out, as GX leaves out an argument not given."""
    return Expectation(type_, {k: v for k, v in kwargs.items() if v is not None}, meta, severity)


@dataclass(frozen=True)
class Suite:
    name: str
    expectations: list[Expectation]
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        return {"name": self.name, "meta": self.meta, "expectations": [e.to_json_dict() for e in self.expectations]}
