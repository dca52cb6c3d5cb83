"""GitHub through PyGithub: the only module that imports `github`.

Every public call goes through `_call`, which retries rate limits, 5xx answers and broken
connections with bounded backoff, and turns library errors into `GitHubError` messages that
say what failed and which permission is likely missing. Responses are read as plain JSON
through PyGithub's requester (with our own pagination), so no lazy PyGithub object can
make a surprise request; `github_mapping` turns that JSON into core types.
"""

from __future__ import annotations

import re
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from jitflow.adapters import github_mapping as mapping
from jitflow.adapters.github_comments import has_marker, with_marker
from jitflow.adapters.github_http import (
    DEFAULT_API_URL,
    RetryPolicy,
    checked_api_url,
    describe_failure,
    github_said,
    is_rate_limited,
    is_transient,
    next_page_url,
    rate_limit_wait,
    settings_from_env,
    team_permission,
)
from jitflow.core.model import PullRequestFacts
from jitflow.errors import GitHubError, UsageError

if TYPE_CHECKING:
    from github import Github
    from github.GithubException import GithubException
    from github.Requester import Requester

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
        self._requester = self._connect(token, timeout, min_write_interval)
        self._teams = (
            self._connect(teams_token, timeout, min_write_interval)
            if teams_token
            else self._requester
        )

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
            lambda: list(self._pages(f"{self._repo}/commits/{_q(sha)}/pulls")),
        )
        return sorted({int(p["number"]) for p in pulls if p.get("merged_at")})

    def open_pulls_with_head_sha(self, sha: str) -> list[int]:
        """Numbers of the open PRs whose head is commit `sha` (for merge queues)."""
        pulls = self._call(
            f"listing open pull requests of {self.repository}",
            "pull-requests: read",
            lambda: list(self._pages(f"{self._repo}/pulls", {"state": "open"})),
        )
        return sorted(int(p["number"]) for p in pulls if (p.get("head") or {}).get("sha") == sha)

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
                lambda: self._get("/user"),
            )
            self._login = str(user["login"])
        return self._login

    def ssh_public_keys(self, login: str) -> list[str]:
        """The public SSH keys @login published on GitHub."""
        keys = self._call(
            f"reading the SSH keys of @{login}",
            "",
            lambda: list(self._pages(f"/users/{_q(login)}/keys")),
        )
        return list(mapping.public_keys(keys))

    def is_team_member(self, org: str, slug: str, login: str) -> bool:
        """Whether @login is an active member of org/slug; fails closed if the team is unseen."""
        return self._call(
            f"checking whether @{login} is in team {org}/{slug}",
            team_permission(org, teams_token_set=self._teams is not self._requester),
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
            lambda: self._marked(number, marker),
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
            lambda: self._exists(f"{self._repo}/actions/{_q(kind)}/{_q(name)}"),
        )

    # ---- operations run inside _call -----------------------------------------------------

    def _exists(self, path: str) -> bool:
        from github.GithubException import GithubException

        try:
            self._get(path)
        except GithubException as exc:
            if exc.status != 404:
                raise
            return False
        return True

    def _read_pull(self, number: int) -> PullRequestFacts:
        path = f"{self._repo}/pulls/{number}"
        pr = self._get(path)
        files = [mapping.changed_file(f) for f in self._pages(f"{path}/files")]
        reviews = [r for r in map(mapping.review, self._pages(f"{path}/reviews")) if r]
        commits = [mapping.pull_commit(c) for c in self._pages(f"{path}/commits")]
        mapping.ensure_complete(number, pr, "changed_files", len(files), "files")
        mapping.ensure_complete(number, pr, "commits", len(commits), "commits")
        if commits and str(pr["head"]["sha"]) not in {c.sha for c in commits}:
            raise _PullMoved
        pushes = []
        if mapping.head_in_repository(pr, self.repository):
            # A fork's pushes are not in this repository's activity: none is known, so the
            # head counts as unattributed (core.contributors refuses it).
            ref = f"refs/heads/{pr['head']['ref']}"
            pushes = [mapping.push(a) for a in self._pages(f"{self._repo}/activity", {"ref": ref})]
        return mapping.pull_facts(pr, files, reviews, commits, pushes)

    def _create_pull(self, head: str, base: str, title: str, body: str) -> int:
        from github.GithubException import GithubException

        payload = {"head": head, "base": base, "title": title, "body": body}
        try:
            return int(self._send("POST", f"{self._repo}/pulls", payload)["number"])
        except GithubException as exc:
            if exc.status != 422:
                raise
            query = {"state": "open", "head": f"{self._owner}:{head}", "base": base}
            existing = [int(p["number"]) for p in self._pages(f"{self._repo}/pulls", query)]
            if not existing:
                raise
            return existing[0]

    def _membership(self, org: str, slug: str, login: str) -> bool:
        from github.GithubException import GithubException

        team = f"/orgs/{_q(org)}/teams/{_q(slug)}"
        try:
            membership = self._get(f"{team}/memberships/{_q(login)}", req=self._teams)
        except GithubException as exc:
            if exc.status != 404:
                raise
            self._get(team, req=self._teams)  # a 404 here: the team itself is out of sight
            return False
        return bool(membership.get("state") == "active")

    def _marked(self, number: int, marker: str) -> list[tuple[int, str, str]]:
        comments = self._pages(f"{self._repo}/issues/{number}/comments")
        return [
            (int(c["id"]), mapping.login_of(c.get("user")) or "", str(c.get("body") or ""))
            for c in comments
            if has_marker(str(c.get("body") or ""), marker)
        ]

    def _upsert(self, number: int, marker: str, text: str, me: str) -> int:
        ours = [c for c in self._marked(number, marker) if c[1].lower() == me]
        if ours:
            comment_id, _, current = ours[0]
            if current != text:
                self._send("PATCH", f"{self._repo}/issues/comments/{comment_id}", {"body": text})
            return comment_id
        created = self._send("POST", f"{self._repo}/issues/{number}/comments", {"body": text})
        return int(created["id"])

    def _protection(self, branch: str) -> dict[str, Any] | None:
        from github.GithubException import GithubException

        try:
            return dict(self._get(f"{self._repo}/branches/{_q(branch, '/')}/protection"))
        except GithubException as exc:
            if exc.status == 404 and "not protected" in github_said(exc.data).lower():
                return None
            raise

    # ---- transport -----------------------------------------------------------------------

    def _connect(self, token: str, timeout: int, min_write_interval: float) -> Requester:
        import github

        client = github.Github(
            auth=github.Auth.Token(token),
            base_url=self.api_url,
            timeout=timeout,
            user_agent="jitflow",
            per_page=self._per_page,
            retry=None,  # _call retries, bounded, for every request alike
            seconds_between_requests=None,
            seconds_between_writes=min_write_interval or None,
            lazy=True,
        )
        self._clients.append(client)
        return client.requester

    def _get(
        self, url: str, params: dict[str, Any] | None = None, *, req: Requester | None = None
    ) -> Any:
        requester: Requester = req or self._requester
        return requester.requestJsonAndCheck("GET", url, parameters=params)[1]

    def _send(self, verb: str, url: str, payload: Mapping[str, Any]) -> Any:
        return self._requester.requestJsonAndCheck(verb, url, input=dict(payload))[1]

    def _pages(
        self, url: str, params: dict[str, Any] | None = None, *, req: Requester | None = None
    ) -> Iterator[Any]:
        """Every item of a list endpoint, following GitHub's `link: rel="next"` headers."""
        requester: Requester = req or self._requester
        next_url: str | None = url
        query: dict[str, Any] | None = {"per_page": self._per_page, **(params or {})}
        for _ in range(_MAX_PAGES):
            if next_url is None:
                return
            headers, data = requester.requestJsonAndCheck("GET", next_url, parameters=query)
            if not isinstance(data, list):
                raise GitHubError(f"GitHub answered {url} with something that is not a list")
            yield from data
            next_url, query = next_page_url(str(headers.get("link", ""))), None
        raise GitHubError(f"GitHub kept paginating {url} past {_MAX_PAGES} pages")

    def _call(self, action: str, permission: str, operation: Callable[[], T]) -> T:
        """Run `operation`, retrying what may pass, translating what won't."""
        from github.GithubException import GithubException

        attempt = 0
        while True:
            try:
                return operation()
            except GithubException as exc:
                delay = self._retry_delay(exc, attempt)
                if delay is None or attempt >= self._policy.max_retries:
                    raise self._translate(exc, action, permission, attempt + 1) from exc
            except OSError as exc:  # network failures (requests' errors are OSErrors too)
                if attempt >= self._policy.max_retries:
                    raise GitHubError(
                        f"could not reach GitHub at {self.api_url} while {action} "
                        f"({type(exc).__name__}, {attempt + 1} attempts): check the network "
                        "and GITHUB_API_URL"
                    ) from exc
                delay = self._policy.backoff_delay(attempt)
            except _PullMoved as exc:
                if attempt >= self._policy.max_retries:
                    raise GitHubError(f"the pull request kept changing while {action}") from exc
                delay = 0.0
            time.sleep(delay)
            attempt += 1

    def _retry_delay(self, exc: GithubException, attempt: int) -> float | None:
        headers = exc.headers or {}
        if is_rate_limited(exc.status, headers, github_said(exc.data)):
            wait = rate_limit_wait(headers, time.time())
            if wait is not None and wait > self._policy.max_rate_limit_wait:
                return None
            return max(wait or 0.0, self._policy.backoff_delay(attempt))
        return self._policy.backoff_delay(attempt) if is_transient(exc.status) else None

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


def _q(value: str, safe: str = "") -> str:
    return urllib.parse.quote(value, safe=safe)
