"""Requests merged with a later `start`: decided at once, so a merge that lacked approval
is recorded as denied now, not left waiting for an approval that might come after the merge
(only reviews submitted before the merge count, so none can)."""

from __future__ import annotations

from collections.abc import Sequence

from jitflow.adapters.git.writing import LedgerCommit
from jitflow.core.ledger import Transition
from jitflow.errors import JitflowError
from jitflow.usecases.sync.denying import deny
from jitflow.usecases.sync.run_memory import IssueRun, verdict_for


def deny_unapproved_waiting(run: IssueRun, waiting: Sequence[Transition]) -> list[LedgerCommit]:
    """Deny each waiting request whose merge-time decision already fails; leave the rest."""
    commits: list[LedgerCommit] = []
    for t in waiting:
        try:
            verdict = verdict_for(run.git, run.github, run.state, t.request_id, run.memory)
        except JitflowError as exc:
            run.report.errors.append(f"deciding {t.request_id}: {exc.message}")
            continue
        if verdict.approved:
            continue
        commits.append(deny(verdict, run.state, run.now, run.runner, run.comments))
        codes = "; ".join(f.code for f in verdict.all_findings())
        run.report.done.append(("deny", t.request_id, f"before its start: {codes}"))
    return commits
