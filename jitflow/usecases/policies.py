"""`jitflow policies`: what can be requested, by whom, approved by whom."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from jitflow.adapters.git import Git
from jitflow.core.approvals import members
from jitflow.core.durations import format_duration
from jitflow.core.loading import GROUPS_PATH
from jitflow.core.model import Finding, Groups, Policy
from jitflow.errors import ExitCode
from jitflow.usecases.repository import all_policy_names, read_policies, snapshot


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


def list_policies(repo: Path, ref: str, login: str | None) -> PolicyListing:
    git = Git(repo)
    commit = git.rev_parse(ref)
    loaded = read_policies(git, commit, all_policy_names(git, commit))
    groups_loaded = snapshot(git, commit).groups
    groups = groups_loaded.value or Groups()
    good = [p.value for p in loaded.values() if p.value is not None]
    if login:
        good = [p for p in good if login.lower() in members(p.requesters, groups, {})]
    broken = (*groups_loaded.findings, *(f for p in loaded.values() for f in p.findings))
    notes = []
    if groups.missing:
        notes.append(f"{GROUPS_PATH} does not exist, so every group named by a policy is empty")
    if login and not good and not broken:
        notes.append(f"{login} may request none of these policies")
    return PolicyListing(tuple(good), tuple(broken), groups, tuple(notes))


def render_policies(listing: PolicyListing, output_format: str) -> str:
    if output_format == "json":
        return (
            json.dumps(
                [
                    {
                        "name": p.name,
                        "description": p.description,
                        "grant": {
                            "kind": p.grant.kind.value,
                            "mount": p.grant.mount,
                            "role": p.grant.role,
                        },
                        "default_duration": format_duration(p.default_duration),
                        "max_duration": format_duration(p.max_duration),
                        "requesters": {
                            "groups": list(p.requesters.groups),
                            "users": list(p.requesters.users),
                        },
                        "approvals": [
                            {
                                "count": r.count,
                                "groups": list(r.approvers.groups),
                                "users": list(r.approvers.users),
                            }
                            for r in p.approval_rules
                        ],
                        "break_glass": p.break_glass.allowed,
                    }
                    for p in listing.policies
                ],
                indent=2,
            )
            + "\n"
        )
    lines = []
    for p in listing.policies:
        lines.append(f"{p.name}  - {p.description}")
        lines.append(f"    grants     {p.grant.describe()}")
        lines.append(
            f"    duration   default {format_duration(p.default_duration)}, max {format_duration(p.max_duration)}"
        )
        lines.append(f"    requesters {p.requesters.describe()}")
        for index, rule in enumerate(p.approval_rules, start=1):
            lines.append(f"    approval   {index}: {rule.count} from {rule.approvers.describe()}")
        if p.allow_self_approval:
            lines.append(
                "    note       self-approval counts once for requesters who are approvers"
            )
        if p.break_glass.allowed:
            lines.append("    note       break-glass allowed (reviewed afterwards)")
    if not listing.policies and not listing.broken and not listing.notes:
        lines.append("no policies found")
    return "\n".join(lines) + "\n" if lines else ""


def policy_problems(listing: PolicyListing) -> list[str]:
    """One line per problem, for stderr: broken files first, then notes."""
    lines = [f"error: {f.path}:{f.line}:{f.column}: {f.message}" for f in listing.broken]
    return lines + [f"note: {note}" for note in listing.notes]
