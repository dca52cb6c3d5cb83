"""A ledger commit's date must fit its place on main: signatures are checked at the commit's
own (committer) date, which the signer writes, so a leaked runner key whose certificate has
expired could sign forged commits dated back into the certificate's validity. Appending on
top of main bounds that date from below: a commit can't be made before the commits it is
made on. Code: `ledger-commit-backdated`.

Fed main's first-parent commits newest first (verify's one walk): every ledger commit waits,
cheapest date first, until an ancestor on main is dated more than `DATE_SLACK` after it. The
bound is the latest date below the commit, not only its first parent's, so a commit with an
old date pushed in between launders nothing.
"""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta

from jitflow.core.history import Commit
from jitflow.core.times import format_time
from jitflow.core.verify_report import Violation

# sync dates every commit of a run at the run's start (its `now`), and a push rejected because
# main moved is retried on top of the new main: an honest runner commit can sit below a merge
# made during its run. The shipped sync job stops after 15 minutes (`timeout-minutes`); GitHub's
# and its hosted runners' clocks are NTP-synced (seconds apart), so 5 more minutes is generous.
DATE_SLACK = timedelta(minutes=20)


class LedgerDates:
    """Ledger commits dated before a commit below them on main."""

    def __init__(self) -> None:
        self.violations: list[Violation] = []
        self._waiting: list[tuple[datetime, str, str]] = []  # (date, sha, request id): a heap

    def feed(self, commit: Commit, ledger_request: str | None) -> None:
        """One commit on main's first-parent chain; `ledger_request` (the id it records, maybe
        "") when it is a ledger commit, else None."""
        at = commit.committed_at
        while self._waiting and self._waiting[0][0] < at - DATE_SLACK:
            dated, sha, request_id = heapq.heappop(self._waiting)
            self.violations.append(_backdated(sha, request_id, dated, commit))
        if ledger_request is not None:
            heapq.heappush(self._waiting, (at, commit.sha, ledger_request))


def _backdated(sha: str, request_id: str, dated: datetime, below: Commit) -> Violation:
    return Violation(
        "ledger-commit-backdated",
        request_id,
        sha,
        f"the ledger commit is dated {format_time(dated)}, more than {DATE_SLACK} before "
        f"{below.sha[:12]} below it on main (committed {format_time(below.committed_at)}): "
        "a commit can't be made before the commits it is made on, and its signature is "
        "checked at its own date (backdated into an expired certificate's validity?)",
    )
