"""Doctor's rules for on-call rotations (`policies/rotations.yaml`): pure, `now` passed in.

A policy that names a rotation the file doesn't define, or a rotation nobody holds, fails
closed: requests that rely on whoever is on call can't be approved (or waived). Each is a
setup mistake found here rather than at 3 a.m. Rotation logins are checked like the rest of
the repository's identities (offline, against policies/groups.yaml): a login no group lists
is warned about, since a typo there makes a stranger's account an approver.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from jitflow.core.doctor import Check, fail, ok, warn
from jitflow.core.model import Groups, Policy, Rotation
from jitflow.core.oncall import ONCALL_PATH, on_call

CHECK_ID = "repository.rotations"
LOOKAHEAD = timedelta(days=14)  # how far ahead a gap in a rotation is warned about
_STEP = timedelta(hours=1)


def named_rotations(policy: Policy) -> list[tuple[str, str]]:
    """(key, rotation) for every place the policy names a rotation."""
    named = [("requesters.oncall", r) for r in policy.requesters.oncall]
    named += [
        (f"approvals.rules[{index}].from.oncall", r)
        for index, rule in enumerate(policy.approval_rules)
        for r in rule.approvers.oncall
    ]
    return named + [("approvals.oncall_waives", r) for r in policy.oncall_waives]


def check_rotations(
    policies: Sequence[Policy],
    rotations: Mapping[str, Rotation] | None,
    groups: Groups,
    now: datetime,
    lookahead: timedelta = LOOKAHEAD,
) -> list[Check]:
    """`rotations`: the loaded file ({} when absent, None when it does not load)."""
    if rotations is None:
        return [
            fail(
                CHECK_ID,
                f"{ONCALL_PATH} does not load: every group and rotation is unusable, so "
                "requests are refused",
                f"fix {ONCALL_PATH} as the repository.policies lines say",
            )
        ]
    undefined = [
        f"{policy.path}: {key} names rotation {name!r}, but {ONCALL_PATH} does not define it: "
        "nobody is on call in it"
        for policy in policies
        for key, name in named_rotations(policy)
        if name not in rotations
    ]
    checks = []
    if undefined:
        checks.append(
            fail(
                f"{CHECK_ID}.defined",
                f"{len(undefined)} policy rule(s) name a rotation that does not exist",
                f"define each rotation in {ONCALL_PATH} or fix the name in the policy",
                undefined,
            )
        )
    used = {name for p in policies for _, name in named_rotations(p)}
    if not rotations:
        if not undefined:
            checks.append(ok(CHECK_ID, "no on-call rotations defined or named"))
        return checks
    for name in sorted(rotations):
        checks.append(_coverage(rotations[name], name in used, now, lookahead))
    strangers = _strangers(rotations, groups)
    if strangers:
        checks.append(
            warn(
                f"{CHECK_ID}.logins",
                f"{len(strangers)} on-call login(s) are in no group of policies/groups.yaml",
                "check each spelling (a typo makes someone else's account an approver) or add "
                "the login to its team's group",
                strangers,
            )
        )
    return checks


def _coverage(rotation: Rotation, used: bool, now: datetime, lookahead: timedelta) -> Check:
    """Someone on call now, or else when someone first is within the lookahead (weekly turns
    never leave a gap once started; before `start`, or with an unknown zone, nobody is)."""
    check_id = f"{CHECK_ID}.{rotation.name}"
    unused = "" if used else " (no policy names it)"
    holder = on_call(rotation, now)
    if holder is not None:
        return ok(check_id, f"@{holder} is on call in {rotation.name} now{unused}")
    first = _first_holder(rotation, now, lookahead)
    when = (
        f"the first turn starts {first.strftime('%Y-%m-%dT%H:%MZ')}"
        if first
        else f"nor in the next {lookahead.days} days"
    )
    start = f"{rotation.start.isoformat()} {rotation.handoff.strftime('%H:%M')}"
    return warn(
        check_id,
        f"nobody is on call in {rotation.name} now, {when}{unused}: requests relying on it "
        "can't be approved (or waived) by whoever is on call until then",
        f"check `start` ({start} {rotation.timezone}) in {ONCALL_PATH}, or add an override",
    )


def _first_holder(rotation: Rotation, now: datetime, lookahead: timedelta) -> datetime | None:
    moment = now
    while moment <= now + lookahead:
        if on_call(rotation, moment) is not None:
            return moment
        moment += _STEP
    return None


def _strangers(rotations: Mapping[str, Rotation], groups: Groups) -> list[str]:
    known = {m.lower() for members in groups.members.values() for m in members}
    found = []
    for name in sorted(rotations):
        rotation = rotations[name]
        logins = [*rotation.members, *(o.login for o in rotation.overrides)]
        for login in dict.fromkeys(logins):
            if login.lower() not in known:
                found.append(f"{ONCALL_PATH}: rotation {name}: @{login}")
    return found


__all__ = ["CHECK_ID", "LOOKAHEAD", "check_rotations", "named_rotations"]
