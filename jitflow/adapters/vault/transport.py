"""HTTP calls to Vault through hvac, one pooled session per thread, errors translated.

Retries are urllib3's (`retry.VaultRetry`, mounted on the requests session under hvac):
broken connections and transient answers (429, 5xx: rate limited, failing, sealed or
standby) are tried again with exponential backoff, for every method, since jitflow marks
the calls that must not happen twice (`retry=False`: creating tokens, reading credentials,
signing, wrapping), which go through a session that never retries. What is ours: every
failure becomes a `VaultApiError` (a `VaultError`) whose message names VAULT_ADDR and what
to check, and never contains a token; a hung Vault costs a run two timeouts; and
`run_with_retry` repeats a whole multi-call action.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypedDict, TypeVar, Unpack

from jitflow.errors import VaultError

T = TypeVar("T")

# Statuses worth trying again: rate limited, server errors, sealed / standby (= retry.TRANSIENT,
# kept here too so that reading an error's `transient` does not load urllib3).
_TRANSIENT = frozenset({429, 500, 502, 503, 504})


class VaultApiError(VaultError):
    """A Vault call failed. `status` is the HTTP status (0: no answer at all)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        errors: tuple[str, ...] = (),
        timed_out: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors
        self.timed_out = timed_out

    @property
    def transient(self) -> bool:
        return self.status == 0 or self.status in _TRANSIENT

    def mentions(self, text: str) -> bool:
        return any(text in error for error in self.errors)


def _clean_errors(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list | tuple):
        return ()
    cleaned = []
    for item in raw:
        text = " ".join(str(item).replace("1 error occurred:", "").split()).lstrip("* ")
        cleaned.append(text)
    return tuple(cleaned)


class _Silence:
    """Shared by a transport and those made from it: set once Vault let a call time out
    twice, so the rest of the run fails fast instead of waiting on a hung server per call."""

    def __init__(self) -> None:
        self.message: str | None = None


class VaultConnection(TypedDict, total=False):
    """How to reach one Vault server (the token apart), as the gateway, the inspector and
    the transport they build take it; what is left out takes the transport's default."""

    namespace: str | None  # default None
    verify: bool | str  # default True; a CA bundle path
    timeout: float  # default 30 s per attempt (JITFLOW_VAULT_TIMEOUT)
    retries: int  # default 3
    backoff: float  # default 0.2 s, doubling


class Transport:
    """Sends requests to one Vault server with one token; safe to share between threads.

    A server that accepts connections but never answers (hung, stopped, overloaded) costs at
    most two timeouts per run: a call that times out is tried once more, and if that times
    out too, every later call fails at once with the same message.
    """

    def __init__(
        self,
        addr: str,
        token: str,
        *,
        pool_size: int = 32,
        **connection: Unpack[VaultConnection],
    ) -> None:
        self.addr = addr.rstrip("/")
        self._token = token
        self.namespace = connection.get("namespace")
        self.verify = connection.get("verify", True)
        self.timeout = connection.get("timeout", 30.0)
        self.retries = connection.get("retries", 3)
        self.backoff = connection.get("backoff", 0.2)
        self._pool_size = pool_size
        self._local = threading.local()
        self._secrets: list[str] = [token] if token else []
        self._silence = _Silence()

    def __repr__(self) -> str:
        return f"Transport(addr={self.addr!r}, token=<redacted>)"

    def with_token(self, token: str) -> Transport:
        """The same server, acting with another token (e.g. a grant's anchor token)."""
        other = Transport(self.addr, token, pool_size=4, **self.connection)
        other._secrets.extend(self._secrets)
        other._silence = self._silence
        return other

    @property
    def connection(self) -> VaultConnection:
        return VaultConnection(
            namespace=self.namespace,
            verify=self.verify,
            timeout=self.timeout,
            retries=self.retries,
            backoff=self.backoff,
        )

    def forget_secret_later(self, value: str) -> None:
        """Remember a secret so that it is scrubbed from any error message."""
        if value:
            self._secrets.append(value)

    def _client(self, retry: bool) -> Any:
        """This thread's hvac client: one whose session retries, or one whose session doesn't."""
        name = "retrying" if retry else "once"
        client = getattr(self._local, name, None)
        if client is None:
            import hvac
            import requests
            from requests.adapters import HTTPAdapter

            from jitflow.adapters.vault.retry import vault_retry

            session = requests.Session()
            adapter = HTTPAdapter(
                pool_connections=4,
                pool_maxsize=self._pool_size,
                max_retries=vault_retry(self.retries if retry else 0, self.backoff),
            )
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            client = hvac.Client(
                url=self.addr,
                token=self._token or None,
                namespace=self.namespace,
                verify=self.verify,
                timeout=self.timeout,
                session=session,
            )
            setattr(self._local, name, client)
        return client

    def _scrub(self, text: str) -> str:
        for value in self._secrets:
            if value:
                text = text.replace(value, "<redacted>")
        return text

    def call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        retry: bool = True,
        wrap_ttl: int | None = None,
    ) -> dict[str, Any] | None:
        """One API call (`path` without `/v1/`), retried with backoff when transient (by the
        session's `Retry`), unless `retry=False`: a call that must not happen twice.

        A call that timed out (twice when retried, since the `Retry` tries a timeout once
        more only) silences Vault for the rest of the run: every later call fails at once."""
        if self._silence.message is not None:
            raise VaultApiError(self._silence.message, status=0, timed_out=True)
        try:
            return self._call_once(method, path, body, wrap_ttl, retry)
        except VaultApiError as error:
            if error.timed_out:
                self._silence.message = (
                    f"{error.message}; Vault gave no answer within {self.timeout:g}s, "
                    "so nothing more is asked of it in this run"
                )
            raise

    def _call_once(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        wrap_ttl: int | None,
        retry: bool,
    ) -> dict[str, Any] | None:
        import hvac.exceptions
        import requests

        client = self._client(retry)
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs["json"] = dict(body)
        if wrap_ttl is not None:
            kwargs["wrap_ttl"] = f"{wrap_ttl}s"
        where = f"{method} {path}"
        try:
            response = client.adapter.request(method, f"/v1/{path}", **kwargs)
        except hvac.exceptions.VaultError as exc:
            status = _status_of(exc)
            errors = tuple(self._scrub(e) for e in _clean_errors(exc.errors))
            raise VaultApiError(
                self._describe(where, status, errors), status=status, errors=errors
            ) from exc
        except requests.exceptions.SSLError as exc:
            raise VaultApiError(
                f"Vault call {where} failed: TLS verification of {self.addr} (VAULT_ADDR) failed;"
                " check VAULT_CACERT points at the CA that signed the server certificate",
                status=0,
            ) from exc
        except requests.exceptions.Timeout as exc:
            raise VaultApiError(
                f"Vault call {where} failed: Vault at {self.addr} (VAULT_ADDR) did not answer "
                f"within {self.timeout:g}s (JITFLOW_VAULT_TIMEOUT): the server may be hung, "
                "overloaded or stopped; check its logs and that it is unsealed",
                status=0,
                timed_out=True,
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise VaultApiError(
                f"Vault call {where} failed: cannot reach Vault at {self.addr} (VAULT_ADDR): "
                f"{type(exc).__name__}. Check that the server is running and reachable "
                "from here, and that VAULT_ADDR is right",
                status=0,
            ) from exc
        if isinstance(response, dict):
            return response
        if response is None or not getattr(response, "content", b""):
            return None
        data = response.json()
        return data if isinstance(data, dict) else None

    def _describe(self, where: str, status: int, errors: tuple[str, ...]) -> str:
        detail = "; ".join(errors) or "no details"
        hint = {
            400: "the request was refused as invalid",
            401: "the token is missing",
            403: "permission denied: check the runner's Vault policy (docs/vault-setup.md) "
            "and that its token has not expired",
            404: "no such path: check the mount and role names in the policy",
            429: "rate limited: try again later",
            503: "Vault is sealed or in standby: unseal it (`bao operator unseal`) "
            "or point VAULT_ADDR at the active node",
        }.get(status, "the server failed: check the Vault server's logs")
        return f"Vault call {where} at {self.addr} (VAULT_ADDR) failed ({status}): {hint}: {detail}"

    def run_with_retry(self, action: Callable[[], T]) -> T:
        """Run a multi-call action, retrying it whole when it fails transiently."""
        attempts = 1 + self.retries
        for attempt in range(attempts):
            try:
                return action()
            except VaultApiError as error:
                if not error.transient or attempt == attempts - 1:
                    raise
            time.sleep(self.backoff * (2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover


def _status_of(exc: Exception) -> int:
    import hvac.exceptions

    mapping: dict[type[Exception], int] = {
        hvac.exceptions.InvalidRequest: 400,
        hvac.exceptions.Unauthorized: 401,
        hvac.exceptions.Forbidden: 403,
        hvac.exceptions.InvalidPath: 404,
        hvac.exceptions.RateLimitExceeded: 429,
        hvac.exceptions.InternalServerError: 500,
        hvac.exceptions.VaultNotInitialized: 501,
        hvac.exceptions.BadGateway: 502,
        hvac.exceptions.VaultDown: 503,
    }
    for cls, status in mapping.items():
        if isinstance(exc, cls):
            return status
    return 520
