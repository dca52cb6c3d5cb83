"""`jitflow check`: the PR gate, offline from git alone.

Policies and groups always come from the base commit, never from the head: a PR can't
change the rules it is judged by.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jitflow.adapters.git import Git
from jitflow.adapters.git.log import author_name
from jitflow.adapters.git.reading import changed_files, prefetch_archive, read_files
from jitflow.core.approvals import ApprovalFacts
from jitflow.core.changes import ChangeKind, classify
from jitflow.core.check_report import CheckReport
from jitflow.core.evaluation import Context, evaluate
from jitflow.core.loading import Loaded, parse_request
from jitflow.core.model import ChangedFile
from jitflow.errors import ExitCode
from jitflow.usecases.repository import all_policy_names, read_policies, snapshot
from jitflow.usecases.revocation_check import evaluate_revocation


@dataclass(frozen=True)
class CheckResult:
    """What `check` found: the exit code, the reports of the request changes judged, and a
    note when none was (a PR into another branch, a PR that is no request: the
    policy-change gate's verdict). The CLI renders."""

    exit_code: ExitCode
    reports: tuple[CheckReport, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class CheckOptions:
    repo: Path
    base: str
    head: str
    now: datetime
    author: str | None = None


def run_check(options: CheckOptions) -> CheckReport:
    git = Git(options.repo)
    base_sha = git.rev_parse(options.base)
    head_sha = git.rev_parse(options.head)
    author = options.author or author_name(git, head_sha)
    files = changed_files(git, base_sha, head_sha)
    return evaluate_change(git, ChangeSet(files, base_sha, head_sha), author, options.now)


@dataclass(frozen=True)
class ChangeSet:
    """A change's files, read at `head`, judged by the rules at `base` (groups too, unless
    `groups` gives others, and policies too, unless `policies_at` names another commit:
    sync's check against main's current ones)."""

    files: Sequence[ChangedFile]
    base: str
    head: str
    groups: Loaded | None = None
    policies_at: str | None = None


@dataclass(frozen=True)
class Reviewed:
    """What a PR adds to a bare change: its approval facts and its reviewers' teams."""

    approval_facts: ApprovalFacts | None = None
    teams: Mapping[str, frozenset[str]] | None = None


def evaluate_change(
    git: Git, change_set: ChangeSet, author: str, now: datetime, reviewed: Reviewed = Reviewed()
) -> CheckReport:
    """Evaluate a change set."""
    base_sha, head_sha, groups = change_set.base, change_set.head, change_set.groups
    approval_facts, teams = reviewed.approval_facts, reviewed.teams
    change = classify(list(change_set.files))
    if change.request_paths:  # git reads the archive for the ids' lookup while Python parses
        prefetch_archive(git, base_sha)
    requests = read_requests(git, head_sha, change.request_paths)
    names = [r.value.policy for r in requests if r.value is not None]
    rules_at = change_set.policies_at or base_sha
    policies = read_policies(git, rules_at, names)
    state = snapshot(git, base_sha, [r.value.id for r in requests if r.value is not None])
    known = tuple(all_policy_names(git, rules_at)) if set(names) - set(policies) else ()
    context = Context(
        now=now,
        author=author,
        active_grants=state.active,
        waiting=state.waiting,
        existing_ids=state.existing_ids,
        teams=teams or {},
        approval_facts=approval_facts,
        known_policies=known,
    )
    decision = evaluate(requests, policies, groups or state.groups, context, change.findings)
    if change.kind is ChangeKind.REVOCATION:
        facts = approval_facts or ApprovalFacts(author=author, head_sha="")
        decision = evaluate_revocation(git, base_sha, change.revoked_ids, facts, teams or {})
    return CheckReport(decision, change, base_sha, head_sha, author)


def read_requests(git: Git, commit: str, paths: tuple[str, ...]) -> list[Loaded]:
    blobs = read_files(git, commit, paths)
    return [parse_request(blob or b"", path) for path, blob in zip(paths, blobs, strict=True)]
