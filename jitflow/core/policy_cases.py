"""The results of the policy unit tests (policies/tests/): one per case, expected vs observed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CaseResult:
    file: str
    line: int
    name: str
    passed: bool
    expected: dict[str, Any]
    actual: dict[str, Any]
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicyTestReport:
    results: tuple[CaseResult, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)
