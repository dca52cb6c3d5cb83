"""Extending an active grant: a request with `extends: <id>` (pure, no clock: `now` is passed).

An extension is a request like any other, under the extended grant's policy, with a few more
rules: the grant must be active, the requester's own and of the same policy; the policy must
allow extensions (`extension:`), and the grant's whole life, from its first issue to the new
end, must stay within `extension.total_max` (give or take a minute: issuing takes seconds). The new end is the grant's current end plus the
extension's `duration`. An extension by at most `extension.self_approve_up_to` needs no
approval.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from jitflow.core.durations import format_duration
from jitflow.core.model import ActiveGrant, Finding, Policy, Request
from jitflow.core.times import format_time

# Issuing takes a few seconds after the sync's clock was read: that is not a longer grant.
SLACK = timedelta(minutes=1)


def find_target(request: Request, active: Sequence[ActiveGrant]) -> ActiveGrant | None:
    return next((g for g in active if g.id == request.extends), None)


def new_end(target: ActiveGrant, duration: timedelta) -> datetime | None:
    """Where the grant ends once extended by `duration`."""
    return None if target.expires_at is None else target.expires_at + duration


def extension_findings(
    request: Request,
    policy: Policy,
    target: ActiveGrant | None,
    duration: timedelta | None,
    now: datetime,
) -> list[Finding]:
    """Why `request` can't extend its grant (empty when it can, or it extends nothing)."""
    if request.extends is None:
        return []
    out: list[Finding] = []

    def add(code: str, key: str, message: str) -> None:
        out.append(request.finding(code, key, message))

    grant_id = request.extends
    if policy.extension is None:
        add(
            "extension-not-allowed",
            "extends",
            f"policy {policy.name} does not allow extensions (it has no `extension:` rule); "
            "open a new request instead",
        )
    if request.start is not None:
        add(
            "extends-with-start",
            "start",
            "an extension starts when the grant would end: remove start",
        )
    if request.break_glass:
        add(
            "extends-break-glass",
            "break_glass",
            "an extension can't be break-glass: remove break_glass, or open a new break-glass request",
        )
    if target is None:
        add(
            "extends-unknown-grant",
            "extends",
            f"there is no active grant {grant_id!r} (requests/active/{grant_id}.yaml): it has "
            "ended, was already extended (extend the newest one), or never existed",
        )
        return out
    if target.requester.lower() != request.requester.lower():
        add(
            "extends-other-requester",
            "extends",
            f"grant {grant_id} belongs to {target.requester}: you can only extend your own grants",
        )
    if target.policy != policy.name:
        add(
            "extends-other-policy",
            "policy",
            f"grant {grant_id} is of policy {target.policy}, not {policy.name}: an extension "
            "names the grant's own policy",
        )
    if target.expires_at is None or target.expires_at <= now:
        ended = format_time(target.expires_at) if target.expires_at else "(unknown)"
        add(
            "extends-expired-grant",
            "extends",
            f"grant {grant_id} expired at {ended}: open a new request instead",
        )
        return out
    rule = policy.extension
    end = new_end(target, duration) if duration is not None else None
    if rule is not None and end is not None and target.started_at is not None:
        total = end - target.started_at
        if total > rule.total_max + SLACK:
            left = max(timedelta(0), target.started_at + rule.total_max - target.expires_at)
            add(
                "extension-over-total-max",
                "duration",
                f"extending {grant_id} by {format_duration(duration or timedelta(0))} would make it "
                f"last {format_duration(total)} from its first issue, above the policy's "
                f"extension.total_max of {format_duration(rule.total_max)}; at most "
                f"{format_duration(left)} can still be added",
            )
    return out


def self_approval_waiver(request: Request, policy: Policy, duration: timedelta | None) -> str:
    """Why no approval is needed (the policy lets requesters extend briefly), or ""."""
    rule = policy.extension
    if request.extends is None or rule is None or rule.self_approve_up_to is None:
        return ""
    if duration is None or duration > rule.self_approve_up_to:
        return ""
    return (
        f"an extension of your own grant by at most {format_duration(rule.self_approve_up_to)} "
        f"needs no approval (policy {policy.name}, extension.self_approve_up_to)"
    )
