"""The invariant checks of `jitflow audit verify`, one request (or Vault) at a time.

Pure judgement over what history and the ledger record say; the codes are listed in
`jitflow.usecases.audit.verify`, which reads history and feeds these checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from jitflow.adapters.git import Git, graph
from jitflow.core.approvals import approvers_of
from jitflow.core.audit_rows import AuditRow, approval_shortfalls, as_mapping
from jitflow.core.history import RequestTrail, login_matches, parse_time
from jitflow.core.model import Groups, Policy
from jitflow.core.oncall import at_time, claim_problems, waiver_holds
from jitflow.core.times import format_time
from jitflow.core.verify_report import Violation
from jitflow.usecases.audit.gitlog import LedgerEntry
from jitflow.usecases.audit.landing import Landing, recorded_landing


class LiveToken(Protocol):
    @property
    def accessor(self) -> str: ...

    @property
    def request_id(self) -> str | None: ...

    @property
    def expire_time(self) -> datetime | None: ...


class TokenSource(Protocol):
    """What `--vault` needs from Vault: the live tokens jitflow created."""

    def list_jitflow_tokens(self) -> Sequence[LiveToken]: ...


def text_field(record: Mapping[str, Any] | None, key: str) -> str:
    """A string field of a ledger record, or "" when missing or not a string."""
    value = as_mapping(record).get(key)
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class Checked:
    """One request under check: its ledger entry, its audit row, its record's grant block, and
    the policy and groups its merge was judged by."""

    entry: LedgerEntry
    row: AuditRow
    grant: Mapping[str, Any]
    policy: tuple[Policy | None, Groups]


def check_entry(checked: Checked, git: Git, now: datetime, tolerance: timedelta) -> list[Violation]:
    entry, grant = checked.entry, checked.grant
    trail, rid = entry.trail, entry.trail.id
    found = [
        Violation(
            "ledger-written-by-other",
            rid,
            w.sha,
            f"{w.path} was changed by {w.author_email} (committer {w.committer_email}); only "
            "the runner may write the ledger",
        )
        for w in trail.foreign_writes
    ]
    landing = recorded_landing(git, trail, grant) if trail.issue is not None else None
    found += [
        Violation(
            "request-modified-after-merge",
            rid,
            sha,
            f"requests/{rid}.yaml was changed on main after it was merged",
        )
        for sha in trail.modified_after_merge
        if landing is None or sha not in landing.commits
    ]
    request_text = _request_text_at(git, landing, rid) if landing else entry.request_text
    if (
        request_text is not None
        and entry.record_text is not None
        and not entry.record_text.startswith(request_text)
    ):
        sha = trail.issue.sha if trail.issue else (trail.end.sha if trail.end else "")
        found.append(
            Violation(
                "request-rewritten",
                rid,
                sha,
                "the ledger record does not start with the request text as merged",
            )
        )
    if trail.issue is None:
        return found
    found += _check_origin(checked, git, landing)
    found += _check_end(checked, now, tolerance)
    return found


def _check_origin(checked: Checked, git: Git, landing: Landing | None = None) -> list[Violation]:
    entry, row, grant, policy = checked.entry, checked.row, checked.grant, checked.policy
    trail, rid = entry.trail, entry.trail.id
    issue_sha = trail.issue.sha if trail.issue else ""
    if trail.merge is None:
        return [
            Violation(
                "grant-without-merged-request",
                rid,
                issue_sha,
                f"a grant became active but no merge on main added requests/{rid}.yaml",
            )
        ]
    found: list[Violation] = []
    if trail.requested is None or not login_matches(trail.requested, row.requester):
        who = trail.requested.email if trail.requested else "nobody"
        found.append(
            Violation(
                "request-not-by-requester",
                rid,
                trail.requested.sha if trail.requested else trail.merge.sha,
                f"the request was added by {who}, not by {row.requester}",
            )
        )
    recorded = grant.get("merge_commit")
    if recorded != trail.merge.sha and landing is None:
        found.append(
            Violation(
                "merge-commit-mismatch",
                rid,
                trail.merge.sha,
                f"the grant names merge {recorded}, history shows {trail.merge.sha}",
            )
        )
        if isinstance(recorded, str) and not graph.is_ancestor(git, recorded, "HEAD"):
            found.append(
                Violation(
                    "merge-commit-not-in-history",
                    rid,
                    recorded,
                    "the recorded merge commit is not an ancestor of HEAD: "
                    "main's history was rewritten",
                )
            )
    if trail.merge_pr is not None and grant.get("pr") != trail.merge_pr:
        found.append(
            Violation(
                "pr-mismatch",
                rid,
                trail.merge.sha,
                f"the grant names PR {grant.get('pr')}, the merge is PR #{trail.merge_pr}",
            )
        )
    parent = trail.merge_parents[0] if trail.merge_parents else ""
    if grant.get("policy_commit") != parent and landing is None:
        found.append(
            Violation(
                "policy-commit-mismatch",
                rid,
                trail.merge.sha,
                f"the grant names policy commit {grant.get('policy_commit')}, "
                f"the merge's first parent is {parent}",
            )
        )
    terms, groups = policy
    if terms is None:
        found.append(
            Violation(
                "policy-missing",
                rid,
                parent,
                f"policies/{row.policy}.yaml (or groups.yaml) is missing or invalid at the merge's parent",
            )
        )
        return found
    when = row.merged_at or trail.merge.at
    groups = at_time(groups, when) if when else groups  # who was on call at the merge
    claims = claim_problems(grant, row.requester, terms, groups)
    found += [Violation("oncall-approval-unfounded", rid, trail.merge.sha, m) for m in claims]
    waived = waiver_holds(grant, row.requester, terms, groups)
    # an extension's approvals are judged with its policy's extension rule (audit.extensions)
    extension = bool(grant.get("extends") or as_mapping(entry.record).get("extends"))
    shortfalls = [] if waived else approval_shortfalls(terms, groups, row.requester, row.approvers)
    if shortfalls and not extension:
        found.append(
            Violation("approvals-insufficient", rid, trail.merge.sha, "; ".join(shortfalls))
        )
    return found


def _check_end(checked: Checked, now: datetime, tolerance: timedelta) -> list[Violation]:
    row, grant, policy = checked.row, checked.grant, checked.policy
    trail, record = checked.entry.trail, checked.entry.record
    terms, groups = policy
    rid, issue_sha = row.id, trail.issue.sha if trail.issue else ""
    if not grant or row.expires_at is None or row.issued_at is None:
        return [
            Violation(
                "grant-record-malformed",
                rid,
                issue_sha,
                "the active or archive record lacks a grant block with expires_at",
            )
        ]
    found = _check_times(trail, row, grant, terms, tolerance)
    deadline = row.expires_at + tolerance
    if row.ended_at is not None and row.ended_at > deadline:
        found.append(
            Violation(
                "ended-late",
                rid,
                row.evidence.end_commit or issue_sha,
                f"ended {format_time(row.ended_at)}, later than expiry "
                f"{format_time(row.expires_at)} plus {tolerance}",
            )
        )
    if row.ended_at is None and now > deadline:
        found.append(
            Violation(
                "grant-overdue",
                rid,
                issue_sha,
                f"still active at {format_time(now)}, past expiry "
                f"{format_time(row.expires_at)} plus {tolerance}",
            )
        )
    if row.break_glass:
        window = terms.break_glass.post_review_within if terms else timedelta(hours=24)
        due = row.issued_at + window
        reviews = [(ref.at, who) for ref, who in trail.post_reviews]
        block = as_mapping(as_mapping(record).get("post_review"))
        if block:
            reviews.append(
                (parse_time(block.get("at")) or due + timedelta(1), str(block.get("by")))
            )
        # teams can't be resolved offline: their members count for nobody here
        eligible = approvers_of(terms, groups, {}) if terms else set()
        eligible.discard(row.requester.lower())
        ok = any(at <= due and who.lower() in eligible for at, who in reviews)
        if not ok and now > due:
            found.append(
                Violation(
                    "break-glass-unreviewed",
                    rid,
                    issue_sha,
                    f"break-glass grant had no post-hoc review within {window} by an approver "
                    f"of {row.policy} other than {row.requester}"
                    + (
                        f" (reviews by: {', '.join(sorted({w for _, w in reviews}))})"
                        if reviews
                        else ""
                    ),
                )
            )
    return found


# Vault computes expire_time on its own clock: a second or two beyond the policy's maximum
# is that clock, not a longer grant.
_CLOCK_SLACK = timedelta(seconds=60)


def _check_times(
    trail: RequestTrail,
    row: AuditRow,
    grant: Mapping[str, Any],
    terms: Policy | None,
    tolerance: timedelta,
) -> list[Violation]:
    """The record's times must agree with the policy and with the commits that wrote them."""
    rid, issue_sha = row.id, trail.issue.sha if trail.issue else ""
    issued, expires = row.issued_at, row.expires_at
    assert issued is not None and expires is not None
    found: list[Violation] = []
    if terms is not None and not grant.get("extends"):  # extensions: extension.total_max
        limit = terms.max_duration
        if row.break_glass and terms.break_glass.max_duration is not None:
            limit = min(limit, terms.break_glass.max_duration)
        if expires - issued > limit + _CLOCK_SLACK:
            found.append(
                Violation(
                    "grant-longer-than-policy",
                    rid,
                    issue_sha,
                    f"expires_at {format_time(expires)} - issued_at {format_time(issued)} = "
                    f"{expires - issued}, above the maximum {limit} of policy {row.policy} "
                    "at the policy commit",
                )
            )
    recorded_issue = parse_time(grant.get("issued_at"))
    if trail.issue and recorded_issue and abs(recorded_issue - trail.issue.at) > tolerance:
        found.append(
            Violation(
                "issued-at-mismatch",
                rid,
                issue_sha,
                f"issued_at {format_time(recorded_issue)} is more than {tolerance} from its issue "
                f"commit's time {format_time(trail.issue.at)}",
            )
        )
    ended = row.ended_at
    if ended is not None and ended < issued:
        found.append(
            Violation(
                "ended-before-issued",
                rid,
                row.evidence.end_commit or issue_sha,
                f"ended.at {format_time(ended)} is before issued_at {format_time(issued)}",
            )
        )
    if trail.end is not None and ended is not None and abs(ended - trail.end.at) > tolerance:
        found.append(
            Violation(
                "ended-at-mismatch",
                rid,
                trail.end.sha,
                f"ended.at {format_time(ended)} is more than {tolerance} from its end commit's "
                f"time {format_time(trail.end.at)}",
            )
        )
    return found


def check_vault(
    tokens: TokenSource,
    grants: Sequence[tuple[str, str]],
    owners: Mapping[str, str] | None = None,
    ends: Mapping[str, datetime] | None = None,
) -> list[Violation]:
    """`grants`: (accessor, request id) of every active grant in git; `owners`: by accessor,
    the request a token extended in place was issued for (its metadata names that one);
    `ends`: by accessor, the end the ledger says Vault enforces (`vault-end-differs`)."""
    listed = tokens.list_jitflow_tokens()
    live = {t.accessor: t.request_id or "" for t in listed}
    active = dict(grants)
    owner = {accessor: (owners or {}).get(accessor, rid) for accessor, rid in grants}
    found = [
        Violation(
            "vault-token-other-request",
            request_id,
            "",
            f"the grant's accessor {accessor} belongs to a Vault token whose metadata names "
            f"request {live[accessor]!r}, not {owner[accessor]!r}",
        )
        for accessor, request_id in sorted(grants)
        if live.get(accessor) and live[accessor] != owner[accessor]
    ]
    found += [
        Violation(
            "vault-token-without-grant",
            request_id,
            "",
            f"Vault has a live jitflow token (accessor {accessor}) with no active grant in git",
        )
        for accessor, request_id in sorted(live.items())
        if accessor not in active
    ]
    found += [
        Violation(
            "grant-without-vault-token",
            request_id,
            "",
            f"git says the grant is active but Vault has no live token with accessor {accessor}",
        )
        for accessor, request_id in sorted(active.items())
        if accessor not in live
    ]
    return found + _end_differs(listed, active, ends or {})


# Vault's expiry is recorded to the second; more than this apart is not the same end.
END_TOLERANCE = timedelta(minutes=1)


def _end_differs(
    listed: Sequence[LiveToken], active: Mapping[str, str], ends: Mapping[str, datetime]
) -> list[Violation]:
    found = []
    for token in listed:
        ledger_end = ends.get(token.accessor)
        vault_end = token.expire_time
        if ledger_end is None or vault_end is None:
            continue
        if abs(vault_end - ledger_end) > END_TOLERANCE:
            found.append(
                Violation(
                    "vault-end-differs",
                    active.get(token.accessor, ""),
                    "",
                    f"Vault ends the token (accessor {token.accessor}) at "
                    f"{format_time(vault_end)}, the ledger at {format_time(ledger_end)}",
                )
            )
    return found


def _request_text_at(git: Git, landing: Landing, request_id: str) -> bytes | None:
    """The request as the recorded landing merged it (a later commit of the line may have
    changed what its first commit added)."""
    return git.show_bytes(landing.merge, f"requests/{request_id}.yaml")
