"""Which break-glass grants still await their post-hoc review, carried on every runner commit.

Sync records the post-hoc review of recent break-glass grants (post_review.py). Found from the
tree alone, that means reading every archive record of the last 30 days (about 3,000 records
at 100,000 grants in two years). Instead every runner commit carries
`Jitflow-Awaiting-Review:` naming the break-glass grants issued within the look-back that have
no recorded review once that commit is applied (or `none`). A run reads the list of the newest
runner commit, where its walk of recent history stops anyway (recent.py), and the active
records it reads anyway: a handful of records, not a month's archive.

A run computes the list at its base and carries it through its own commits (`stamp`): a
break-glass grant it issues joins the list, a review it records leaves it. Only runner commits
issue or record reviews, so the newest runner commit's list holds every grant still awaiting
review at main's tip (those issued since are active there).

The list can lie only if someone forges a runner commit on main: `audit verify` re-derives
it at every runner commit from history (`AwaitingCheck`) and flags a list that leaves out a
grant still awaiting review (`review-trailer-hides-grant`). Naming more is harmless: sync
reads those records and drops what is reviewed or too old.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from jitflow.adapters.git.log import FirstParentCommit
from jitflow.adapters.git.writing import LedgerCommit, Stamp
from jitflow.core.history import parse_trailers, split_list
from jitflow.core.ledger import Event
from jitflow.core.loading import ACTIVE_DIR, ARCHIVE_DIR, request_id_for

AWAITING_TRAILER = "Jitflow-Awaiting-Review"
BREAK_GLASS_MARKER = b"break_glass: true"
_NONE = "none"
# Sync drops grants issued before its `now - LOOKBACK`; verify asks a list for grants issued a
# day later than that, so a run's second-rounded commit time never reads as a lie.
_MARGIN = timedelta(days=1)


def awaiting_line(ids: Iterable[str]) -> str:
    return f"{AWAITING_TRAILER}: {', '.join(sorted(set(ids))) or _NONE}"


def parse_awaiting(value: str) -> frozenset[str] | None:
    """The ids a trailer value names; None when there is no such trailer (older runners)."""
    value = value.strip()
    if not value:
        return None
    if value == _NONE:
        return frozenset()
    return frozenset(split_list(value))


def stamp(commits: Sequence[LedgerCommit], awaiting: Iterable[str]) -> list[LedgerCommit]:
    """Each of a run's commits with the list as it stands once the commit is applied, from
    `awaiting` at the run's base. Stamping a prefix of a run gives a prefix of the stamped run
    (the ledger writer starts the first commits early)."""
    current = set(awaiting)
    stamped = []
    for commit in commits:
        current = after(commit, current)
        message = commit.message.rstrip("\n") + f"\n{awaiting_line(current)}\n"
        stamped.append(replace(commit, message=message))
    return stamped


def stamper(awaiting: Sequence[str]) -> Stamp:
    """The ledger writer's stamp for a run whose base has `awaiting`."""

    def stamped(commits: Sequence[LedgerCommit]) -> list[LedgerCommit]:
        return stamp(commits, awaiting)

    return stamped


def after(commit: LedgerCommit, awaiting: set[str]) -> set[str]:
    """The list once `commit` is applied: a ledger record of a break-glass grant written joins
    it (an issue, adoption or extension; an ending keeps it), a recorded review leaves it."""
    now = set(awaiting)
    for path, content in commit.files.items():
        ledger = path.startswith((f"{ACTIVE_DIR}/", f"{ARCHIVE_DIR}/"))
        if ledger and content is not None and BREAK_GLASS_MARKER in content:
            now.add(request_id_for(path))
    trailers = parse_trailers(commit.message)
    if trailers.get("jitflow-event") == Event.POST_REVIEW.value:
        now -= set(split_list(trailers.get("jitflow-request", "")))
    return now


@dataclass(frozen=True)
class AwaitingLie:
    commit: str  # the runner commit whose list leaves the grant out
    request_id: str
    issued_in: str  # the commit that issued the grant


@dataclass
class AwaitingCheck:
    """Re-derives every runner commit's list from history (audit verify). Fed first the
    break-glass grants verify found (`grant`), then main's first parents oldest first (`see`)."""

    lookback: timedelta
    _issued: dict[str, list[tuple[str, datetime, tuple[datetime, ...]]]] = field(
        default_factory=dict
    )
    _open: dict[str, tuple[str, datetime, tuple[datetime, ...]]] = field(default_factory=dict)

    def grant(
        self, request_id: str, issue: str, issued_at: datetime, reviews: Sequence[datetime]
    ) -> None:
        """A break-glass grant issued in commit `issue`, reviewed at `reviews` (any evidence
        verify accepts; a review kept in the record itself counts from the issue on)."""
        entry = (request_id, issued_at, tuple(reviews))
        self._issued.setdefault(issue, []).append(entry)

    def see(self, commit: FirstParentCommit, by_runner: bool) -> Iterator[AwaitingLie]:
        for request_id, issued_at, reviews in self._issued.get(commit.sha, ()):
            self._open[request_id] = (commit.sha, issued_at, reviews)
        listed = parse_awaiting(commit.second_trailer) if by_runner else None
        if listed is None or commit.committed_at is None:
            return
        since = commit.committed_at - self.lookback + _MARGIN
        for request_id, (issue, issued_at, reviews) in sorted(self._open.items()):
            reviewed = any(at <= commit.committed_at for at in reviews)
            if issued_at >= since and not reviewed and request_id not in listed:
                yield AwaitingLie(commit.sha, request_id, issue)
