"""Repository settings: branch protection, branch rules, rulesets, Actions settings.

Why apart: `doctor` and the gate read how the repository is guarded; these reads need
administration or metadata permissions the rest of the gateway does not.
"""

from __future__ import annotations

from typing import Any

from jitflow.adapters.github.connection import GitHubConnection, quote
from jitflow.adapters.github.failures import github_said


class RepositorySettings(GitHubConnection):
    """How the repository is guarded and configured."""

    def branch_protection(self, branch: str) -> dict[str, Any] | None:
        """Branch protection of `branch` as GitHub returns it, or None if it is unprotected."""
        return self._call(
            f"reading the protection of branch {branch} in {self.repository}",
            "administration: read",
            lambda: self._protection(branch),
        )

    def branch_rules(self, branch: str) -> list[dict[str, Any]]:
        """Every ruleset rule that applies to `branch` (each names its `ruleset_id`)."""
        path = f"{self._repo}/rules/branches/{quote(branch, '/')}"
        rules = self._call(
            f"reading the rules of branch {branch} in {self.repository}",
            "metadata: read",
            lambda: list(self._pages(path)),
        )
        return [dict(rule) for rule in rules]

    def ruleset(self, ruleset_id: int) -> dict[str, Any]:
        """One ruleset with its bypass actors (GitHub shows them to admins only)."""
        return dict(
            self._call(
                f"reading ruleset {ruleset_id} of {self.repository}",
                "administration: read",
                lambda: self._get(f"{self._repo}/rulesets/{int(ruleset_id)}"),
            )
        )

    def actions_setting_exists(self, kind: str, name: str) -> bool:
        """Whether the repository has the Actions `kind` ("variables" or "secrets") `name`
        (a secret's value is never read: GitHub shows none)."""
        return self._call(
            f"reading whether the Actions {kind[:-1]} {name} of {self.repository} is set",
            f"{kind.capitalize()}: read on the repository",
            lambda: self._setting_exists(kind, name),
        )

    def _setting_exists(self, kind: str, name: str) -> bool:
        from github.GithubException import GithubException

        repo = self._repo_obj()
        setting = repo.get_variable(name) if kind == "variables" else repo.get_secret(name)
        try:
            setting.complete()
        except GithubException as exc:
            if exc.status != 404:
                raise
            return False
        return True

    def _protection(self, branch: str) -> dict[str, Any] | None:
        from github.GithubException import GithubException

        try:
            return dict(self._get(f"{self._repo}/branches/{quote(branch, '/')}/protection"))
        except GithubException as exc:
            if exc.status == 404 and "not protected" in github_said(exc.data).lower():
                return None
            raise
