"""People: the account the token acts as, SSH keys, team memberships.

Why apart: these answer "who" questions (the bot's own login, a requester's keys, an approver's
team), often with a second token for teams.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jitflow.adapters.github.connection import GitHubConnection
from jitflow.adapters.github.failures import team_permission
from jitflow.core.model import Account


class People(GitHubConnection):
    """Accounts, keys and teams."""

    def whoami(self) -> str:
        """Login of the account the token acts as (JITFLOW_BOT_LOGIN wins if set)."""
        if self._login is None:
            user = self._call(
                "reading the account the token belongs to",
                "a user identity (GitHub refuses GET /user to GitHub App and workflow tokens):"
                " set JITFLOW_BOT_LOGIN to the bot's login, e.g. github-actions[bot]",
                lambda: self._github.get_user().login,
            )
            self._login = str(user)
        return self._login

    def ssh_public_keys(self, login: str) -> list[str]:
        """The public SSH keys @login published on GitHub."""
        keys = self._call(
            f"reading the SSH keys of @{login}",
            "",
            lambda: self._all(self._github.get_user(login, lazy=True).get_keys()),
        )
        return [k.key for k in keys if k.key]

    def account(self, login: str) -> Account | None:
        """The account holding @login now (`GET /users/{login}`); None: no such account."""
        return self._call(
            f"reading the account @{login}",
            "",
            lambda: self._account(lambda: self._github.get_user(login)),
        )

    def account_by_id(self, account_id: int) -> Account | None:
        """Account `account_id` under its current login (`GET /user/{id}`); None: gone."""
        return self._call(
            f"reading GitHub account {account_id}",
            "",
            lambda: self._account(lambda: self._github.get_user_by_id(account_id)),
        )

    @staticmethod
    def _account(read: Callable[[], Any]) -> Account | None:
        from github.GithubException import GithubException

        try:
            user = read()
            found = Account(str(user.login), int(user.id), user.created_at, str(user.type))
        except GithubException as exc:
            if exc.status != 404:
                raise
            return None
        return found

    def is_team_member(self, org: str, slug: str, login: str) -> bool:
        """Whether @login is an active member of org/slug; fails closed if the team is unseen."""
        return self._call(
            f"checking whether @{login} is in team {org}/{slug}",
            team_permission(org, teams_token_set=self._teams is not self._github),
            lambda: self._membership(org, slug, login),
        )

    def _membership(self, org: str, slug: str, login: str) -> bool:
        from github.GithubException import GithubException

        team = self._teams.get_organization(org).get_team_by_slug(slug)
        try:
            membership = team.get_team_membership(login)
        except GithubException as exc:
            if exc.status != 404:
                raise
            team.complete()  # a 404 here: the team itself is out of sight
            return False
        return membership.state == "active"
