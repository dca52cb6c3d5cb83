"""PyGithub's `GithubRetry`, bounded the way jitflow needs.

Why apart: the retry rules (what is retried, how long a rate limit may be waited, what a
creation may retry without risking a duplicate) are one policy, read on their own; the
gateway only hands them to `github.Github`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from jitflow.adapters.github.http import RetryPolicy, is_transient, rate_limit_wait

if TYPE_CHECKING:
    from github.GithubRetry import GithubRetry


def creation_unsure(exc: Exception) -> bool:
    """Whether a failed creation may have happened anyway (GitHub failed, or the connection
    broke after the request was sent): look before trying again."""
    from github.GithubException import GithubException

    if isinstance(exc, GithubException):
        return is_transient(exc.status)
    return isinstance(exc, OSError)


def github_retry(policy: RetryPolicy, *, creates: bool) -> GithubRetry:
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
