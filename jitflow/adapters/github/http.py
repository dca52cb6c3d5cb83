"""HTTP policy for GitHub calls: where to connect, when to retry, how pages follow.

Kept apart from the PyGithub adapter (and free of any GitHub library) so the policy is
plain data in, plain data out: easy to read, easy to test. The messages on giving up are in
`failures`.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from jitflow.core.links import is_loopback
from jitflow.errors import GitHubError, UsageError

_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="next"')

_SECONDARY_LIMIT_PHRASES = (
    "secondary rate limit",
    "please retry your request again later",
    "please wait a few minutes before you try again",
    "abuse detection",
)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff; rate-limit waits beyond `max_rate_limit_wait` are not waited.

    Its defaults are GatewaySettings'."""

    max_retries: int
    backoff: float
    max_rate_limit_wait: float

    def backoff_delay(self, attempt: int) -> float:
        """Delay before retry number `attempt + 1` (attempt counts from 0)."""
        return float(self.backoff * (2**attempt))


def lowered_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Response headers by lower-case name (PyGithub hands them as a plain dict, any case)."""
    return {key.lower(): value for key, value in headers.items()}


def is_rate_limited(status: int, headers: Mapping[str, str], message: str) -> bool:
    """GitHub signals rate limits with 403 or 429 plus headers or a telling message."""
    if status not in (403, 429):
        return False
    lowered = lowered_headers(headers)
    if lowered.get("x-ratelimit-remaining") == "0" or "retry-after" in lowered:
        return True
    text = message.lower()
    return "rate limit" in text or any(phrase in text for phrase in _SECONDARY_LIMIT_PHRASES)


def rate_limit_wait(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds GitHub asks us to wait (`retry-after`, else `x-ratelimit-reset`), if it says."""
    lowered = lowered_headers(headers)
    retry_after = lowered.get("retry-after")
    if retry_after is not None:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            return None
    reset = lowered.get("x-ratelimit-reset")
    if reset is not None and lowered.get("x-ratelimit-remaining") == "0":
        try:
            return max(0.0, float(reset) - now)
        except ValueError:
            return None
    return None


def is_transient(status: int) -> bool:
    """Server-side failures that a later attempt may not see."""
    return status >= 500


def checked_api_url(api_url: str) -> str:
    """The API base URL without trailing slash; plain http only to this machine."""
    url = api_url.strip().rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"GITHUB_API_URL must be an http(s) URL, not {api_url!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise UsageError(
            f"refusing to send the GitHub token over plain http to {parts.hostname}: "
            "use an https GITHUB_API_URL"
        )
    return url


def next_page_url(link_header: str) -> str | None:
    """The `rel="next"` URL of a GitHub `link` header, if there is one."""
    match = _NEXT_LINK.search(link_header)
    return match.group(1) if match else None


def follow_pages(
    get: Callable[[str, dict[str, Any] | None], tuple[Mapping[str, Any], Any]],
    url: str,
    query: dict[str, Any],
    max_pages: int,
) -> Iterator[Any]:
    """Every item of a list endpoint, `get(url, query)` page after page, following GitHub's
    `link: rel="next"` headers (the next URL carries the query)."""
    next_url: str | None = url
    params: dict[str, Any] | None = query
    for _ in range(max_pages):
        if next_url is None:
            return
        headers, data = get(next_url, params)
        if not isinstance(data, list):
            raise GitHubError(f"GitHub answered {url} with something that is not a list")
        yield from data
        next_url, params = next_page_url(str(headers.get("link", ""))), None
    raise GitHubError(f"GitHub kept paginating {url} past {max_pages} pages")


DEFAULT_API_URL = "https://api.github.com"


@dataclass(frozen=True)
class GatewaySettings:
    """Where the GitHub adapter connects, as whom, and how it paces and retries its calls
    (every default in one place; tokens never shown in repr)."""

    token: str = field(repr=False)
    repository: str
    api_url: str = DEFAULT_API_URL
    teams_token: str | None = field(default=None, repr=False)
    login: str | None = None  # the token's login when known: whoami() asks nobody
    min_write_interval: float = 1.0  # GitHub asks for 1 s between writes (secondary limits)
    max_retries: int = 4
    backoff: float = 0.5  # seconds before the first retry, doubling after each
    max_rate_limit_wait: float = 60.0  # a longer rate-limit wait fails at once
    per_page: int = 100
    timeout: int = 15  # seconds for one HTTP request

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy(self.max_retries, self.backoff, self.max_rate_limit_wait)


def settings_from_env(environ: Mapping[str, str]) -> GatewaySettings:
    """Read the variables GitHub Actions sets (plus jitflow's optional ones), or say what's missing."""
    token = environ.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise UsageError(
            "GITHUB_TOKEN is not set: jitflow needs a token to read pull requests and "
            "reviews and to post statuses and comments. In a workflow add "
            "`GITHUB_TOKEN: ${{ github.token }}` under `env:`; elsewhere export a token "
            "with pull-requests: write, statuses: write and contents: read"
        )
    repository = environ.get("GITHUB_REPOSITORY", "").strip()
    if not repository:
        raise UsageError("GITHUB_REPOSITORY is not set: export it as owner/name")
    return GatewaySettings(
        token,
        repository,
        api_url=environ.get("GITHUB_API_URL", "").strip() or DEFAULT_API_URL,
        teams_token=environ.get("JITFLOW_TEAMS_TOKEN", "").strip() or None,
        login=environ.get("JITFLOW_BOT_LOGIN", "").strip() or None,
        min_write_interval=_write_interval(environ),
    )


def _write_interval(environ: Mapping[str, str]) -> float:
    """Seconds between writes (GitHub asks for 1s to avoid secondary rate limits)."""
    raw = environ.get("JITFLOW_GITHUB_WRITE_INTERVAL", "").strip()
    try:
        return max(0.0, float(raw)) if raw else GatewaySettings.min_write_interval
    except ValueError as exc:
        raise UsageError(
            f"JITFLOW_GITHUB_WRITE_INTERVAL must be a number of seconds, not {raw!r}"
        ) from exc
