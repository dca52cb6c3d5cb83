"""A ledger commit's date must fit its place on main and the clocks that saw it pushed.

Signatures are checked at the commit's own (committer) date, which the signer writes, so a
leaked runner key could sign forged commits dated into its certificate's validity. Only the
committer date is read (it is the one the signature check uses; sync writes the same time as
author date, which nothing here trusts). Codes:

- `ledger-commit-backdated`: dated more than the slack before a commit below it on main's first
  parent chain (any below, not only its parent, so an old-dated commit pushed in between
  launders nothing): a commit can't be made before the commits it is made on. With GitHub's
  repository activity (`--github`), also dated more than the slack before GitHub's time of the
  push that brought it to main: that catches a forgery appended to a quiet main too.
- `ledger-commit-future-dated`: dated more than `SKEW` after the verifier's clock (`now`).
- `ledger-commit-unanchored` (with Vault's anchor): above the anchored tip and older than the
  slack. The runner anchors every tip it pushes before its job ends, so such a commit was pushed
  by something other than a sync run: a forgery appended to a quiet main, whose date nothing
  else bounds (or the runner's anchor write failed and no run has pushed since).

The slack is how long an honest runner commit can wait for its push (sync dates a run's commits
at the run's start and re-applies them on a moved main until its job times out: the sync job's
`timeout-minutes`, `run_bound`) plus `SKEW` between GitHub's, the runners' and Vault's clocks.

Fed main's first-parent commits newest first (verify's one walk): every ledger commit waits,
cheapest date first, until an ancestor on main is dated more than the slack after it.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from jitflow.core.anchor import LedgerAnchor
from jitflow.core.history import Commit
from jitflow.core.times import format_time
from jitflow.core.verify_report import Violation
from jitflow.errors import JitflowError

if TYPE_CHECKING:
    from jitflow.core.model import Push

# GitHub's, its hosted runners' and Vault's clocks are NTP-synced (seconds apart): generous.
SKEW = timedelta(minutes=5)
# The shipped sync job stops after 15 minutes (`timeout-minutes` in .github/workflows/sync.yml).
SHIPPED_RUN_BOUND = timedelta(minutes=15)
# GitHub stops a job without `timeout-minutes` after 360 minutes; self-hosted runners' jobs
# may be given up to 5 days.
GITHUB_JOB_DEFAULT = timedelta(minutes=360)
LONGEST_JOB = timedelta(days=5)
SYNC_WORKFLOW = ".github/workflows/sync.yml"


@dataclass(frozen=True)
class Clocks:
    """What bounds a ledger commit's date besides main's order."""

    now: datetime  # the verifier's clock
    run_bound: timedelta = SHIPPED_RUN_BOUND  # the sync job's timeout
    anchor: LedgerAnchor | None = None  # Vault's anchor, with --vault
    pushes: Mapping[str, PushedTip] | None = None  # main's pushes by new tip, with --github

    @property
    def slack(self) -> timedelta:
        return self.run_bound + SKEW


@dataclass(frozen=True)
class PushedTip:
    """A push to main as GitHub lists it: when, by whom, and the tip it moved from ("" when
    that is no ancestor to stop at: a force push or the branch's creation)."""

    at: datetime
    actor: str
    before: str


_FAST_FORWARDS = ("push", "pr_merge", "merge_queue_merge")


def pushed_tips(pushes: Iterable[Push]) -> dict[str, PushedTip]:
    """Main's pushes by the tip each left (the earliest, when GitHub lists a tip twice)."""
    tips: dict[str, PushedTip] = {}
    for push in pushes:
        if push.at is None or not push.after.strip("0"):
            continue
        before = push.before if push.kind in _FAST_FORWARDS else ""
        known = tips.get(push.after)
        if known is None or push.at < known.at:
            tips[push.after] = PushedTip(push.at, push.actor or "an unknown account", before)
    return tips


def run_bound(workflow: bytes | None) -> timedelta:
    """The longest `timeout-minutes` of the sync workflow's jobs (a job without one: GitHub's
    default, 360); the shipped 15 minutes when the workflow is absent or unreadable."""
    if workflow is None:
        return SHIPPED_RUN_BOUND
    from jitflow.core.yamlio import load_yaml

    try:
        data = load_yaml(workflow, SYNC_WORKFLOW).data
    except JitflowError:
        return SHIPPED_RUN_BOUND
    jobs = data.get("jobs") if isinstance(data, dict) else None
    if not isinstance(jobs, dict) or not jobs:
        return SHIPPED_RUN_BOUND
    return max(_job_timeout(job) for job in jobs.values())


def _job_timeout(job: object) -> timedelta:
    minutes = job.get("timeout-minutes") if isinstance(job, dict) else None
    if isinstance(minutes, int | float) and not isinstance(minutes, bool) and minutes > 0:
        return min(timedelta(minutes=minutes), LONGEST_JOB)
    return GITHUB_JOB_DEFAULT  # none, or an expression: GitHub's default is the honest guess


class LedgerDates:
    """Ledger commits whose dates don't fit main's order or the clocks of `clocks`."""

    def __init__(self, clocks: Clocks) -> None:
        self.clocks = clocks
        self.violations: list[Violation] = []
        self._waiting: list[tuple[datetime, str, str]] = []  # (date, sha, request id): a heap
        self._anchored = False  # the walk has reached the anchored tip
        self._unanchored: list[Violation] = []  # told once the anchor is found in the walk
        self._push: PushedTip | None = None  # the push that brought the commits being fed

    def feed(self, commit: Commit, ledger_request: str | None) -> None:
        """One commit on main's first-parent chain; `ledger_request` (the id it records, maybe
        "") when it is a ledger commit, else None."""
        at, clocks = commit.committed_at, self.clocks
        anchor = clocks.anchor
        if anchor is not None and commit.sha == anchor.tip:
            self._anchored = True
        self._follow_pushes(commit.sha)
        while self._waiting and self._waiting[0][0] < at - clocks.slack:
            dated, sha, request_id = heapq.heappop(self._waiting)
            self.violations.append(_backdated(sha, request_id, dated, commit, clocks.slack))
        if ledger_request is None:
            return
        heapq.heappush(self._waiting, (at, commit.sha, ledger_request))
        if at > clocks.now + SKEW:
            self.violations.append(_future(commit, ledger_request, clocks.now))
        if anchor is not None and not self._anchored and at < clocks.now - clocks.slack:
            self._unanchored.append(_unanchored(commit, ledger_request, anchor, clocks))
        if self._push is not None and at < self._push.at - clocks.slack:
            self.violations.append(_pushed_late(commit, ledger_request, self._push, clocks))

    def _follow_pushes(self, sha: str) -> None:
        """Which push brought `sha` (fed newest first): the nearest pushed tip at or above it,
        down to the tip that push moved from."""
        if self._push is not None and (sha == self._push.before or not self._push.before):
            self._push = None
        pushed = self.clocks.pushes.get(sha) if self.clocks.pushes else None
        if pushed is not None:
            self._push = pushed

    def finish(self) -> list[Violation]:
        """Every finding; unanchored commits only when the anchored tip was on main (when it
        wasn't, `ledger-anchor-not-in-history` says so)."""
        return self.violations + (self._unanchored if self._anchored else [])


def _backdated(
    sha: str, request_id: str, dated: datetime, below: Commit, slack: timedelta
) -> Violation:
    return Violation(
        "ledger-commit-backdated",
        request_id,
        sha,
        f"the ledger commit is dated {format_time(dated)}, more than {slack} before "
        f"{below.sha[:12]} below it on main (committed {format_time(below.committed_at)}): "
        "a commit can't be made before the commits it is made on, and its signature is "
        "checked at its own date (backdated into an expired certificate's validity? or the "
        "commit below is dated in the future)",
    )


def _pushed_late(commit: Commit, request_id: str, push: PushedTip, clocks: Clocks) -> Violation:
    return Violation(
        "ledger-commit-backdated",
        request_id,
        commit.sha,
        f"the ledger commit is dated {format_time(commit.committed_at)}, more than "
        f"{clocks.slack} before GitHub's record of the push that brought it to main "
        f"({format_time(push.at)}, by {push.actor}): a sync run pushes its commits before its "
        "job ends, and the signature is checked at the commit's own date (backdated into an "
        "expired certificate's validity?)",
    )


def _future(commit: Commit, request_id: str, now: datetime) -> Violation:
    return Violation(
        "ledger-commit-future-dated",
        request_id,
        commit.sha,
        f"the ledger commit is dated {format_time(commit.committed_at)}, more than {SKEW} "
        f"after the verifier's clock ({format_time(now)}): its signature is checked at its own "
        "date, and a commit dated ahead could keep a grant looking unexpired or move the "
        "backdating bound forward for the commits after it",
    )


def _unanchored(commit: Commit, request_id: str, anchor: LedgerAnchor, clocks: Clocks) -> Violation:
    when = f" at {format_time(anchor.written_at)}" if anchor.written_at else ""
    return Violation(
        "ledger-commit-unanchored",
        request_id,
        commit.sha,
        f"the ledger commit (dated {format_time(commit.committed_at)}) is above "
        f"{anchor.tip[:12]}, the last tip the runner anchored in Vault{when}, and older than "
        f"{clocks.slack}: every sync run anchors what it pushes before its job ends, so "
        "something else pushed it (a key signing commits outside a sync run?), or the "
        "runner's anchor write failed and no run has pushed since",
    )
