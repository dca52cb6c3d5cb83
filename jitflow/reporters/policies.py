"""`jitflow policies`'s output: each policy's grant, durations, requesters and approvals."""

from __future__ import annotations

import json

from jitflow.core.durations import format_duration
from jitflow.core.policy_listing import PolicyListing


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
