"""What `jitflow policies` found at a commit: the one input of the policies reporter."""

from __future__ import annotations

from dataclasses import dataclass

from jitflow.core.model import Finding, Groups, Policy
from jitflow.errors import ExitCode


@dataclass(frozen=True)
class PolicyListing:
    """The usable policies, and every problem that made a policy or the groups unusable
    (a broken file is reported, never silently left out: exit 2)."""

    policies: tuple[Policy, ...]
    broken: tuple[Finding, ...]
    groups: Groups
    notes: tuple[str, ...] = ()

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.USAGE if self.broken else ExitCode.OK
