"""The ledger events recorded on main after a high-water mark, grouped by commit, oldest first.

Cost is that of the range, not of history: one streamed `git log` from the tip that stops
once every commit after the mark has been read and every request they touched has its whole
trail (its first commit), since an event needs the request's row (requester, policy, grant).
"""

from __future__ import annotations

from collections.abc import Iterator

from jitflow.adapters.git import Git
from jitflow.adapters.git.graph import commits_after, is_ancestor
from jitflow.adapters.git.log import iter_commits, last_change_of
from jitflow.adapters.git.remote import (
    deepen,
    ensure_merge_base,
    is_shallow,
    shallow_boundary,
    unshallow,
)
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
from jitflow.usecases.audit.gitlog import iter_ledger

# Every other kind ends a grant (expired, revoked, denied, failed, and any end added later).
_NOT_ENDS = {EventKind.MERGED, EventKind.ISSUED, EventKind.REVIEWED, EventKind.WARNED}
# Empty runner commits that name the request(s) they are about in `Jitflow-Request`.
_NAMING_EVENTS = {"post-review", "warn"}
# A shallow checkout (the workflows') is deepened this far, then unshallowed, until the
# history holds every commit the events need.
_DEPTHS = (256, 4096, 65536)


def reachable(git: Git, mark: str, tip: str, remote: str) -> bool:
    """Whether `mark` is in `tip`'s history (fetching it into a shallow checkout first)."""
    if is_shallow(git):
        ensure_merge_base(git, mark, tip, remote)
    return is_ancestor(git, mark, tip)


def last_change(git: Git, tip: str, path: str, remote: str) -> str:
    """The newest first-parent commit that changed `path` (deepening a shallow checkout: its
    oldest commits seem to add every file they hold)."""
    for depth in (*_DEPTHS, 0):
        found = last_change_of(git, tip, path)
        if found not in shallow_boundary(git) or not is_shallow(git):
            return found
        _deepen(git, tip, depth, remote)
    return ""


def _deepen(git: Git, tip: str, depth: int, remote: str) -> None:
    if depth:
        deepen(git, tip, depth, remote)
    else:
        unshallow(git, remote)


def _touched(commit: Commit) -> set[str]:
    ids: set[str] = set()
    for change in commit.changes:
        for pattern in (ARCHIVE_PATH, ACTIVE_PATH, REQUEST_PATH):
            if match := pattern.match(change.path):
                ids.add(match.group(1))
    trailers = parse_trailers(commit.message)
    if trailers.get("jitflow-event") in _NAMING_EVENTS:
        ids.update(split_list(trailers.get("jitflow-request", "")))
    return ids


def _collect(
    git: Git, tip: str, after: set[str], runner_email: str, remote: str
) -> list[RequestTrail]:
    """The touched trails, whole: a walk that ran into a shallow checkout's end is done again
    on a deeper one."""
    for depth in (*_DEPTHS, 0):
        trails, exhausted = [], True
        for trail in _trails(git, tip, after, runner_email):
            if trail is None:
                exhausted = False
            else:
                trails.append(trail)
        if not exhausted or not is_shallow(git):
            return trails
        _deepen(git, tip, depth, remote)
    return trails


def _trails(
    git: Git, tip: str, after: set[str], runner_email: str
) -> Iterator[RequestTrail | None]:
    """The trails of the requests the range touched, reading no further back than needed;
    a final None when the walk stopped before the end of the history it has."""
    folder = HistoryFolder(runner_email)
    touched: set[str] = set()
    unseen = set(after)
    boundary = shallow_boundary(git)
    for commit in iter_commits(git, tip):
        if commit.sha in boundary:
            return  # its diff is everything it holds: read it on a deeper checkout
        if commit.sha in unseen:
            unseen.discard(commit.sha)
            touched |= _touched(commit)
        for trail in folder.feed(commit):
            if trail.id in touched:
                touched.discard(trail.id)
                yield trail
        if not unseen and not touched:
            yield None
            return
    yield from (t for t in folder.finish() if t.id in touched)


def events_after(
    git: Git, mark: str, tip: str, runner_email: str, remote: str = "origin"
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
    trails = _collect(git, tip, set(order), runner_email, remote)
    for entry in iter_ledger(git, trails):
        row = build_row(entry.trail, entry.record)
        for event in events_of(entry.trail, row):
            if event.commit not in position:
                continue
            if event.kind not in _NOT_ENDS and entry.trail.end is None:
                continue
            grouped[position[event.commit]].append(event)
    for events in grouped:  # the same order on every run, so a resent batch is the same
        events.sort(key=lambda event: event.uid)
    return list(zip(order, grouped, strict=True))
