"""urllib3's `Retry` for Vault calls, mounted on the requests session under hvac.

Imported lazily (by `transport._client`), so a CLI start that never talks to Vault does not
load urllib3.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from urllib3.exceptions import MaxRetryError, ReadTimeoutError
from urllib3.util.retry import Retry

# Statuses worth trying again: rate limited, server errors, sealed / standby.
TRANSIENT = frozenset({429, 500, 502, 503, 504})


class VaultRetry(Retry):
    """Retries broken connections and transient answers, any method, with exponential
    backoff; the last answer is handed back (not raised) so hvac and the transport say what
    it was. A Vault that lets a request time out gets one more try, never more: a second
    timeout (or a timeout on the last try) is raised as the timeout it is."""

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: TracebackType | None = None,
    ) -> VaultRetry:
        timeout = error if isinstance(error, ReadTimeoutError) else None
        if timeout and any(isinstance(h.error, ReadTimeoutError) for h in self.history):
            raise timeout
        try:
            return super().increment(method, url, response, error, _pool, _stacktrace)
        except MaxRetryError:
            if timeout:
                raise timeout from None
            raise


def vault_retry(retries: int, backoff: float) -> Retry:
    """Up to `retries` more tries of a call (none when 0: a call that must not happen twice)."""
    if retries <= 0:
        return Retry(total=0, read=False, redirect=0, raise_on_status=False)
    return VaultRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=retries,
        redirect=0,
        allowed_methods=None,
        status_forcelist=sorted(TRANSIENT),
        backoff_factor=backoff,
        raise_on_status=False,
        respect_retry_after_header=True,
    )
