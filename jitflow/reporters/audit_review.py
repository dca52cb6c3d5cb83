"""`jitflow audit review`'s output: one Markdown access review per policy."""

from __future__ import annotations

from datetime import datetime

from jitflow.core.access_review import PolicyReview
from jitflow.core.audit_rows import format_time
from jitflow.core.durations import format_duration


def render_review(
    name: str, review: PolicyReview, *, since: datetime, now: datetime, head: str
) -> str:
    lines = [
        f"# Access review: {name}",
        "",
        f"Period {format_time(since)} to {format_time(now)} "
        f"({format_duration(now - since)}), from git history at `{head[:12]}`.",
        "",
    ]
    usages = sorted(review.by_requester.items(), key=lambda kv: (-kv[1].hours, kv[0]))
    grants = sum(u.grants for _, u in usages)
    hours = sum(u.hours for _, u in usages)
    denied = sum(u.denied for _, u in usages)
    lines += [
        f"- Grants: **{grants}**, total **{hours:.1f} h**",
        f"- Requests denied: **{denied}**",
        f"- People who used it: **{sum(1 for _, u in usages if u.grants)}**",
        "",
        "## Who used it",
        "",
        "| Requester | Grants | Hours | Revoked | Break-glass | Denied | Last used |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for login, usage in usages:
        lines.append(
            f"| {login} | {usage.grants} | {usage.hours:.1f} | {usage.revoked} | "
            f"{usage.break_glass} | {usage.denied} | {format_time(usage.last_used) or '-'} |"
        )
    if review.approvers:
        lines += ["", "## Approvals given", "", "| Approver | Approvals |", "|---|---:|"]
        for login, count in sorted(review.approvers.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"| {login} | {count} |")
    if review.denials:
        lines += ["", "## Denied requests", "", "| Request | Requester | Why |", "|---|---|---|"]
        for row in review.denials:
            why = (row.outcome_detail or "-").replace("|", "\\|")
            lines.append(f"| `{row.id}` | {row.requester} | {why} |")
    lines += [
        "",
        "## Questions for the reviewer",
        "",
        "- Does everyone above still need this access?",
        "- Should people with no grants in the period leave the requester groups?",
        "",
    ]
    return "\n".join(lines)
