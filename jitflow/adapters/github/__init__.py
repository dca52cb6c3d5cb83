"""GitHub adapter: the only package that imports `github` (PyGithub), lazily.

- `gateway`: `GitHubGateway`, one repository on GitHub through PyGithub, assembled from
  `connection` (clients, pages, error translation), `pulls`, `people`, `comments`
  (statuses, marked comments), `repository` (protection, rules, Actions settings); `retry`
  is the GithubRetry policy.
- `http`: where to connect, when to retry, pages, settings (no GitHub library).
- `failures`: what to say on giving up: messages and permission hints (no GitHub library).
- `mapping`: GitHub's JSON and typed objects to core values (no GitHub library).
- `markers`: the hidden markers that let jitflow find its own PR comments again.
"""

from jitflow.adapters.github.comments import STATUS_DESCRIPTION_LIMIT
from jitflow.adapters.github.gateway import GitHubGateway
from jitflow.adapters.github.http import DEFAULT_API_URL, GatewaySettings, settings_from_env

__all__ = [
    "DEFAULT_API_URL",
    "STATUS_DESCRIPTION_LIMIT",
    "GatewaySettings",
    "GitHubGateway",
    "settings_from_env",
]
