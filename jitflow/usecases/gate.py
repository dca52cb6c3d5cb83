"""`jitflow check --event`: the live PR gate in GitHub Actions.

Everything that decides comes from the base commit and the GitHub API, never from the
event's actor or the PR head's policies: the requester is the PR author (`pull_request.user`
as the API reports it), policies and groups are read at the PR's base commit, and the API's
file list must agree with the checkout's git diff. Only PRs into the protected branch
(`main`, or `JITFLOW_BRANCH`) are judged: a PR into any other branch gets no status, so its
head commit can't collect green jitflow statuses that a PR into main would then show.

The gate posts its verdict (two commit statuses, one PR comment) but renders none of it: the
caller gives the words (`GateOptions.feedback`, the CLI's reporters.pr_comment), and the
command's own output is rendered by the CLI from the reports returned.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Protocol

from jitflow.adapters.git import Git
from jitflow.adapters.git.graph import is_commit
from jitflow.adapters.git.reading import changed_files
from jitflow.adapters.git.remote import ensure_merge_base, fetch_missing
from jitflow.core.approvals import ApprovalStatus
from jitflow.core.change_gate import ChangeGateReport
from jitflow.core.changes import ChangeKind
from jitflow.core.check_report import CheckReport
from jitflow.core.evaluation import Decision
from jitflow.core.model import ChangeStatus, PullRequestFacts
from jitflow.errors import ExitCode, UsageError
from jitflow.usecases.check import ChangeSet, CheckResult
from jitflow.usecases.port import GatePort, PullFacts
from jitflow.usecases.pull_decision import judge_pull, mismatch_finding

POLICY_CONTEXT = "jitflow/policy"
APPROVAL_CONTEXT = "jitflow/approval"
COMMENT_MARKER = "check"
NOT_A_REQUEST = "PR #{number} touches nothing under requests/: not a request PR\n"
_QUEUE_PR = re.compile(r"/pr-(\d+)-[0-9a-f]+$")


EventPayload = Mapping[str, object]  # a GitHub webhook payload, as JSON decoded it


class GateFeedback(Protocol):
    """The words of the gate's verdict on a request PR (reporters.pr_comment renders them)."""

    def statuses(self, report: CheckReport) -> tuple[str, str, str, str]:
        """(policy state, policy text, approval state, approval text) of the two statuses."""
        ...

    def comment(self, report: CheckReport, blob_url: str) -> str:
        """The PR comment (Markdown); `blob_url` links the request files at the head."""
        ...

    def change_comment(self, report: ChangeGateReport) -> str:
        """The PR comment on a PR that asks for no access (the policy-change gate)."""
        ...


@dataclass(frozen=True)
class GateOptions:
    repo: Path
    event_path: Path
    now: datetime
    environ: Mapping[str, str] | None = None
    feedback: GateFeedback = field(kw_only=True)


def run_gate(options: GateOptions) -> CheckResult:
    from jitflow.adapters.github import GitHubGateway

    environ = options.environ if options.environ is not None else os.environ
    event = _load_event(options.event_path)
    gateway = GitHubGateway.from_env(environ)
    git = Git(options.repo)
    branch = protected_branch(environ)
    if "merge_group" in event:
        return _merge_group(git, gateway, event, options, environ)
    number = _pr_number(event)
    report = evaluate_pull_request(git, gateway, number, options.now, branch)
    if report == NOT_A_REQUEST.format(number=number):  # policy changes etc.: their own gate
        from jitflow.usecases.policy_gate import ChangePull, run_change_gate

        pull = ChangePull(number, options.repo, options.now, _run_url(environ))
        output, passed = run_change_gate(git, gateway, pull, options.feedback)
        return CheckResult(ExitCode.OK if passed else ExitCode.DENIED, note=output)
    if isinstance(report, str):
        return CheckResult(ExitCode.OK, note=report)
    publish(gateway, options.feedback, report, number, environ)
    return _result((report,))


def protected_branch(environ: Mapping[str, str]) -> str:
    """The branch whose PRs are judged and whose merges sync issues: main, or JITFLOW_BRANCH."""
    return environ.get("JITFLOW_BRANCH", "").strip() or "main"


def evaluate_pull_request(
    git: Git, gateway: PullFacts, number: int, now: datetime, branch: str = "main"
) -> CheckReport | str:
    """Evaluate PR `number` from the API and the checkout; a message when it isn't judged
    (no request PR, or a PR into another branch than `branch`)."""
    pr: PullRequestFacts = gateway.pull_request(number)
    if pr.base_ref != branch:
        return (
            f"PR #{number} is into {pr.base_ref!r}, not the protected branch {branch!r}: "
            "not judged, no status posted\n"
        )
    _ensure_commits(git, pr)
    local = changed_files(git, pr.base_sha, pr.head_sha)
    api_view = {f.path: _status_key(f.status) for f in pr.files}
    local_view = {f.path: _status_key(f.status) for f in local}
    judged = judge_pull(git, gateway, pr, ChangeSet(local, pr.base_sha, pr.head_sha), now)
    report = judged.report
    if report.change.kind is ChangeKind.UNRELATED and not any(
        p.startswith("requests/") for p in api_view
    ):
        return NOT_A_REQUEST.format(number=number)
    mismatch = mismatch_finding(api_view, local_view)
    extra = [f for f in (mismatch,) if f is not None] + list(judged.team_findings)
    if extra:
        decision = report.decision
        report = replace(report, decision=Decision((*decision.findings, *extra), decision.requests))
    return report


def publish(
    gateway: GatePort,
    feedback: GateFeedback,
    report: CheckReport,
    number: int,
    environ: Mapping[str, str],
) -> None:
    """Two statuses on the head commit and one PR comment, edited in place."""
    target = _run_url(environ)
    sha = report.head_sha
    policy_state, policy_text, approval_state, approval_text = feedback.statuses(report)
    gateway.set_status(sha, POLICY_CONTEXT, policy_state, policy_text, target)
    gateway.set_status(sha, APPROVAL_CONTEXT, approval_state, approval_text, target)
    server = environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    repository = environ.get("GITHUB_REPOSITORY", "")
    body = feedback.comment(report, f"{server}/{repository}/blob/{sha}")
    gateway.upsert_comment(number, COMMENT_MARKER, body)


def _merge_group(
    git: Git,
    gateway: GatePort,
    event: EventPayload,
    options: GateOptions,
    environ: Mapping[str, str],
) -> CheckResult:
    """A merge queue entry passes only if every PR in it still passes on its own."""
    group = _object(event.get("merge_group"))
    head_sha = str(group.get("head_sha", ""))
    branch = protected_branch(environ)
    base_ref = str(group.get("base_ref", "")).removeprefix("refs/heads/")
    if base_ref != branch:
        return CheckResult(
            ExitCode.OK,
            note=f"merge queue of {base_ref!r}, not the protected branch {branch!r}: not judged\n",
        )
    match = _QUEUE_PR.search(str(group.get("head_ref", "")))
    numbers = [int(match.group(1))] if match else gateway.open_pulls_with_head_sha(head_sha)
    reports = []
    for number in numbers:
        report = evaluate_pull_request(git, gateway, number, options.now, branch)
        if not isinstance(report, str):
            reports.append(report)
    allowed = all(r.decision.allowed for r in reports)
    approved = all(
        r.decision.approved or (r.change.kind is ChangeKind.REVOCATION and r.decision.allowed)
        for r in reports
    )
    target = _run_url(environ)
    gateway.set_status(
        head_sha,
        POLICY_CONTEXT,
        "success" if allowed else "failure",
        f"{len(reports)} request PR(s) re-checked in the merge queue",
        target,
    )
    gateway.set_status(
        head_sha,
        APPROVAL_CONTEXT,
        "success" if approved else "failure",
        "approvals still hold" if approved else "approvals no longer hold",
        target,
    )
    return _result(tuple(reports))


def _result(reports: tuple[CheckReport, ...]) -> CheckResult:
    allowed = all(r.decision.allowed for r in reports)
    return CheckResult(ExitCode.OK if allowed else ExitCode.DENIED, reports)


def _load_event(path: Path) -> EventPayload:
    try:
        event = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"can't read the event payload {path}: {exc}") from exc
    if not isinstance(event, dict):
        raise UsageError(f"{path} is not a GitHub event payload (expected a JSON object)")
    return _object(event)


def _object(value: object) -> EventPayload:
    """A JSON object of the payload, with string keys (anything else reads as empty)."""
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items()}


def _pr_number(event: EventPayload) -> int:
    number = _object(event.get("pull_request")).get("number")
    if not isinstance(number, int) or isinstance(number, bool):
        raise UsageError(
            "the event has no pull_request: check --event handles pull_request, "
            "pull_request_review and merge_group events"
        )
    return number


def _ensure_commits(git: Git, pr: PullRequestFacts) -> None:
    """The PR's base and head, and the history back to their fork point, fetched on demand
    (the workflow checks out one commit, not the whole history)."""
    fetch_missing(git, (pr.base_sha, pr.head_sha))
    ensure_merge_base(git, pr.base_sha, pr.head_sha)
    for sha in (pr.base_sha, pr.head_sha):
        if not is_commit(git, sha):
            raise UsageError(
                f"commit {sha} of PR #{pr.number} is not in the checkout; "
                "is the workflow's remote `origin` reachable?"
            )


def _status_key(status: ChangeStatus) -> str:
    return status.value


def _run_url(environ: Mapping[str, str]) -> str | None:
    server, repository, run = (
        environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    if server and repository and run:
        return f"{server}/{repository}/actions/runs/{run}"
    return None


__all__ = [
    "ApprovalStatus",
    "GateFeedback",
    "GateOptions",
    "evaluate_pull_request",
    "publish",
    "run_gate",
]
