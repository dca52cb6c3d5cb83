"""The ledger events recorded on main after a high-water mark, grouped by commit, oldest first.

Cost is that of the range, not of history: one streamed `git log` from the tip that stops
once every commit after the mark has been read and every request they touched has its whole
trail (its first commit), since an event needs the request's row (requester, policy, grant).
"""

from __future__ import annotations

from collections.abc import Iterator

from jitflow.adapters.git import Git
from jitflow.core.audit_rows import build_row
from jitflow.core.history import (
    ACTIVE_PATH,
    ARCHIVE_PATH,
    REQUEST_PATH,
    Commit,
    HistoryFolder,
    RequestTrail,
    parse_trailers,
    split_list,
)
from jitflow.core.ledger_events import EventKind, LedgerEvent, events_of
from jitflow.usecases.audit.gitlog import iter_commits, iter_ledger

_ENDS = {EventKind.EXPIRED, EventKind.REVOKED, EventKind.DENIED, EventKind.FAILED}


def commits_after(git: Git, mark: str, tip: str) -> list[str]:
    """Commits reachable from `tip` and not from `mark`, oldest first."""
    out = git.run("rev-list", "--reverse", "--topo-order", tip, f"^{mark}", "--")
    return out.split()


def _touched(commit: Commit) -> set[str]:
    ids: set[str] = set()
    for change in commit.changes:
        for pattern in (ARCHIVE_PATH, ACTIVE_PATH, REQUEST_PATH):
            if match := pattern.match(change.path):
                ids.add(match.group(1))
    trailers = parse_trailers(commit.message)
    if trailers.get("jitflow-event") == "post-review":
        ids.update(split_list(trailers.get("jitflow-request", "")))
    return ids


def _trails(git: Git, tip: str, after: set[str], runner_email: str) -> Iterator[RequestTrail]:
    """The trails of the requests the range touched, reading no further back than needed."""
    folder = HistoryFolder(runner_email)
    touched: set[str] = set()
    unseen = set(after)
    for commit in iter_commits(git, tip):
        if commit.sha in unseen:
            unseen.discard(commit.sha)
            touched |= _touched(commit)
        for trail in folder.feed(commit):
            if trail.id in touched:
                touched.discard(trail.id)
                yield trail
        if not unseen and not touched:
            return
    yield from (t for t in folder.finish() if t.id in touched)


def events_after(
    git: Git, mark: str, tip: str, runner_email: str
) -> list[tuple[str, list[LedgerEvent]]]:
    """`(commit, its events)` for every commit after `mark` up to `tip`, oldest first.

    An end is streamed from the runner's record of it (the archive commit), never from the
    revocation PR's merge alone: until the runner revoked in Vault nothing has ended, and an
    event must keep one anchor (its id) for good."""
    order = commits_after(git, mark, tip)
    if not order:
        return []
    position = {sha: index for index, sha in enumerate(order)}
    grouped: list[list[LedgerEvent]] = [[] for _ in order]
    trails = _trails(git, tip, set(order), runner_email)
    for entry in iter_ledger(git, trails):
        row = build_row(entry.trail, entry.record)
        for event in events_of(entry.trail, row):
            if event.commit not in position:
                continue
            if event.kind in _ENDS and entry.trail.end is None:
                continue
            grouped[position[event.commit]].append(event)
    for events in grouped:  # the same order on every run, so a resent batch is the same
        events.sort(key=lambda event: event.uid)
    return list(zip(order, grouped, strict=True))
