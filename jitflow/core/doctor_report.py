"""What `jitflow doctor` found: its checks by section, the one input of the doctor reporter."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jitflow.core.doctor import Check, CheckStatus
from jitflow.errors import ExitCode


@dataclass(frozen=True)
class Section:
    name: str
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class DoctorReport:
    repo: Path
    branch: str
    sections: tuple[Section, ...]

    @property
    def checks(self) -> tuple[Check, ...]:
        return tuple(c for s in self.sections for c in s.checks)

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.failed)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.DENIED if self.failed else ExitCode.OK


def summary(report: DoctorReport) -> dict[CheckStatus, int]:
    counts = dict.fromkeys(CheckStatus, 0)
    for check in report.checks:
        counts[check.status] += 1
    return counts
