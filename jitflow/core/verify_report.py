"""What `jitflow audit verify` found: the violations of the ledger's invariants, by code."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Violation:
    code: str
    request_id: str
    commit: str
    message: str


@dataclass(frozen=True)
class VerifyReport:
    head: str
    requests_checked: int
    violations: tuple[Violation, ...]
    unchecked: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.violations
