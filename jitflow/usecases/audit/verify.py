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
- `checkpoint-hides-deletion`: a runner commit's `Jitflow-Unsettled` trailer (where sync's
  bounded read of history stops) leaves out an active file deleted on main and not yet archived.
- `review-trailer-hides-grant`: a runner commit's `Jitflow-Awaiting-Review` trailer (the only
  archive records sync reads for post-hoc reviews) leaves out a break-glass grant issued within
  sync's look-back and not yet reviewed.
- with Vault: `vault-token-without-grant`, `grant-without-vault-token`,
  `vault-token-other-request`; for identity-group grants `group-member-without-grant`,
  `grant-without-group-membership` (jitflow.usecases.audit.memberships); and the ledger's own
  Vault side (`vault_checks`).
- the ledger's writer is proven by signatures (`signatures`: `ledger-unsigned`), records are
  append-only and ledger commits stay in the ledger (`append_only`), their dates fit their
  place on main (`dates`), times agree with the policy and the commits (`checks`), expiry
  warnings are the runner's and fall in their grant's life (`expiry_warnings`), and
  `--github` checks GitHub's record (`github_checks`).
  README's auditors section lists every code.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jitflow.adapters.git import Git
from jitflow.adapters.git.log import first_parents_oldest_first, iter_commits
from jitflow.adapters.git.reading import read_files_at
from jitflow.core.audit_rows import Outcome, as_mapping, build_row
from jitflow.core.history import ACTIVE_PATH, ARCHIVE_PATH, HistoryFolder, RequestTrail
from jitflow.core.loading import (
    ONCALL_PATH,
    parse_groups,
    parse_oncall,
    parse_policy,
    with_rotations,
)
from jitflow.core.model import Groups, Policy
from jitflow.core.verify_report import VerifyReport, Violation
from jitflow.usecases.audit.append_only import AppendOnlyChecker, check_moves, check_presence
from jitflow.usecases.audit.checks import (
    Checked,
    TokenSource,
    check_entry,
    check_vault,
    text_field,
)
from jitflow.usecases.audit.dates import SYNC_WORKFLOW, Clocks, pushed_tips, run_bound
from jitflow.usecases.audit.expiry_warnings import WarningCommits
from jitflow.usecases.audit.extensions import Extensions, check_extension, vault_claims
from jitflow.usecases.audit.github_checks import BranchPushes, PullRequests, check_github
from jitflow.usecases.audit.gitlog import (
    LedgerEntry,
    batches,
    head_of,
    iter_ledger,
    runner_email_from,
)
from jitflow.usecases.audit.memberships import Memberships, MembershipSource, check_memberships
from jitflow.usecases.audit.signatures import TrustRoot, check_signatures, load_trust
from jitflow.usecases.audit.vault_checks import VaultLedger, check_ledger_vault
from jitflow.usecases.port import LedgerSource
from jitflow.usecases.sync.post_review import LOOKBACK
from jitflow.usecases.sync.recent import CHECKPOINT_TRAILER, CheckpointCheck
from jitflow.usecases.sync.review_trailer import AWAITING_TRAILER, AwaitingCheck

__all__ = ["VerifyOptions", "VerifyReport", "Violation", "run_verify"]

_CHUNK = 256
LEDGER_BRANCH = "main"  # where sync pushes the ledger (the workflows bind refs/heads/main)


@dataclass(frozen=True)
class VerifyOptions:
    repo: Path = Path(".")
    ref: str = "HEAD"
    now: datetime | None = None
    tolerance: timedelta = timedelta(minutes=15)
    vault: bool = False
    runner_email: str | None = None
    allowed_signers: Path | None = None  # pin the trust root instead of the repository's file
    github: bool = False


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

    def _group_file(self, content: bytes | None, oncall: bytes | None) -> Groups | None:
        key = hashlib.sha256(content or b"").digest() + hashlib.sha256(oncall or b"").digest()
        if key not in self._groups:
            loaded = with_rotations(parse_groups(content), parse_oncall(oncall)).value
            self._groups[key] = loaded if isinstance(loaded, Groups) else None
        return self._groups[key]

    def read(self, wanted: Sequence[tuple[str, str]]) -> list[tuple[Policy | None, Groups]]:
        files: list[tuple[str, str]] = []
        for commit, name in wanted:
            files += [(commit, f"policies/{name}.yaml"), (commit, "policies/groups.yaml")]
            files.append((commit, ONCALL_PATH))
        blobs = read_files_at(self.git, files)
        results: list[tuple[Policy | None, Groups]] = []
        for index, (_, name) in enumerate(wanted):
            policy = self._policy(blobs[3 * index], name)
            groups = self._group_file(blobs[3 * index + 1], blobs[3 * index + 2])
            results.append((policy if groups is not None else None, groups or Groups()))
        return results


def _trails(
    git: Git, head: str, runner: str, checker: AppendOnlyChecker, warns: WarningCommits
) -> Iterator[RequestTrail]:
    """`iter_trails`, with every commit also shown to the append-only and warning checkers."""
    folder = HistoryFolder(runner)
    for commit in iter_commits(git, head):
        checker.feed(commit)
        warns.feed(commit)
        yield from folder.feed(commit)
    yield from folder.finish()


def _ids_on_main(git: Git, head: str) -> set[str]:
    """Ids with a record at `head` (active or archived): one `ls-tree`, O(current state)."""
    ids = set()
    for _, _, path in git.list_tree(head, "requests"):
        match = ACTIVE_PATH.match(path) or ARCHIVE_PATH.match(path)
        if match:
            ids.add(match.group(1))
    return ids


def run_verify(
    options: VerifyOptions,
    tokens: TokenSource | None = None,
    github: PullRequests | None = None,
) -> VerifyReport:
    """Check every invariant; `tokens` and `github` stand in for Vault and GitHub (default:
    the adapters, configured from the environment)."""
    if options.github and github is None:
        from jitflow.adapters.github import GitHubGateway

        with GitHubGateway.from_env(os.environ) as gateway:
            return run_verify(options, tokens, gateway)
    now = options.now or datetime.now(UTC)
    git = Git(options.repo)
    head = head_of(git, options.ref)
    runner = runner_email_from(os.environ, options.runner_email)
    policies = _PolicyReader(git)
    present = _ids_on_main(git, head)
    trust = load_trust(git, head, options.allowed_signers)
    source = (tokens or _vault_from_env()) if options.vault else None
    ledger = (
        VaultLedger.read(source.ledger(dict(os.environ)))
        if isinstance(source, LedgerSource)  # a token list without a ledger skips these
        else None
    )
    bound = run_bound(git.show_bytes(head, SYNC_WORKFLOW))
    pushes = (
        pushed_tips(github.branch_pushes(LEDGER_BRANCH))
        if isinstance(github, BranchPushes)
        else None
    )
    anchor = ledger.anchor if ledger else None
    checker = AppendOnlyChecker(runner, Clocks(now, bound, anchor, pushes))
    violations: list[Violation] = []
    active_grants: list[tuple[str, str]] = []  # (accessor, request id)
    owners: dict[str, str] = {}  # accessor -> request its token was issued for (in place)
    ends: dict[str, datetime] = {}  # accessor -> the end Vault must enforce
    memberships = Memberships()
    awaiting = AwaitingCheck(LOOKBACK)
    extensions = Extensions()
    checked = 0
    warns = WarningCommits(runner)
    trails = _trails(git, head, runner, checker, warns)
    for chunk in batches(iter_ledger(git, trails, with_request_text=True), _CHUNK):
        wanted = [
            (e.trail.merge_parents[0], text_field(e.record, "policy"))
            for e in chunk
            if e.trail.merge and e.trail.merge_parents
        ]
        terms = iter(policies.read(wanted))
        for entry in chunk:
            checked += 1
            has_terms = bool(entry.trail.merge and entry.trail.merge_parents)
            policy = next(terms) if has_terms else (None, Groups())
            row = build_row(entry.trail, entry.record)
            warns.grant(row)
            grant = as_mapping(as_mapping(entry.record).get("grant"))
            _note_break_glass(awaiting, entry, row.issued_at, grant)
            subject = Checked(entry, row, grant, policy)
            violations += check_entry(subject, git, now, options.tolerance)
            issue_sha = entry.trail.issue.sha if entry.trail.issue else ""
            if entry.trail.issue is not None:
                violations += check_extension(row, entry.record, policy, issue_sha)
                extensions.add(row, entry.record, issue_sha)
            violations += check_presence(entry.trail, present, now, options.tolerance)
            if github is not None:
                violations += check_github(subject, github, git)
            accessor = as_mapping(grant.get("vault")).get("accessor")
            if row.outcome is Outcome.ACTIVE and isinstance(accessor, str):
                active_grants.append((accessor, row.id))
                vault_claims(accessor, grant, row, owners, ends)
            receipt = as_mapping(grant.get("vault")).get("receipt_accessor")
            if row.outcome is Outcome.ACTIVE and isinstance(receipt, str):
                active_grants.append((receipt, row.id))  # an ssh grant's certificate receipt
            memberships.add(row.id, entry.record, row.outcome is Outcome.ACTIVE)
        violations += _drain(git, checker, trust)
    violations += _drain(git, checker, trust)
    violations += checker.violations + checker.dates.finish()
    violations += extensions.check()
    violations += warns.check()
    violations += _trailer_lies(git, head, runner, awaiting)
    if source is not None:
        violations += check_vault(source, active_grants, owners, ends)
        if isinstance(source, MembershipSource):
            violations += check_memberships(source, memberships)
        if ledger is not None:
            violations += check_ledger_vault(git, head, ledger, trust, signed=checker.signed)
    return VerifyReport(head, checked, tuple(violations), _unchecked(options, trust))


def _note_break_glass(
    awaiting: AwaitingCheck,
    entry: LedgerEntry,
    issued_at: datetime | None,
    grant: Mapping[str, object],
) -> None:
    """A break-glass grant, for re-deriving the runner's lists of grants awaiting review."""
    trail = entry.trail
    if grant.get("break_glass") is not True or trail.issue is None or issued_at is None:
        return
    reviews = [ref.at for ref, _ in trail.post_reviews]
    if as_mapping(as_mapping(entry.record).get("post_review")):
        reviews.append(issued_at)  # reviewed in the record itself: never awaiting
    awaiting.grant(trail.id, trail.issue.sha, issued_at, reviews)


def _trailer_lies(git: Git, head: str, runner: str, awaiting: AwaitingCheck) -> list[Violation]:
    """The runner commits' trailers where sync stops reading (`Jitflow-Unsettled`,
    `Jitflow-Awaiting-Review`), re-derived from main's first parents in one walk."""
    checkpoints = CheckpointCheck(runner)
    found = []
    for commit in first_parents_oldest_first(git, head, CHECKPOINT_TRAILER, AWAITING_TRAILER):
        by_runner = checkpoints.is_runner(commit)
        found += [
            Violation(
                "checkpoint-hides-deletion",
                lie.request_id,
                lie.commit,
                f"the runner commit's {CHECKPOINT_TRAILER} trailer leaves out the deletion of "
                f"requests/active/{lie.request_id}.yaml in {lie.deleted_in[:12]}, not yet "
                "archived: a sync reading from there would never revoke it",
            )
            for lie in checkpoints.see(commit)
        ]
        found += [
            Violation(
                "review-trailer-hides-grant",
                lie.request_id,
                lie.commit,
                f"the runner commit's {AWAITING_TRAILER} trailer leaves out break-glass grant "
                f"{lie.request_id} (issued in {lie.issued_in[:12]}), not yet reviewed: a sync "
                "reading from there would never record its post-hoc review",
            )
            for lie in awaiting.see(commit, by_runner)
        ]
    return found


def _drain(git: Git, checker: AppendOnlyChecker, trust: TrustRoot) -> list[Violation]:
    """Check what the commit stream has queued: record moves and signatures, in batches."""
    moves, checker.moves = checker.moves, []
    pending, checker.to_verify = checker.to_verify, []
    checker.signed += len(pending)
    specs = [blob for m in moves for blob in (m.active_blob, m.archive_blob)]
    return check_moves(moves, git.cat_blobs(specs)) + check_signatures(git, pending, trust)


def _unchecked(options: VerifyOptions, trust: TrustRoot) -> tuple[str, ...]:
    """The claims this run could not check, said plainly."""
    notes = []
    if not options.github:
        notes.append(
            "approvals, merges, PR authors and reviews were checked against the ledger's own "
            "record only, not GitHub's (use --github)"
        )
    if not options.vault:
        notes.append(
            "live Vault tokens, the ledger anchor (a rewritten main) and the signers' CA were "
            "not compared with Vault (use --vault)"
        )
    if options.allowed_signers is None and not options.vault:
        notes.append(
            f"signatures were checked against {trust.source}, which the repository itself "
            "holds (pin it with --allowed-signers or check it with --vault)"
        )
    return tuple(notes)


def _vault_from_env() -> TokenSource:
    from jitflow.adapters.vault.gateway import VaultGateway

    source: TokenSource = VaultGateway.from_env(os.environ)
    return source
