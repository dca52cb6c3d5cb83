"""GitHub REST JSON to core domain values, free of any GitHub library.

The rules here decide what evaluation gets to see, so they fail closed: a review without a
submitter or a submission time counts for nothing, and a PR GitHub can't list whole is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from jitflow.core.model import (
    ChangedFile,
    ChangeStatus,
    PullCommit,
    PullRequestFacts,
    Push,
    Review,
    ReviewState,
)
from jitflow.errors import GitHubError

_FILE_STATUS = {
    "added": ChangeStatus.ADDED,
    "modified": ChangeStatus.MODIFIED,
    "changed": ChangeStatus.TYPE_CHANGED,
    "unchanged": ChangeStatus.MODIFIED,
    "removed": ChangeStatus.DELETED,
    "renamed": ChangeStatus.RENAMED,
    "copied": ChangeStatus.COPIED,
}


def login_of(user: Any) -> str | None:
    return str(user["login"]) if isinstance(user, dict) and user.get("login") else None


def account_id_of(user: Any) -> int | None:
    """The account's numeric id (it never changes; the login can)."""
    found = user.get("id") if isinstance(user, dict) else None
    return found if isinstance(found, int) and not isinstance(found, bool) else None


def parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def changed_file(item: Mapping[str, Any]) -> ChangedFile:
    """One entry of `GET /pulls/{n}/files` (GitHub gives no file mode there)."""
    status = _FILE_STATUS.get(str(item.get("status")))
    if status is None:
        raise GitHubError(f"GitHub reported an unknown file status {item.get('status')!r}")
    previous = item.get("previous_filename") or None
    return ChangedFile(path=str(item["filename"]), status=status, previous_path=previous)


def review(item: Mapping[str, Any]) -> Review | None:
    """A submitted review by a known account; pending or ghost reviews count for nothing."""
    reviewer, submitted = login_of(item.get("user")), parse_time(item.get("submitted_at"))
    try:
        state = ReviewState(str(item.get("state")))
    except ValueError:
        return None
    if reviewer is None or submitted is None or state is ReviewState.PENDING:
        return None
    commit = str(item.get("commit_id") or "")
    return Review(reviewer, state, commit, submitted, account_id_of(item.get("user")))


_CO_AUTHOR = re.compile(r"^co-authored-by:[ \t]*(.+?)[ \t]*$", re.IGNORECASE | re.MULTILINE)


class _Account(Protocol):
    @property
    def login(self) -> str: ...


class _Verification(Protocol):
    @property
    def verified(self) -> bool: ...


class _GitCommit(Protocol):
    @property
    def message(self) -> str: ...

    @property
    def verification(self) -> _Verification | None: ...


class ListedCommit(Protocol):
    """An entry of `GET /pulls/{n}/commits` as PyGithub types it (its `Commit`)."""

    @property
    def sha(self) -> str: ...

    @property
    def author(self) -> _Account | None: ...

    @property
    def committer(self) -> _Account | None: ...

    @property
    def commit(self) -> _GitCommit: ...


def pull_commit(item: ListedCommit) -> PullCommit:
    """One entry of `GET /pulls/{n}/commits`: the accounts GitHub resolved, the co-author
    trailers of the message, and whether GitHub verified the signature."""
    message = item.commit.message or ""
    verification = item.commit.verification
    return PullCommit(
        item.sha,
        (item.author.login or None) if item.author else None,
        (item.committer.login or None) if item.committer else None,
        co_authors=tuple(_CO_AUTHOR.findall(message)),
        verified=bool(verification and verification.verified),
    )


def head_in_repository(pr: Mapping[str, Any], repository: str) -> bool:
    """Whether the PR's head branch lives in `repository` itself (not a fork, not deleted)."""
    head_repo = _object(_object(pr.get("head")).get("repo"))
    return str(head_repo.get("full_name") or "").lower() == repository.lower()


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def push(item: Mapping[str, Any]) -> Push:
    """One entry of `GET /repos/{o}/{r}/activity`."""
    return Push(
        login_of(item.get("actor")),
        str(item.get("before") or ""),
        str(item.get("after") or ""),
        str(item.get("activity_type") or ""),
        parse_time(item.get("timestamp")),
    )


def ensure_complete(number: int, pr: Mapping[str, Any], key: str, seen: int, what: str) -> None:
    """Fail closed when GitHub lists fewer items than the PR has (3000 files, 250 commits)."""
    expected = pr.get(key)
    if isinstance(expected, int) and seen < expected:
        raise GitHubError(
            f"pull request #{number} has {expected} {what} but GitHub lists only {seen}: "
            "jitflow will not judge a PR it cannot see whole; split it into smaller PRs"
        )


def pull_facts(
    pr: Mapping[str, Any],
    files: Sequence[ChangedFile],
    reviews: Sequence[Review],
    commits: Sequence[PullCommit],
    pushes: Sequence[Push] | None = None,
) -> PullRequestFacts:
    """`GET /pulls/{n}` plus its listed files, reviews, commits and head-branch pushes."""
    return PullRequestFacts(
        number=int(pr["number"]),
        author=login_of(pr.get("user")) or "",
        author_id=account_id_of(pr.get("user")),
        title=str(pr.get("title") or ""),
        state=str(pr.get("state") or ""),
        draft=bool(pr.get("draft")),
        base_ref=str(pr["base"]["ref"]),
        base_sha=str(pr["base"]["sha"]),
        head_ref=str(pr["head"]["ref"]),
        head_sha=str(pr["head"]["sha"]),
        merged=bool(pr.get("merged") or pr.get("merged_at")),
        merged_by=login_of(pr.get("merged_by")),
        merged_at=parse_time(pr.get("merged_at")),
        merge_commit_sha=pr.get("merge_commit_sha") or None,
        files=tuple(files),
        reviews=tuple(reviews),
        commits=tuple(commits),
        pushes=None if pushes is None else tuple(pushes),
    )


def last_base_change(events: Iterable[Mapping[str, Any]]) -> datetime | None:
    """When the PR's base branch last changed, from `GET /issues/{n}/events`."""
    times = [
        parse_time(e.get("created_at")) for e in events if e.get("event") == "base_ref_changed"
    ]
    if any(t is None for t in times):
        raise GitHubError("GitHub reported a base branch change without a time")
    return max((t for t in times if t is not None), default=None)
