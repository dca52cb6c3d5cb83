"""The connection every part of the GitHub gateway shares.

Why apart: building PyGithub clients (one per token, plus one for creations that must never be
sent twice blind), reading every page of a list within a bound, and turning what won't pass
into a `GitHubError` (what failed, which permission is likely missing, tokens scrubbed) are
the same for pull requests, comments, people and repository settings.
"""

from __future__ import annotations

import functools
import itertools
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from jitflow.adapters.github.failures import Failure, describe_failure, github_said
from jitflow.adapters.github.http import (
    GatewaySettings,
    checked_api_url,
    follow_pages,
    is_rate_limited,
    is_transient,
)
from jitflow.adapters.github.retry import github_retry
from jitflow.errors import GitHubError, UsageError

if TYPE_CHECKING:
    from github import Github
    from github.GithubException import GithubException
    from github.Repository import Repository
    from github.Requester import Requester

T = TypeVar("T")

_MAX_PAGES = 1000
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class PullMoved(Exception):
    """The PR got new commits while it was being read; read it again."""


class GitHubConnection:
    """One repository on GitHub through PyGithub: clients, pages, failures."""

    def __init__(self, settings: GatewaySettings) -> None:
        if not settings.token:
            raise UsageError("no GitHub token given: set GITHUB_TOKEN")
        repository = settings.repository
        if not _REPOSITORY.fullmatch(repository):
            raise UsageError(f"GITHUB_REPOSITORY must look like owner/name, not {repository!r}")
        self.repository = repository
        self.api_url = checked_api_url(settings.api_url)
        owner, name = repository.split("/")
        self._owner = owner
        self._repo = f"/repos/{quote(owner)}/{quote(name)}"
        self._policy = settings.retry
        self._per_page = settings.per_page
        self._secrets = tuple(s for s in (settings.token, settings.teams_token) if s)
        self._login = settings.login
        self._clients: list[Github] = []
        self._settings = settings
        self._repository: Repository | None = None
        self._once_repository: Repository | None = None

    def close(self) -> None:
        for client in self._clients:
            client.close()

    # ---- transport -----------------------------------------------------------------------
    # The clients are made when first used: a sync with nothing to ask GitHub (nothing
    # pending, nothing due) then never loads PyGithub (~0.1-0.15 s of every such run).

    @functools.cached_property
    def _github(self) -> Github:
        return self._connect_with(self._settings.token)

    @functools.cached_property
    def _requester(self) -> Requester:
        return self._github.requester

    @functools.cached_property
    def _once(self) -> Github:
        """The client for creations: never sent twice blind."""
        return self._connect_with(self._settings.token, creates=True)

    @functools.cached_property
    def _teams(self) -> Github:
        teams_token = self._settings.teams_token
        return self._connect_with(teams_token) if teams_token else self._github

    def _connect_with(self, token: str, *, creates: bool = False) -> Github:
        settings = self._settings
        return self._connect(
            token, timeout=settings.timeout, interval=settings.min_write_interval, creates=creates
        )

    def _connect(
        self, token: str, *, timeout: int, interval: float, creates: bool = False
    ) -> Github:
        import github

        client = github.Github(
            auth=github.Auth.Token(token),
            base_url=self.api_url,
            timeout=timeout,
            user_agent="jitflow",
            per_page=self._per_page,
            retry=github_retry(self._policy, creates=creates),
            seconds_between_requests=None,
            seconds_between_writes=interval or None,
            lazy=True,
        )
        self._clients.append(client)
        return client

    def _repo_obj(self) -> Repository:
        if self._repository is None:
            self._repository = self._github.get_repo(self.repository)  # lazy: no request
        return self._repository

    def _once_repo(self) -> Repository:
        if self._once_repository is None:
            self._once_repository = self._once.get_repo(self.repository)  # lazy: no request
        return self._once_repository

    def _all(self, items: Iterable[T]) -> list[T]:
        """Every item of a PyGithub list (it follows GitHub's pages), within a sane bound."""
        bound = self._per_page * _MAX_PAGES
        listed = list(itertools.islice(items, bound + 1))
        if len(listed) > bound:
            raise GitHubError(f"GitHub kept paginating past {_MAX_PAGES} pages")
        return listed

    def _get(self, url: str, params: dict[str, Any] | None = None) -> Any:
        return self._requester.requestJsonAndCheck("GET", url, parameters=params)[1]

    def _send(self, verb: str, url: str, payload: Mapping[str, Any]) -> Any:
        return self._requester.requestJsonAndCheck(verb, url, input=dict(payload))[1]

    def _pages(self, url: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        """Every item of a list endpoint PyGithub has no method for."""
        get = functools.partial(self._requester.requestJsonAndCheck, "GET")
        query = {"per_page": self._per_page, **(params or {})}
        return follow_pages(lambda u, q: get(u, parameters=q), url, query, _MAX_PAGES)

    def _call(self, action: str, permission: str, operation: Callable[[], T]) -> T:
        """Run `operation` (PyGithub retries each request), translating what won't pass."""
        from github.GithubException import GithubException, RateLimitExceededExceedsMaxWait

        tries = 1 + self._policy.max_retries
        for attempt in range(tries):
            try:
                return operation()
            except RateLimitExceededExceedsMaxWait as exc:
                raise self._translate(exc, action, permission, 1) from exc
            except GithubException as exc:
                retried = is_transient(exc.status) or is_rate_limited(
                    exc.status, exc.headers or {}, github_said(exc.data)
                )
                attempts = tries if retried else 1
                raise self._translate(exc, action, permission, attempts) from exc
            except OSError as exc:  # network failures (requests' errors are OSErrors too)
                raise GitHubError(
                    f"could not reach GitHub at {self.api_url} while {action} "
                    f"({type(exc).__name__}, {tries} attempts): check the network "
                    "and GITHUB_API_URL"
                ) from exc
            except PullMoved as exc:
                if attempt == tries - 1:
                    raise GitHubError(f"the pull request kept changing while {action}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _translate(
        self, exc: GithubException, action: str, permission: str, attempts: int
    ) -> GitHubError:
        said = self._scrub(github_said(exc.data))
        failure = Failure(
            exc.status, exc.headers or {}, said, action, permission, attempts, time.time()
        )
        message = describe_failure(failure)
        return GitHubError(self._scrub(message))

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def quote(value: str, safe: str = "") -> str:
    return urllib.parse.quote(value, safe=safe)
