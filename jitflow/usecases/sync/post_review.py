"""Recording the post-hoc review of break-glass grants, as evidence `audit verify` accepts.

A break-glass grant is issued without prior approval; an approver of its policy must review it
afterwards. Sync looks at the PR of each recent break-glass grant with no review recorded yet:
the first APPROVED review submitted after the merge by an eligible approver (policies and
groups as at the merge's first parent, like the issue decision; never the requester, the PR
author or a committer) is recorded as an empty runner commit with `Jitflow-Event: post-review`
trailers. Whether the review came in time is for `audit verify` to judge, so a late review is
recorded too, with the time it was submitted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from jitflow.adapters.git import Git
from jitflow.adapters.git.log import messages_containing
from jitflow.adapters.git.reading import files_containing, names_in, read_files
from jitflow.adapters.git.remote import fetch_blobs_under
from jitflow.adapters.git.writing import LedgerCommit
from jitflow.core.approvals import approvers_of
from jitflow.core.history import parse_time, parse_trailers
from jitflow.core.identities import named_logins, team_logins, unproven
from jitflow.core.ledger import Event, Trailers, commit_message
from jitflow.core.loading import ARCHIVE_DIR, GROUPS_PATH, parse_groups, request_id_for
from jitflow.core.model import Groups, Policy, PullRequestFacts, Review, ReviewState
from jitflow.core.times import format_time
from jitflow.core.yamlio import YamlError, load_yaml
from jitflow.errors import JitflowError
from jitflow.usecases.port import PullFacts
from jitflow.usecases.pull_decision import accounts_of, approval_facts_for, resolve_teams
from jitflow.usecases.repository import read_policies
from jitflow.usecases.sync.run_memory import SyncReport
from jitflow.usecases.sync.state import MainState

# Grants issued longer ago than this are left alone: their review window is long closed, and
# looking further back would make every sync read ever more history.
LOOKBACK = timedelta(days=30)
_MARKER = "break_glass: true"


@dataclass(frozen=True)
class BreakGlassGrant:
    """What judging a post-hoc review needs from a break-glass grant's ledger record."""

    id: str
    policy: str
    requester: str
    pr: int
    merged_at: datetime
    policy_commit: str


@dataclass(frozen=True)
class PostReview:
    grant: BreakGlassGrant
    review: Review


def record_post_reviews(
    git: Git,
    grants: Sequence[BreakGlassGrant],
    github: PullFacts,
    now: datetime,
    report: SyncReport,
) -> list[LedgerCommit]:
    """One post-review commit for each of `grants` (`unreviewed_grants`) that got its review."""
    commits = []
    for grant in grants:
        try:
            found = find_post_review(git, github, grant)
        except JitflowError as exc:
            # Not a failed run: the evidence is optional for sync (audit verify flags a missing
            # review), and one unreadable PR must not turn every run red for 30 days.
            report.warnings.append(
                f"could not read the post-hoc review of {grant.id}: {exc.message}"
            )
            continue
        if found is not None:
            commits.append(post_review_commit(found, now))
            when = format_time(found.review.submitted_at)
            report.done.append(("post-review", grant.id, f"by {found.review.reviewer} at {when}"))
    return commits


def awaiting_review(
    git: Git, state: MainState, now: datetime, report: SyncReport
) -> list[BreakGlassGrant] | None:
    """`unreviewed_grants` at a run's base; None when they could not be read, and then the
    run's commits carry no list (the next run reads the archive's recent months instead)."""
    try:
        return unreviewed_grants(git, state, now)
    except JitflowError as exc:
        report.warnings.append(f"could not read the break-glass grants: {exc.message}")
        return None


def unreviewed_grants(git: Git, state: MainState, now: datetime) -> list[BreakGlassGrant]:
    """Break-glass grants, active or archived, issued since `now - LOOKBACK`, not yet reviewed:
    those the newest runner commit lists as awaiting review (review_trailer.py), or, in a
    ledger whose runner commits carry no list yet, among the active records and the archive
    records of the months since then."""
    since = now - LOOKBACK
    named = state.awaiting_review
    if named is None:
        texts = dict(state.active_bytes)
        archived = _archived_with_marker(git, state.commit, since, now)
    else:  # an active grant left off the list has its review recorded
        texts = {i: text for i, text in state.active_bytes.items() if i in named}
        archived = _archived_named(git, state.commit, named - texts.keys())
    blobs = read_files(git, state.commit, archived)
    for path, blob in zip(archived, blobs, strict=True):
        texts[request_id_for(path)] = blob or b""
    grants = [
        grant
        for request_id, text in sorted(texts.items())
        if _MARKER.encode() in text and (grant := _break_glass_grant(request_id, text, since))
    ]
    if not grants:
        return []
    reviewed = _reviewed_ids(git, state.commit, since)
    return [g for g in grants if g.id not in reviewed]


def _archived_named(git: Git, commit: str, ids: Iterable[str]) -> list[str]:
    """The archive records of `ids` at `commit` (their blobs fetched at once in a partial
    clone): the months they ended in are looked up in the trees, which are all here."""
    wanted = {f"{i}.yaml" for i in ids if i and "/" not in i}
    if not wanted:
        return []
    years = names_in(git, commit, f"{ARCHIVE_DIR}/")
    months = names_in(git, commit, *(f"{year}/" for year in years)) if years else []
    paths = [f"{month}/{name}" for month in months for name in sorted(wanted)]
    found = names_in(git, commit, *paths) if paths else []
    if found:  # an empty list of paths would fetch the whole tree's blobs
        fetch_blobs_under(git, commit, found)
    return found


def _archived_with_marker(git: Git, commit: str, since: datetime, now: datetime) -> list[str]:
    """Archive records in the month folders a grant issued since `since` can have ended in."""
    folders = sorted({f"{ARCHIVE_DIR}/{day:%Y/%m}/" for day in _days(since, now)})
    return [p for p in files_containing(git, commit, _MARKER, folders) if p.endswith(".yaml")]


def _days(start: datetime, end: datetime) -> Iterable[datetime]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)
    yield end


def _break_glass_grant(request_id: str, text: bytes, since: datetime) -> BreakGlassGrant | None:
    try:
        data = load_yaml(text, f"{request_id}.yaml").data
    except YamlError:
        return None
    data = data if isinstance(data, Mapping) else {}
    grant = data.get("grant")
    if not isinstance(grant, Mapping) or grant.get("break_glass") is not True:
        return None
    if isinstance(data.get("post_review"), Mapping):
        return None  # reviewed, with the evidence in the record itself
    issued_at, merged_at = parse_time(grant.get("issued_at")), parse_time(grant.get("merged_at"))
    pr, policy_commit = grant.get("pr"), grant.get("policy_commit")
    if issued_at is None or issued_at < since or merged_at is None:
        return None
    if not isinstance(pr, int) or not isinstance(policy_commit, str):
        return None
    policy, requester = str(data.get("policy", "")), str(data.get("requester", ""))
    return BreakGlassGrant(request_id, policy, requester, pr, merged_at, policy_commit)


def _reviewed_ids(git: Git, commit: str, since: datetime) -> set[str]:
    """Requests whose post-review is already recorded on main."""
    text = f"Jitflow-Event: {Event.POST_REVIEW.value}"
    reviewed: set[str] = set()
    for message in messages_containing(git, commit, since - timedelta(days=1), text):
        trailers = parse_trailers(message)
        if trailers.get("jitflow-event") == Event.POST_REVIEW.value:
            reviewed |= {p.strip() for p in trailers.get("jitflow-request", "").split(",")}
    return reviewed


def find_post_review(git: Git, github: PullFacts, grant: BreakGlassGrant) -> PostReview | None:
    """The first approval after the merge by someone the policy lets approve, if any."""
    pr: PullRequestFacts = github.pull_request(grant.pr)
    later = sorted(
        (
            r
            for r in pr.reviews
            if r.state is ReviewState.APPROVED and r.submitted_at >= grant.merged_at
        ),
        key=lambda r: r.submitted_at,
    )
    if not later:
        return None
    eligible = _eligible(git, github, grant, pr)
    for review in later:
        if review.reviewer.lower() in eligible:
            return PostReview(grant, review)
    return None


def _eligible(
    git: Git, github: PullFacts, grant: BreakGlassGrant, pr: PullRequestFacts
) -> set[str]:
    """Logins that may review the grant: its policy's approvers, minus the people involved."""
    loaded = read_policies(git, grant.policy_commit, [grant.policy]).get(grant.policy)
    policy = loaded.value if loaded is not None else None
    [groups_blob] = read_files(git, grant.policy_commit, [GROUPS_PATH])
    groups = parse_groups(groups_blob).value
    if not isinstance(policy, Policy) or not isinstance(groups, Groups):
        return set()  # no readable rules: nobody is eligible (audit verify reports it)
    reviewers = {r.reviewer for r in pr.reviews}
    teams, _ = resolve_teams(groups, reviewers, github.is_team_member)
    eligible = approvers_of(policy, groups, teams)
    committers = approval_facts_for(git, pr).committers
    # A named approver counts only as the GitHub account groups.yaml pins (core.identities).
    rules = [rule.approvers for rule in policy.approval_rules]
    named = set().union(*(named_logins(r, groups) for r in rules))
    by_team = set().union(*(team_logins(r, groups, teams) for r in rules))
    doubted = set(unproven(named, accounts_of(pr), groups)) - by_team
    return eligible - {grant.requester.lower(), pr.author.lower()} - committers - doubted


def post_review_commit(found: PostReview, now: datetime) -> LedgerCommit:
    """An empty runner commit whose trailers are the review's evidence."""
    grant, review = found.grant, found.review
    when = format_time(review.submitted_at)
    body = (
        f"Post-hoc review of break-glass grant {grant.id}: approved by @{review.reviewer} "
        f"on PR #{grant.pr} at {when}."
    )
    message = commit_message(
        Trailers(Event.POST_REVIEW, grant.id, grant.policy, grant.requester), body
    )
    message += f"Jitflow-Reviewed-By: {review.reviewer}\nJitflow-Reviewed-At: {when}\n"
    return LedgerCommit(message, {}, now)
