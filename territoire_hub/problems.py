"""What can be wrong with a delivery, as values a data engineer (and the partner) can act on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding about a delivery. ``line`` is the physical line in the decoded file (1 = header)."""

    code: str               # stable identifier: wrong_encoding, missing_column, not_a_number, ...
    message: str            # a sentence that says what was found and what was expected
    line: int | None = None
    column: str | None = None
    value: str | None = None
    severity: Severity = "error"

    def describe(self, partner: str, dataset: str, filename: str) -> str:
        where = f"{filename}" + (f", line {self.line}" if self.line is not None else "")
        col = f", column {self.column!r}" if self.column else ""
        return f"[{partner} / {dataset}] {where}{col}: {self.message}"


@dataclass(frozen=True)
class Verdict:
    """What the quality suites found in one delivery."""

    problems: list[Problem]                # as listed to the partner: the first of each check, then a count
    failing_lines: dict[int, Problem] = field(default_factory=dict)   # every line failing a critical
                                           # check on records, with its first reason
    whole_file: bool = False               # a critical check failed on the file itself (its columns, a day)


class DeliveryRejected(Exception):
    """The delivery cannot be loaded; it is quarantined with these problems."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems[:3]))
