"""Feedback on a PR: commit statuses and jitflow's own marked comments.

Why apart: these are jitflow's writes to GitHub; a comment is kept one per marker, edited in
place, and a creation GitHub may have done although it failed to say so is looked for before
it is tried again.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

from jitflow.adapters.github import mapping
from jitflow.adapters.github.connection import quote
from jitflow.adapters.github.markers import marker_tag, with_marker
from jitflow.adapters.github.people import People
from jitflow.adapters.github.retry import creation_unsure
from jitflow.errors import UsageError

STATUS_DESCRIPTION_LIMIT = 140
STATUS_STATES = frozenset({"error", "failure", "pending", "success"})


class Comments(People):
    """Commit statuses and marked PR comments (upserts need to know who we are: `People`)."""

    def set_status(
        self,
        sha: str,
        context: str,
        state: str,
        description: str,
        target_url: str | None = None,
    ) -> None:
        """Set commit status `context` on `sha`; the description is cut to GitHub's limit."""
        if state not in STATUS_STATES:
            raise UsageError(f"commit status state must be one of {sorted(STATUS_STATES)}")
        payload: dict[str, str] = {
            "state": state,
            "context": context,
            "description": mapping.truncate(description, STATUS_DESCRIPTION_LIMIT),
        }
        if target_url:
            payload["target_url"] = target_url
        self._call(
            f"setting status {context!r} on commit {sha} in {self.repository}",
            "statuses: write",
            lambda: self._send("POST", f"{self._repo}/statuses/{quote(sha)}", payload),
        )

    def find_marked_comments(self, number: int, marker: str) -> list[tuple[int, str, str]]:
        """(id, author login, body) of PR comments carrying `marker`, oldest first.

        Anyone can paste a marker: callers must check the author before trusting a body.
        """
        return self._call(
            f"reading comments of pull request #{number} in {self.repository}",
            "pull-requests: read",
            lambda: [(c.id, c.login, c.body) for c in self._marked(number, marker)],
        )

    def upsert_comment(self, number: int, marker: str, body: str) -> int:
        """Keep one comment per marker: edit ours in place, or create it. Returns its id."""
        me = self.whoami().lower()
        text = with_marker(marker, body)
        return self._call(
            f"writing the {marker} comment on pull request #{number} in {self.repository}",
            "pull-requests: write (or issues: write)",
            lambda: self._upsert(number, marker, text, me),
        )

    def _marked(self, number: int, marker: str) -> list[_Comment]:
        """The PR's comments carrying `marker`, read as GitHub's JSON (`listed`): typed
        `IssueComment`s cost more CPU than the request on a PR with many comments."""
        from jitflow.adapters.github.listed import listed

        url = f"{self._repo}/issues/{number}/comments"
        tag = marker_tag(marker)  # what `has_marker` looks for, made once
        comments = self._all(listed(self._requester, url))
        return [_Comment.of(c.raw_data) for c in comments if tag in (c.raw_data.get("body") or "")]

    def _upsert(self, number: int, marker: str, text: str, me: str) -> int:
        """Edit our marked comment, or create it; a creation that may have landed although
        GitHub failed to say so is looked for before it is tried again, never repeated blind."""
        for attempt in itertools.count():
            ours = [c for c in self._marked(number, marker) if c.login.lower() == me]
            if ours:
                if ours[0].body != text:  # PyGithub's lazy comment: the PATCH only
                    self._repo_obj().get_issue(number).get_comment(ours[0].id).edit(text)
                return ours[0].id
            try:
                return self._once_repo().get_issue(number).create_comment(text).id
            except Exception as exc:
                if attempt >= self._policy.max_retries or not creation_unsure(exc):
                    raise
            time.sleep(self._policy.backoff_delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class _Comment:
    """What an upsert reads of a listed comment."""

    id: int
    login: str
    body: str

    @classmethod
    def of(cls, data: dict[str, object]) -> _Comment:
        user = data.get("user")
        login = user.get("login") if isinstance(user, dict) else None
        return cls(int(str(data["id"])), str(login or ""), _body(data))


def _body(data: dict[str, object]) -> str:
    body = data.get("body")
    return body if isinstance(body, str) else ""
