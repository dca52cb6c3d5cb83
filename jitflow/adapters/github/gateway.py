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

The gateway is assembled from parts, one concern each, sharing one
`connection.GitHubConnection`: `pulls.Pulls`, `people.People`, `comments.Comments`
(statuses and marked comments), `repository.RepositorySettings`; `retry` holds the
`GithubRetry` policy. PyGithub is imported only inside this package (lazily).
"""

from __future__ import annotations

from collections.abc import Mapping

from jitflow.adapters.github.comments import Comments
from jitflow.adapters.github.http import settings_from_env
from jitflow.adapters.github.pulls import Pulls
from jitflow.adapters.github.repository import RepositorySettings


class GitHubGateway(Pulls, Comments, RepositorySettings):
    """One repository on GitHub (or GitHub Enterprise, or a compatible server)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> GitHubGateway:
        """Build from the variables GitHub Actions sets (plus jitflow's optional ones); to
        tune it, build `GitHubGateway(replace(settings_from_env(environ), ...))`."""
        return cls(settings_from_env(environ))

    def __repr__(self) -> str:
        return f"GitHubGateway(repository={self.repository!r}, api_url={self.api_url!r})"

    def __enter__(self) -> GitHubGateway:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
