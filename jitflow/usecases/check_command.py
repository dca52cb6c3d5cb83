"""`jitflow check`'s one entry: offline from git alone (`--base`), or the live PR gate in
GitHub Actions (`--event`). Either way the result is the exit code, the reports judged and a
note when nothing was judged; the CLI renders it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from jitflow.errors import ExitCode, UsageError
from jitflow.usecases.check import CheckOptions, CheckResult, run_check

if TYPE_CHECKING:
    from jitflow.usecases.gate import GateFeedback


@dataclass(frozen=True)
class CheckCommand:
    """`jitflow check`'s options as parsed: live (`event`) or offline (`base`..`head`)."""

    repo: Path
    now: datetime
    event: Path | None = None
    base: str | None = None
    head: str = "HEAD"
    author: str | None = None
    feedback: GateFeedback = field(kw_only=True)  # the live gate's words on the PR

    def __post_init__(self) -> None:
        if self.event is None and self.base is None:
            raise UsageError(
                "check needs --base REF (e.g. --base origin/main), or --event PATH in GitHub Actions"
            )


def run_check_command(command: CheckCommand) -> CheckResult:
    if command.event is not None:
        from jitflow.usecases.gate import GateOptions, run_gate

        options = GateOptions(command.repo, command.event, command.now, feedback=command.feedback)
        return run_gate(options)
    assert command.base is not None  # __post_init__
    offline = CheckOptions(command.repo, command.base, command.head, command.now, command.author)
    report = run_check(offline)
    return CheckResult(ExitCode.OK if report.decision.allowed else ExitCode.DENIED, (report,))
