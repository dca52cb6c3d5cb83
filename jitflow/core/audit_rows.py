"""Audit rows: one request's trail plus its newest ledger record, as the report shows it.

Pure (no I/O): `build_row` combines what history says (commits, trailers) with what the
record says (grant and ended blocks); the record wins where both speak.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from jitflow.core import times
from jitflow.core.history import RequestTrail, parse_time, split_list
from jitflow.core.live_sessions import not_revocable_why

if TYPE_CHECKING:
    from jitflow.core.model import Groups, Policy


class Outcome(StrEnum):
    """Where a request's life stands, or how it ended."""

    WAITING = "waiting"  # merged, not issued yet (future start)
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    DENIED = "denied"
    FAILED = "failed"
    EXTENDED = "extended"  # replaced by an approved extension (its own row goes on)


# Evidence and AuditRow are named tuples, not frozen dataclasses: an audit builds one per
# request (100,000 at 100,000 grants) and a 30-field frozen dataclass costs ~5x more to make.
class Evidence(NamedTuple):
    request_commit: str = ""
    merge_commit: str = ""
    issue_commit: str = ""
    end_commit: str = ""
    revocation_commit: str = ""
    policy_commit: str = ""  # the merge's first parent, whose policies decided


class AuditRow(NamedTuple):
    """One request as the audit report shows it."""

    id: str
    requester: str
    policy: str
    kind: str
    resource: str
    reason: str
    ticket: str
    break_glass: bool
    requested_at: datetime | None
    approvers: tuple[str, ...]
    merged_at: datetime | None
    merged_by: str
    pr: int | None
    issued_at: datetime | None
    expires_at: datetime | None
    ended_at: datetime | None
    outcome: Outcome
    ended_by: str
    outcome_detail: str
    evidence: Evidence
    approved_at: tuple[tuple[str, datetime], ...] = ()  # (login, when), where recorded
    requested_seconds: int | None = None
    granted_seconds: int | None = None
    extends: str = ""  # the grant this one extended (and replaced)
    extended_by: str = ""  # the extension that replaced this grant
    warned_at: datetime | None = None  # when the runner warned the requester of the expiry
    oncall: tuple[tuple[str, str], ...] = ()  # (approver, rotation): approved as on call
    oncall_waived: str = ""  # the rotation whose on-call requester needed no approval
    not_revocable: str = ""  # why the grant's credentials can't be revoked early ("" if they can)
    end_note: str = ""  # `ended.note`: ended early, yet its credentials stay valid until ...

    def approvers_shown(self) -> list[str]:
        """Approvers as reports list them: on-call approvals and waivers say so."""
        rotations = dict(self.oncall)
        shown = [f"{a} (on call: {rotations[a]})" if a in rotations else a for a in self.approvers]
        if self.oncall_waived:
            shown.append(f"waived: {self.requester} on call in {self.oncall_waived}")
        return shown

    def span(self, now: datetime) -> tuple[datetime, datetime] | None:
        """The time the grant existed (or the request's moment when never issued)."""
        start = self.issued_at or self.merged_at or self.requested_at
        if start is None:
            return None
        end = self.ended_at or start
        if self.outcome in (Outcome.ACTIVE, Outcome.WAITING) and self.ended_at is None:
            end = max(now, self.expires_at or now)  # still running: at least until expiry
        return start, max(start, end)

    def overlaps(self, since: datetime | None, until: datetime | None, now: datetime) -> bool:
        span = self.span(now)
        if span is None:
            return since is None and until is None
        return (until is None or span[0] <= until) and (since is None or span[1] >= since)


def format_time(value: datetime | None) -> str:
    """The ledger's timestamp form, or "" for a time that is not known."""
    return times.format_time(value) if value else ""


def as_mapping(value: object) -> Mapping[str, Any]:
    """A YAML value as a mapping; anything else reads as empty."""
    if type(value) is dict:  # what the record readers make: skip the ABC's check
        return value
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str:
    return "" if value is None else str(value)


def describe_resource(grant: Mapping[str, Any]) -> str:
    """A short name of what was granted, used to group the timeline."""
    kind = _text(grant.get("kind"))
    if grant.get("group"):
        return f"group {grant['group']}"
    if grant.get("mount") or grant.get("role"):
        return "/".join(p for p in (_text(grant.get("mount")), _text(grant.get("role"))) if p)
    policies = grant.get("policies")
    if isinstance(policies, list) and policies:
        return "policies " + ",".join(str(p) for p in policies)
    return kind


def _resource(grant: Mapping[str, Any], policy: str) -> str:
    """What was granted; a kind with no mount/role/group (a vault token) is named by policy."""
    if not grant:
        return ""
    described = describe_resource(grant)
    return f"{described} ({policy})" if described == _text(grant.get("kind")) else described


def build_row(trail: RequestTrail, record: Mapping[str, Any] | None) -> AuditRow:
    """Combine a trail with its newest ledger record (archive, active or request text)."""
    data = as_mapping(record)
    grant = as_mapping(data.get("grant"))
    ended = as_mapping(data.get("ended"))
    trailers = trail.issue_trailers
    if ended:
        outcome = _outcome(_text(ended.get("reason")) or trail.end_event)
    elif trail.end is not None:
        outcome = _outcome(trail.end_event)
    elif trail.revocation is not None:
        outcome = Outcome.REVOKED
    elif grant or trail.issue is not None:
        outcome = Outcome.ACTIVE
    else:
        outcome = Outcome.WAITING
    approvers = grant.get("approved_by")
    if not isinstance(approvers, list):
        approvers = split_list(trailers.get("jitflow-approved-by", ""))
    findings = ended.get("findings")
    detail = ""
    if isinstance(findings, list):
        detail = "; ".join(
            f"{_text(as_mapping(f).get('code'))}: {_text(as_mapping(f).get('message'))}"
            for f in findings
        )
    if not detail and ended.get("extended_by"):
        how = {"in-place": " in place", "replacement": " (replaced)"}
        detail = (
            f"extended{how.get(_text(ended.get('extension')), '')} by "
            f"{_text(ended.get('extended_by'))}"
        )
    ended_by = _text(ended.get("by"))
    if not ended_by and trail.revocation is not None:
        ended_by = trail.revocation.name
    pr = grant.get("pr", trail.merge_pr)
    return AuditRow(
        id=trail.id,
        requester=_text(data.get("requester")) or trailers.get("jitflow-requester", ""),
        policy=_text(data.get("policy")) or trailers.get("jitflow-policy", ""),
        kind=_text(grant.get("kind")),
        resource=_resource(grant, _text(data.get("policy"))),
        reason=_text(data.get("reason")),
        ticket=_text(data.get("ticket")),
        break_glass=data.get("break_glass") is True or grant.get("break_glass") is True,
        requested_at=trail.requested.at if trail.requested else None,
        approvers=tuple(map(str, approvers)),
        merged_at=parse_time(grant.get("merged_at")) or (trail.merge.at if trail.merge else None),
        merged_by=_text(grant.get("merged_by")) or (trail.merge.name if trail.merge else ""),
        pr=pr if isinstance(pr, int) else None,
        issued_at=parse_time(grant.get("issued_at")) or (trail.issue.at if trail.issue else None),
        expires_at=parse_time(grant.get("expires_at"))
        or parse_time(trailers.get("jitflow-expires")),
        ended_at=parse_time(ended.get("at"))
        or (trail.end.at if trail.end else None)
        or (trail.revocation.at if trail.revocation else None),
        outcome=outcome,
        ended_by=ended_by,
        outcome_detail=detail,
        oncall=_oncall(grant.get("approved_by_oncall")),
        oncall_waived=_text(grant.get("oncall_waived")),
        not_revocable=not_revocable_why(_text(grant.get("kind")), as_mapping(grant.get("vault"))),
        end_note=_text(ended.get("note")),
        evidence=Evidence(
            request_commit=trail.requested.sha if trail.requested else "",
            merge_commit=trail.merge.sha if trail.merge else "",
            issue_commit=trail.issue.sha if trail.issue else "",
            end_commit=trail.end.sha if trail.end else "",
            revocation_commit=trail.revocation.sha if trail.revocation else "",
            policy_commit=_text(grant.get("policy_commit"))
            or (trail.merge_parents[0] if trail.merge_parents else ""),
        ),
        approved_at=_approval_times(grant.get("approved_at")),
        requested_seconds=_seconds(grant.get("requested_seconds")),
        granted_seconds=_seconds(grant.get("granted_seconds")),
        extends=_text(grant.get("extends")),
        extended_by=_text(ended.get("extended_by")),
        warned_at=min(w.at for w in trail.warnings) if trail.warnings else None,
    )


def _oncall(value: object) -> tuple[tuple[str, str], ...]:
    if not value:
        return ()
    return tuple(sorted((str(k), str(v)) for k, v in as_mapping(value).items()))


def _approval_times(value: object) -> tuple[tuple[str, datetime], ...]:
    if not value:
        return ()
    times = ((str(k), parse_time(v)) for k, v in as_mapping(value).items())
    return tuple((login, at) for login, at in times if at is not None)


def _seconds(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _outcome(text: str) -> Outcome:
    aliases = {
        "expire": "expired",
        "revoke": "revoked",
        "deny": "denied",
        "fail": "failed",
        "extend": "extended",
    }
    try:
        return Outcome(aliases.get(text, text))
    except ValueError:
        return Outcome.EXPIRED if not text else Outcome.FAILED


# -- approval rules ---------------------------------------------------------------------


def approval_shortfalls(
    policy: Policy, groups: Groups, requester: str, approved_by: Sequence[str]
) -> list[str]:
    """Why recorded approvals don't satisfy the policy's rules (empty when they do).

    The requester never counts, except once per rule they are eligible for when the policy
    sets `allow_self_approval` (the same reading as `jitflow.core.approvals`). GitHub teams
    can't be resolved offline, so team members count for nobody here.
    """
    from jitflow.core.approvals import members

    approvers = {a.lower() for a in approved_by}
    approvers.discard(requester.lower())
    problems = []
    for number, rule in enumerate(policy.approval_rules, start=1):
        eligible = members(rule.approvers, groups, {})
        got = approvers & eligible
        if policy.allow_self_approval and requester.lower() in eligible:
            got = got | {requester.lower()}
        if len(got) < rule.count:
            problems.append(
                f"rule {number} needs {rule.count} approval(s) from "
                f"{rule.approvers.describe()}; the record has {len(got)}"
            )
    return problems
