"""`jitflow audit verify`: prove the ledger's invariants from git history, with evidence.

Checked for every request on main (codes are stable):

- `ledger-written-by-other`: requests/active/ or requests/archive/ changed by someone other
  than the runner (author and committer email), except deleting active files in a revocation
  PR (a change on main whose only changes delete requests/active/<id>.yaml, and its branch).
- `grant-without-merged-request`, `request-not-by-requester`, `merge-commit-mismatch`,
  `merge-commit-not-in-history`, `pr-mismatch`, `policy-commit-mismatch`: a grant must come
  from `requests/<id>.yaml`, added by its requester and merged into main's first-parent chain,
  and its record must name that merge, PR and the merge's first parent.
- `policy-missing`, `approvals-insufficient`: the approvals in the record must satisfy the
  policy and groups as they were at the merge's first parent.
- `ended-late`, `grant-overdue`: every grant ended no later than expiry + tolerance.
- `break-glass-unreviewed`: a break-glass grant got its post-hoc review in time (see
  `jitflow.core.history` for the accepted evidence).
- `request-modified-after-merge`, `request-rewritten`: the request text never changed after
  merge; the ledger record starts with the request text byte for byte.
- `grant-record-malformed`: an issued record lacks its grant block or expiry.
- with Vault: `vault-token-without-grant`, `grant-without-vault-token`.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from jitflow.adapters.git import Git
from jitflow.core.history import (
    AuditRow,
    CommitRef,
    Outcome,
    approval_shortfalls,
    build_row,
    parse_time,
)
from jitflow.core.loading import parse_groups, parse_policy
from jitflow.core.model import Groups, Policy
from jitflow.usecases.audit.gitlog import LedgerEntry, head_of, iter_ledger, iter_trails
from jitflow.usecases.audit.report import runner_email_from

_NOREPLY = re.compile(r"^(?:\d+\+)?([^@]+)@users\.noreply\.github\.com$", re.IGNORECASE)
_CHUNK = 256


class LiveToken(Protocol):
    @property
    def accessor(self) -> str: ...

    @property
    def request_id(self) -> str | None: ...


class TokenSource(Protocol):
    """What `--vault` needs from Vault: the live tokens jitflow created."""

    def list_jitflow_tokens(self) -> Sequence[LiveToken]: ...


@dataclass(frozen=True)
class Violation:
    code: str
    request_id: str
    commit: str
    message: str

    def describe(self) -> str:
        where = f" at {self.commit[:12]}" if self.commit else ""
        return f"{self.code}: {self.request_id}{where}: {self.message}"


@dataclass(frozen=True)
class VerifyOptions:
    repo: Path = Path(".")
    ref: str = "HEAD"
    now: datetime | None = None
    tolerance: timedelta = timedelta(minutes=15)
    vault: bool = False
    runner_email: str | None = None


@dataclass(frozen=True)
class VerifyReport:
    head: str
    requests_checked: int
    violations: tuple[Violation, ...]

    @property
    def ok(self) -> bool:
        return not self.violations

    def describe(self) -> str:
        lines = [v.describe() for v in self.violations]
        lines.append(
            f"{self.requests_checked} request(s) checked at {self.head[:12]}: "
            + ("all invariants hold" if self.ok else f"{len(self.violations)} violation(s)")
        )
        return "\n".join(lines)


def login_matches(ref: CommitRef, login: str) -> bool:
    """Whether a commit is attributable to a GitHub login (name or noreply email)."""
    match = _NOREPLY.match(ref.email)
    wanted = login.lower()
    return ref.name.lower() == wanted or bool(match and match.group(1).lower() == wanted)


class _PolicyReader:
    """Policies and groups at old commits, read in batches and parsed once per content."""

    def __init__(self, git: Git) -> None:
        self.git = git
        self._policies: dict[tuple[bytes, str], Policy | None] = {}
        self._groups: dict[bytes, Groups | None] = {}

    def _policy(self, content: bytes | None, name: str) -> Policy | None:
        if content is None:
            return None
        key = (hashlib.sha256(content).digest(), name)
        if key not in self._policies:
            loaded = parse_policy(content, f"policies/{name}.yaml").value
            self._policies[key] = loaded if isinstance(loaded, Policy) else None
        return self._policies[key]

    def _group_file(self, content: bytes | None) -> Groups | None:
        key = hashlib.sha256(content or b"").digest()
        if key not in self._groups:
            loaded = parse_groups(content).value
            self._groups[key] = loaded if isinstance(loaded, Groups) else None
        return self._groups[key]

    def read(self, wanted: Sequence[tuple[str, str]]) -> list[tuple[Policy | None, Groups]]:
        specs: list[str] = []
        for commit, name in wanted:
            specs += [f"{commit}:policies/{name}.yaml", f"{commit}:policies/groups.yaml"]
        blobs = self.git.cat_blobs(specs)
        results: list[tuple[Policy | None, Groups]] = []
        for index, (_, name) in enumerate(wanted):
            policy = self._policy(blobs[2 * index], name)
            groups = self._group_file(blobs[2 * index + 1])
            results.append((policy if groups is not None else None, groups or Groups()))
        return results


def _chunks(entries: Iterable[LedgerEntry]) -> Iterator[list[LedgerEntry]]:
    chunk: list[LedgerEntry] = []
    for entry in entries:
        chunk.append(entry)
        if len(chunk) >= _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def run_verify(options: VerifyOptions, tokens: TokenSource | None = None) -> VerifyReport:
    """Check every invariant; `tokens` stands in for Vault (default: the Vault adapter)."""
    now = options.now or datetime.now(UTC)
    git = Git(options.repo)
    head = head_of(git, options.ref)
    runner = runner_email_from(os.environ, options.runner_email)
    policies = _PolicyReader(git)
    violations: list[Violation] = []
    active_accessors: dict[str, str] = {}
    checked = 0
    trails = iter_trails(git, head, runner)
    for chunk in _chunks(iter_ledger(git, trails, with_request_text=True)):
        wanted = [
            (e.trail.merge_parents[0], _text(e.record, "policy"))
            for e in chunk
            if e.trail.merge and e.trail.merge_parents
        ]
        terms = iter(policies.read(wanted))
        for entry in chunk:
            checked += 1
            has_terms = bool(entry.trail.merge and entry.trail.merge_parents)
            policy = next(terms) if has_terms else (None, Groups())
            row = build_row(entry.trail, entry.record)
            violations += _check(entry, row, policy, git, now, options.tolerance)
            grant = _mapping(_mapping(entry.record).get("grant"))
            accessor = _mapping(grant.get("vault")).get("accessor")
            if row.outcome is Outcome.ACTIVE and isinstance(accessor, str):
                active_accessors[accessor] = row.id
    if options.vault:
        violations += _check_vault(tokens or _vault_from_env(), active_accessors)
    return VerifyReport(head, checked, tuple(violations))


def _vault_from_env() -> TokenSource:
    from jitflow.adapters.vault.gateway import VaultGateway

    source: TokenSource = VaultGateway.from_env(os.environ)
    return source


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(record: Mapping[str, Any] | None, key: str) -> str:
    value = _mapping(record).get(key)
    return value if isinstance(value, str) else ""


def _check(
    entry: LedgerEntry,
    row: AuditRow,
    policy: tuple[Policy | None, Groups],
    git: Git,
    now: datetime,
    tolerance: timedelta,
) -> list[Violation]:
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
    found += [
        Violation(
            "request-modified-after-merge",
            rid,
            sha,
            f"requests/{rid}.yaml was changed on main after it was merged",
        )
        for sha in trail.modified_after_merge
    ]
    if (
        entry.request_text is not None
        and entry.record_text is not None
        and not entry.record_text.startswith(entry.request_text)
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
    grant = _mapping(_mapping(entry.record).get("grant"))
    found += _check_origin(entry, row, grant, policy, git)
    found += _check_end(trail, row, grant, policy[0], now, tolerance, entry.record)
    return found


def _check_origin(
    entry: LedgerEntry,
    row: AuditRow,
    grant: Mapping[str, Any],
    policy: tuple[Policy | None, Groups],
    git: Git,
) -> list[Violation]:
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
    if recorded != trail.merge.sha:
        found.append(
            Violation(
                "merge-commit-mismatch",
                rid,
                trail.merge.sha,
                f"the grant names merge {recorded}, history shows {trail.merge.sha}",
            )
        )
        if isinstance(recorded, str) and not git.ok(
            "merge-base", "--is-ancestor", recorded, "HEAD"
        ):
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
    if grant.get("policy_commit") != parent:
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
    shortfalls = approval_shortfalls(terms, groups, row.requester, row.approvers)
    if shortfalls:
        found.append(
            Violation("approvals-insufficient", rid, trail.merge.sha, "; ".join(shortfalls))
        )
    return found


def _check_end(
    trail: Any,
    row: AuditRow,
    grant: Mapping[str, Any],
    terms: Policy | None,
    now: datetime,
    tolerance: timedelta,
    record: Mapping[str, Any] | None,
) -> list[Violation]:
    rid, issue_sha = row.id, trail.issue.sha
    if not grant or row.expires_at is None or row.issued_at is None:
        return [
            Violation(
                "grant-record-malformed",
                rid,
                issue_sha,
                "the active or archive record lacks a grant block with expires_at",
            )
        ]
    found: list[Violation] = []
    deadline = row.expires_at + tolerance
    if row.ended_at is not None and row.ended_at > deadline:
        found.append(
            Violation(
                "ended-late",
                rid,
                row.evidence.end_commit or issue_sha,
                f"ended {row.ended_at:%Y-%m-%dT%H:%M:%SZ}, later than expiry "
                f"{row.expires_at:%Y-%m-%dT%H:%M:%SZ} plus {tolerance}",
            )
        )
    if row.ended_at is None and now > deadline:
        found.append(
            Violation(
                "grant-overdue",
                rid,
                issue_sha,
                f"still active at {now:%Y-%m-%dT%H:%M:%SZ}, past expiry "
                f"{row.expires_at:%Y-%m-%dT%H:%M:%SZ} plus {tolerance}",
            )
        )
    if row.break_glass:
        window = terms.break_glass.post_review_within if terms else timedelta(hours=24)
        due = row.issued_at + window
        reviews = [(ref.at, who) for ref, who in trail.post_reviews]
        block = _mapping(_mapping(record).get("post_review"))
        if block:
            reviews.append(
                (parse_time(block.get("at")) or due + timedelta(1), str(block.get("by")))
            )
        ok = any(at <= due and who and who.lower() != row.requester.lower() for at, who in reviews)
        if not ok and now > due:
            found.append(
                Violation(
                    "break-glass-unreviewed",
                    rid,
                    issue_sha,
                    f"break-glass grant had no post-hoc review by someone other "
                    f"than {row.requester} within {window}",
                )
            )
    return found


def _check_vault(tokens: TokenSource, active: Mapping[str, str]) -> list[Violation]:
    live = {t.accessor: t.request_id or "" for t in tokens.list_jitflow_tokens()}
    found = [
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
    return found
