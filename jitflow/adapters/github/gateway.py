"""GitHub through PyGithub (`github` is imported only inside this package).

PyGithub does the HTTP: its `GithubRetry` (urllib3's `Retry` on its session) retries rate
limits, 5xx answers and broken connections with bounded backoff, refusing a rate-limit wait
longer than `max_rate_limit_wait`; its typed objects and `PaginatedList` read pull requests,
their files, reviews and commits, comments, keys and team memberships. Raw requester calls
remain only where PyGithub has no method, or one that costs an extra request (branch
protection, branch rules, rulesets, repository activity, commit statuses). What is ours: the
messages (`GitHubError`: what failed, which permission is likely missing, tokens scrubbed),
re-reading a PR that moved while read, and creating a comment only once. `mapping`
turns what GitHub answered into core types.
"""

from __future__ import annotations

import functools
import itertools
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from jitflow.adapters.github import mapping
from jitflow.adapters.github.http import (
    DEFAULT_API_URL,
    RetryPolicy,
    checked_api_url,
    describe_failure,
    follow_pages,
    github_said,
    is_rate_limited,
    is_transient,
    rate_limit_wait,
    settings_from_env,
    team_permission,
)
from jitflow.adapters.github.markers import has_marker, with_marker
from jitflow.core.model import PullRequestFacts
from jitflow.errors import GitHubError, UsageError

if TYPE_CHECKING:
    from github import Github
    from github.GithubException import GithubException
    from github.GithubRetry import GithubRetry
    from github.IssueComment import IssueComment
    from github.NamedUser import NamedUser
    from github.Organization import Organization
    from github.Repository import Repository

T = TypeVar("T")

STATUS_DESCRIPTION_LIMIT = 140
STATUS_STATES = frozenset({"error", "failure", "pending", "success"})
_MAX_PAGES = 1000
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class _PullMoved(Exception):
    """The PR got new commits while it was being read; read it again."""


class GitHubGateway:
    """One repository on GitHub (or GitHub Enterprise, or a compatible server)."""

    def __init__(
        self,
        token: str,
        repository: str,
        api_url: str = DEFAULT_API_URL,
        *,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_rate_limit_wait: float = 60.0,
        per_page: int = 100,
        timeout: int = 15,
        min_write_interval: float = 1.0,
        teams_token: str | None = None,
        login: str | None = None,
    ) -> None:
        if not token:
            raise UsageError("no GitHub token given: set GITHUB_TOKEN")
        if not _REPOSITORY.fullmatch(repository):
            raise UsageError(f"GITHUB_REPOSITORY must look like owner/name, not {repository!r}")
        self.repository = repository
        self.api_url = checked_api_url(api_url)
        owner, name = repository.split("/")
        self._owner = owner
        self._repo = f"/repos/{_q(owner)}/{_q(name)}"
        self._policy = RetryPolicy(max_retries, backoff, max_rate_limit_wait)
        self._per_page = per_page
        self._secrets = tuple(s for s in (token, teams_token) if s)
        self._login = login
        self._clients: list[Github] = []
        connect = functools.partial(self._connect, timeout=timeout, interval=min_write_interval)
        self._github = connect(token)
        self._requester = self._github.requester
        self._once = connect(token, creates=True)  # creations: never twice blind
        self._teams = connect(teams_token) if teams_token else self._github
        self._repository: Repository | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **options: Any) -> GitHubGateway:
        """Build from the variables GitHub Actions sets (plus jitflow's optional ones)."""
        settings = settings_from_env(environ)
        return cls(
            settings.token,
            settings.repository,
            settings.api_url,
            teams_token=settings.teams_token,
            login=settings.login,
            **{"min_write_interval": settings.min_write_interval, **options},
        )

    def __repr__(self) -> str:
        return f"GitHubGateway(repository={self.repository!r}, api_url={self.api_url!r})"

    def __enter__(self) -> GitHubGateway:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        for client in self._clients:
            client.close()

    # ---- pull requests -------------------------------------------------------------------

    def pull_request(self, number: int) -> PullRequestFacts:
        """The PR with all its files, reviews and commits (every page)."""
        return self._call(
            f"reading pull request #{number} of {self.repository}",
            "pull-requests: read and contents: read",
            lambda: self._read_pull(number),
        )

    def pulls_for_commit(self, sha: str) -> list[int]:
        """Numbers of the merged PRs GitHub associates with commit `sha`."""
        pulls = self._call(
            f"listing pull requests of commit {sha} in {self.repository}",
            "pull-requests: read and contents: read",
            lambda: self._all(self._repo_obj().get_commit(sha).get_pulls()),
        )
        return sorted({p.number for p in pulls if p.merged_at})

    def open_pulls_with_head_sha(self, sha: str) -> list[int]:
        """Numbers of the open PRs whose head is commit `sha` (for merge queues)."""
        pulls = self._call(
            f"listing open pull requests of {self.repository}",
            "pull-requests: read",
            lambda: self._all(self._repo_obj().get_pulls(state="open")),
        )
        return sorted(p.number for p in pulls if p.head.sha == sha)

    def create_pull(self, head: str, base: str, title: str, body: str) -> int:
        """Open a PR from `head` into `base`; an already open one for them is reused."""
        return self._call(
            f"opening a pull request from {head} into {base} in {self.repository}",
            "pull-requests: write and contents: write",
            lambda: self._create_pull(head, base, title, body),
        )

    # ---- people --------------------------------------------------------------------------

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

    def is_team_member(self, org: str, slug: str, login: str) -> bool:
        """Whether @login is an active member of org/slug; fails closed if the team is unseen."""
        return self._call(
            f"checking whether @{login} is in team {org}/{slug}",
            team_permission(org, teams_token_set=self._teams is not self._github),
            lambda: self._membership(org, slug, login),
        )

    # ---- statuses and comments -----------------------------------------------------------

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
            lambda: self._send("POST", f"{self._repo}/statuses/{_q(sha)}", payload),
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

    def branch_protection(self, branch: str) -> dict[str, Any] | None:
        """Branch protection of `branch` as GitHub returns it, or None if it is unprotected."""
        return self._call(
            f"reading the protection of branch {branch} in {self.repository}",
            "administration: read",
            lambda: self._protection(branch),
        )

    def branch_rules(self, branch: str) -> list[dict[str, Any]]:
        """Every ruleset rule that applies to `branch` (each names its `ruleset_id`)."""
        path = f"{self._repo}/rules/branches/{_q(branch, '/')}"
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

    # ---- operations run inside _call -----------------------------------------------------

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

    def _read_pull(self, number: int) -> PullRequestFacts:
        pull = self._repo_obj().get_pull(number)
        pr = pull.raw_data  # the one GET of the PR (PyGithub completes it lazily)
        files = [mapping.changed_file(f.raw_data) for f in self._all(pull.get_files())]
        reviews = [
            r for r in (mapping.review(r.raw_data) for r in self._all(pull.get_reviews())) if r
        ]
        commits = [mapping.pull_commit(c) for c in self._all(pull.get_commits())]
        mapping.ensure_complete(number, pr, "changed_files", len(files), "files")
        mapping.ensure_complete(number, pr, "commits", len(commits), "commits")
        if commits and str(pr["head"]["sha"]) not in {c.sha for c in commits}:
            raise _PullMoved
        pushes = []
        if mapping.head_in_repository(pr, self.repository):
            # A fork's pushes are not in this repository's activity: none is known, so the
            # head counts as unattributed (core.contributors refuses it). PyGithub has no
            # method for the activity list.
            ref = f"refs/heads/{pr['head']['ref']}"
            pushes = [mapping.push(a) for a in self._pages(f"{self._repo}/activity", {"ref": ref})]
        return mapping.pull_facts(pr, files, reviews, commits, pushes)

    def _create_pull(self, head: str, base: str, title: str, body: str) -> int:
        from github.GithubException import GithubException

        repo = self._repo_obj()
        try:
            return repo.create_pull(base=base, head=head, title=title, body=body).number
        except GithubException as exc:
            if exc.status != 422:
                raise
            mine = repo.get_pulls(state="open", head=f"{self._owner}:{head}", base=base)
            existing = [p.number for p in self._all(mine)]
            if not existing:
                raise
            return existing[0]

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
                if attempt >= self._policy.max_retries or not _creation_unsure(exc):
                    raise
            time.sleep(self._policy.backoff_delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _protection(self, branch: str) -> dict[str, Any] | None:
        from github.GithubException import GithubException

        try:
            return dict(self._get(f"{self._repo}/branches/{_q(branch, '/')}/protection"))
        except GithubException as exc:
            if exc.status == 404 and "not protected" in github_said(exc.data).lower():
                return None
            raise

    # ---- transport -----------------------------------------------------------------------

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
            retry=_github_retry(self._policy, creates=creates),
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
        return self._once.get_repo(self.repository)  # lazy: no request

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
            except _PullMoved as exc:
                if attempt == tries - 1:
                    raise GitHubError(f"the pull request kept changing while {action}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _translate(
        self, exc: GithubException, action: str, permission: str, attempts: int
    ) -> GitHubError:
        said = self._scrub(github_said(exc.data))
        message = describe_failure(
            exc.status,
            exc.headers or {},
            said,
            action=action,
            permission=permission,
            attempts=attempts,
            now=time.time(),
        )
        return GitHubError(self._scrub(message))

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _login(user: NamedUser | Organization | None) -> str:
    return (user.login or "") if user is not None else ""


def _creation_unsure(exc: Exception) -> bool:
    """Whether a failed creation may have happened anyway (GitHub failed, or the connection
    broke after the request was sent): look before trying again."""
    from github.GithubException import GithubException

    if isinstance(exc, GithubException):
        return is_transient(exc.status)
    return isinstance(exc, OSError)


def _github_retry(policy: RetryPolicy, *, creates: bool) -> GithubRetry:
    """PyGithub's `GithubRetry`: rate limits (403 with GitHub's words or `retry-after`, 429),
    5xx answers and broken connections, with exponential backoff, any method; a rate-limit
    wait beyond `policy.max_rate_limit_wait` raises `RateLimitExceededExceedsMaxWait` at once
    (GithubRetry bounds only the waits it computes itself, so `retry-after` is bounded here).
    With `creates`, only what GitHub surely did not do is retried: refused connections and
    rate limits, not a 5xx or a connection broken after the request was sent."""
    from github.GithubException import RateLimitExceededExceedsMaxWait
    from github.GithubRetry import GithubRetry

    class BoundedGithubRetry(GithubRetry):
        def increment(
            self,
            method: Any = None,
            url: Any = None,
            response: Any = None,
            error: Any = None,
            _pool: Any = None,
            _stacktrace: Any = None,
        ) -> Any:
            if response is not None and response.status in (403, 429):
                headers = dict(response.headers)
                wait = rate_limit_wait(headers, time.time())
                if wait is not None and wait > policy.max_rate_limit_wait:
                    raise RateLimitExceededExceedsMaxWait(response.status, None, headers, wait=wait)
            return super().increment(method, url, response, error, _pool, _stacktrace)

        def parse_retry_after(self, retry_after: str) -> float:
            """Seconds, fractions too (urllib3 takes whole seconds or a date only)."""
            try:
                return min(max(0.0, float(retry_after)), float(self.retry_after_max))
            except ValueError:
                return super().parse_retry_after(retry_after)

    retries = policy.max_retries
    methods = {"GET", "HEAD", "PUT", "PATCH", "DELETE", "POST"}
    return BoundedGithubRetry(
        total=retries,
        connect=retries,
        read=0 if creates else retries,
        other=0 if creates else retries,
        status=retries,
        redirect=0,
        allowed_methods=methods,
        status_forcelist=[429] if creates else [429, *range(500, 600)],
        backoff_factor=policy.backoff,
        raise_on_status=False,
        retry_after_max=max(1, int(policy.max_rate_limit_wait)),  # a 503's too
        max_rate_limit_wait=policy.max_rate_limit_wait,
        secondary_rate_wait=min(60.0, policy.max_rate_limit_wait),
    )


def _q(value: str, safe: str = "") -> str:
    return urllib.parse.quote(value, safe=safe)
