"""Feedback on a PR: commit statuses and jitflow's own marked comments.

Why apart: these are jitflow's writes to GitHub; a comment is kept one per marker, edited in
place, and a creation GitHub may have done although it failed to say so is looked for before
it is tried again.
"""

from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING

from jitflow.adapters.github import mapping
from jitflow.adapters.github.connection import quote
from jitflow.adapters.github.markers import has_marker, with_marker
from jitflow.adapters.github.people import People
from jitflow.adapters.github.retry import creation_unsure
from jitflow.errors import UsageError

if TYPE_CHECKING:
    from github.IssueComment import IssueComment
    from github.NamedUser import NamedUser
    from github.Organization import Organization

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
            lambda: [(c.id, _login(c.user), c.body or "") for c in self._marked(number, marker)],
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

    def _marked(self, number: int, marker: str) -> list[IssueComment]:
        comments = self._all(self._repo_obj().get_issue(number).get_comments())
        return [c for c in comments if has_marker(c.body or "", marker)]

    def _upsert(self, number: int, marker: str, text: str, me: str) -> int:
        """Edit our marked comment, or create it; a creation that may have landed although
        GitHub failed to say so is looked for before it is tried again, never repeated blind."""
        for attempt in itertools.count():
            ours = [c for c in self._marked(number, marker) if _login(c.user).lower() == me]
            if ours:
                if ours[0].body != text:
                    ours[0].edit(text)
                return ours[0].id
            try:
                return self._once_repo().get_issue(number).create_comment(text).id
            except Exception as exc:
                if attempt >= self._policy.max_retries or not creation_unsure(exc):
                    raise
            time.sleep(self._policy.backoff_delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover


def _login(user: NamedUser | Organization | None) -> str:
    return (user.login or "") if user is not None else ""
