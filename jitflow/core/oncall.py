"""On-call rotations as code: `policies/rotations.yaml`, and who was on call at a moment.

Pure: the rotation file at a commit and a time in, a login out. Because the file is in the
repository, who was on call at any past moment is in its history: the gate decides with the
rotation at the PR's base and the current time, sync with the rotation at the policy commit
and the merge time, and `audit verify` re-derives the same from history.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from jitflow.core.model import Finding, Groups, OnCallOverride, Policy, Rotation

ONCALL_PATH = "policies/rotations.yaml"
_WEEK = timedelta(days=7)


def _zone(name: str) -> Any:
    """The IANA timezone, or None when this machine does not know it."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _utc(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def rotations_from(
    data: Any, path: str, position: Any
) -> tuple[dict[str, Rotation], list[Finding]]:
    """Rotations from a schema-valid document; `position(json_path)` locates a value."""
    rotations: dict[str, Rotation] = {}
    findings: list[Finding] = []

    def bad(where: tuple[Any, ...], message: str) -> None:
        line, column = position(where)
        findings.append(Finding("schema", message, path, line, column))

    for name, body in data["rotations"].items():
        where = ("rotations", name)
        if _zone(body["timezone"]) is None:
            bad((*where, "timezone"), f"unknown timezone {body['timezone']!r}; use an IANA name "
                "such as Europe/Berlin, America/New_York or UTC")  # fmt: skip
        try:
            start = date.fromisoformat(body["start"])
        except ValueError:
            bad((*where, "start"), f"{body['start']!r} is not a calendar date (YYYY-MM-DD)")
            continue
        overrides = []
        for index, item in enumerate(body.get("overrides", ())):
            begin, end = _utc(item["start"]), _utc(item["end"])
            if end <= begin:
                bad((*where, "overrides", index, "end"), "an override must end after its start")
            overrides.append(OnCallOverride(item["login"], begin, end))
        hours, minutes = (int(part) for part in body["handoff"].split(":"))
        rotations[name] = Rotation(
            name, tuple(body["members"]), start, time(hours, minutes), body["timezone"],
            tuple(overrides),
        )  # fmt: skip
    return rotations, findings


def on_call(rotation: Rotation, at: datetime) -> str | None:
    """Who holds `rotation` at `at` (None: before its first hand-off, or an unknown zone)."""
    for override in reversed(rotation.overrides):
        if override.start <= at < override.end:
            return override.login
    zone = _zone(rotation.timezone)
    if zone is None:
        return None
    local = at.astimezone(zone)
    weeks = (local.date() - rotation.start).days // 7
    handoff = datetime.combine(rotation.start + weeks * _WEEK, rotation.handoff, tzinfo=zone)
    if local < handoff:
        weeks -= 1  # the hand-off day, before the hand-off time
    if weeks < 0:
        return None
    return rotation.members[weeks % len(rotation.members)]


def at_time(groups: Groups, at: datetime) -> Groups:
    """`groups` with who is on call in each rotation at `at` (the decision's time)."""
    holders = {name: on_call(r, at) for name, r in groups.rotations.items()}
    return replace(groups, on_call={name: login for name, login in holders.items() if login})


def undefined_rotations(names: tuple[str, ...], groups: Groups) -> list[str]:
    return [name for name in names if name not in groups.rotations]


def claim_problems(grant: Any, requester: str, policy: Policy, groups: Groups) -> list[str]:
    """Why a ledger record's on-call claims don't hold under `policy` and `groups` resolved
    at the merge (`at_time`): each `approved_by_oncall` login must have held that rotation,
    which one of the policy's rules names; an `oncall_waived` requester must have held a
    rotation the policy's `approvals.oncall_waives` names."""
    problems = []
    claims = grant.get("approved_by_oncall") if isinstance(grant, dict) else None
    named = {r for rule in policy.approval_rules for r in rule.approvers.oncall}
    for login, rotation in (claims if isinstance(claims, dict) else {}).items():
        holder = groups.on_call.get(str(rotation))
        if rotation not in named:
            problems.append(f"@{login} approved as on call in {rotation}, which no rule names")
        elif holder is None or holder.lower() != str(login).lower():
            problems.append(
                f"@{login} approved as on call in {rotation}, but at the merge "
                f"{'@' + holder if holder else 'nobody'} was on call (policies/rotations.yaml at "
                "the policy commit)"
            )
    waived = grant.get("oncall_waived") if isinstance(grant, dict) else None
    if waived and not waiver_holds(grant, requester, policy, groups):
        holder = groups.on_call.get(str(waived))
        problems.append(
            f"approval waived because @{requester} was on call in {waived}, but at the merge "
            f"{'@' + holder if holder else 'nobody'} was (or the policy allows no such waiver)"
        )
    return problems


def waiver_holds(grant: Any, requester: str, policy: Policy, groups: Groups) -> bool:
    """Whether the record's `oncall_waived` rotation really waived approval for `requester`."""
    rotation = grant.get("oncall_waived") if isinstance(grant, dict) else None
    if not rotation or rotation not in policy.oncall_waives:
        return False
    return groups.on_call.get(str(rotation), "").lower() == requester.lower()
