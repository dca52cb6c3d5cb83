"""The ledger as a sequence of events: what happened to one request, when, by whom, proven by
which commit. Pure: built from a request's trail and its audit row; no I/O, no clock.

Each event is anchored on a commit on main (the merge, the runner's issue/end commit, the
post-review commit, the expiry warning's empty commit), so `(kind, request, commit)` identifies it for good: a SIEM stream can
de-duplicate on it and resume from a commit (see `jitflow.usecases.audit.stream`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from jitflow.core.audit_rows import AuditRow, Outcome, format_time
from jitflow.core.history import RequestTrail


class EventKind(StrEnum):
    """The ledger transitions an auditor asks about (the `Jitflow-Event` trailer, spelled out)."""

    MERGED = "request-merged"
    ISSUED = "issued"
    EXPIRED = "expired"
    REVOKED = "revoked"
    DENIED = "denied"
    FAILED = "failed"
    EXTENDED = "extended"  # ended because an approved extension replaced it
    WARNED = "expiry-warned"  # the requester was warned on the PR that the grant ends soon
    REVIEWED = "break-glass-reviewed"


_END_KINDS = {
    Outcome.EXPIRED: EventKind.EXPIRED,
    Outcome.REVOKED: EventKind.REVOKED,
    Outcome.DENIED: EventKind.DENIED,
    Outcome.FAILED: EventKind.FAILED,
    Outcome.EXTENDED: EventKind.EXTENDED,
}


@dataclass(frozen=True)
class LedgerEvent:
    """One transition of one request, with the facts an auditor or a SIEM rule needs."""

    kind: EventKind
    at: datetime
    actor: str  # who caused it: the merger, the runner, the revoker, the reviewer
    commit: str  # the commit on main that records it
    row: AuditRow  # the request as a whole (requester, policy, grant, approvers, times)
    detail: str = ""

    @property
    def uid(self) -> str:
        """Stable across exports: the same event always gets the same id."""
        return f"{self.row.id}:{self.kind.value}:{self.commit[:12]}"


def events_of(trail: RequestTrail, row: AuditRow) -> list[LedgerEvent]:
    """The request's events in the order they happened."""
    events: list[LedgerEvent] = []
    if trail.merge is not None:
        events.append(
            LedgerEvent(
                EventKind.MERGED,
                row.merged_at or trail.merge.at,
                row.merged_by or trail.merge.name,
                trail.merge.sha,
                row,
            )
        )
    if trail.issue is not None:
        issued_at = row.issued_at or trail.issue.at
        events.append(
            LedgerEvent(EventKind.ISSUED, issued_at, trail.issue.name, trail.issue.sha, row)
        )
    end_kind = _END_KINDS.get(row.outcome)
    end = trail.end or trail.revocation
    if end_kind is not None and end is not None:
        actor = row.ended_by or end.name
        events.append(
            LedgerEvent(end_kind, row.ended_at or end.at, actor, end.sha, row, row.outcome_detail)
        )
    for warning in trail.warnings:  # the runner's empty `Jitflow-Event: warn` commits
        expires = format_time(row.expires_at)
        detail = f"expires at {expires}" if expires else ""
        events.append(
            LedgerEvent(EventKind.WARNED, warning.at, warning.name, warning.sha, row, detail)
        )
    for review, reviewer in trail.post_reviews:
        events.append(LedgerEvent(EventKind.REVIEWED, review.at, reviewer, review.sha, row))
    return sorted(events, key=lambda e: e.at)
