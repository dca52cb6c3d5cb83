"""Warning before expiry: once per grant, a comment on its request PR mentioning the requester,
with the command that extends it, recorded as an empty runner commit.

A grant is due for its warning when it expires within its policy's `warn_before` (default
10m, the policy as on main now). The record is the commit (`Jitflow-Event: warn`,
`Jitflow-Request: <id>`, `Jitflow-Expires`): a later run finds it among the commits since
the earliest warning window still open, so a rerun never warns twice. The comment is posted
(in place, under a marker) only once the commit is on main.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from jitflow.adapters.git import Git
from jitflow.adapters.git.graph import first_parents_since, has_parent_here
from jitflow.adapters.git.log import first_parent_messages
from jitflow.adapters.git.remote import deepen, is_shallow
from jitflow.adapters.git.writing import LedgerCommit
from jitflow.core.history import parse_trailers
from jitflow.core.ledger import ActiveRecord, Event, Trailers, commit_message
from jitflow.core.model import DEFAULT_WARN_BEFORE, Policy
from jitflow.reporters.sync_notes import warning_note
from jitflow.usecases.repository import read_policies
from jitflow.usecases.sync.run_memory import IssueRun

_DEPTHS = (64, 512, 4096)


def warn_expiring(run: IssueRun, ending: set[str]) -> list[LedgerCommit]:
    """A warn commit (and its comment, queued) for each grant entering its warning window."""
    git, state, now, comments, report = run.git, run.state, run.now, run.comments, run.report
    records = [r for r in state.ledger.active if r.id not in ending and r.pr is not None]
    records = [r for r in records if r.expires_at is not None and r.expires_at > now]
    if not records:
        return []
    loaded = read_policies(git, state.commit, sorted({r.policy for r in records}))
    policies = {name: p.value for name, p in loaded.items() if isinstance(p.value, Policy)}
    due = []
    for record in records:
        policy = policies.get(record.policy)
        lead = policy.warn_before if policy is not None else DEFAULT_WARN_BEFORE
        assert record.expires_at is not None
        if record.expires_at - lead <= now:
            due.append((record, policy, record.expires_at - lead))
    if not due:
        return []
    since = min(opens for _, _, opens in due) - timedelta(minutes=1)
    warned = _warned(git, state.commit, since)
    commits = []
    for record, policy, _ in due:
        if record.id in warned:
            continue
        commits.append(_warn_commit(record, now))
        assert record.pr is not None
        body = warning_note(record, policy, now)
        comments.append((record.pr, f"warning:{record.id}", body))
        report.done.append(("warn", record.id, f"PR #{record.pr}: {body.splitlines()[0]}"))
    return commits


def _warned(git: Git, tip: str, since: datetime) -> set[str]:
    """Ids with a warn commit on main's first parents since `since` (deepening a shallow
    checkout until the history reaches back that far)."""
    for depth in (0, *_DEPTHS):
        if depth:
            deepen(git, tip, depth)
        shas = first_parents_since(git, tip, since)
        oldest = shas[-1] if shas else tip
        if not is_shallow(git) or has_parent_here(git, oldest):
            break
    found = set()
    for message in first_parent_messages(git, tip, since, "^Jitflow-Event: warn$"):
        trailers = parse_trailers(message)
        if trailers.get("jitflow-event") == Event.WARN.value:
            found.add(trailers.get("jitflow-request", ""))
    return found


def _warn_commit(record: ActiveRecord, now: datetime) -> LedgerCommit:
    trailers = Trailers(
        Event.WARN, record.id, record.policy, record.requester, expires=record.expires_at
    )
    body = f"Warned {record.requester} on PR #{record.pr} that the grant ends soon."
    return LedgerCommit(commit_message(trailers, body), {}, now)


def ending_ids(done: Sequence[tuple[str, str, str]]) -> set[str]:
    """Grants this run ended (nothing to warn about)."""
    return {rid for event, rid, _ in done if event in ("expire", "revoke", "extend", "fail")}
