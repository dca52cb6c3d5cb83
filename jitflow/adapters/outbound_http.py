"""POSTing one outbound batch (the only I/O of outbound delivery besides git and Vault).

urllib3 does the HTTP: TLS verified against the system's CAs or a CA bundle from the
repository, no redirects followed, and an HTTPS proxy from `HTTPS_PROXY` / `NO_PROXY` (urllib3
tunnels through it with CONNECT; which proxy applies is decided by the standard library's
`proxy_bypass_environment`). A receiver that answers 429 or 503 with a `Retry-After` is asked
again after that wait, within a budget of seconds per endpoint and run (`Pacing`); past the
budget, or without `Retry-After`, the batch stays above the mark and the next sync run sends
it. Errors name the endpoint and what went wrong, never its URL (a Slack URL is a secret), its
headers or its answer's body.
"""

from __future__ import annotations

import re
import ssl
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import urllib3
from urllib3.exceptions import (
    HTTPError,
    NewConnectionError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from jitflow import __version__
from jitflow.errors import JitflowError

RATE_LIMITED = frozenset({429, 503})  # statuses whose Retry-After is honoured
MAX_ATTEMPTS = 3  # per batch and run
MAX_WAIT = 30.0  # seconds of Retry-After a run waits per endpoint, in total
_ILLEGAL = re.compile(r"[\r\n\x00]")  # header injection: refused before anything is sent


class OutboundError(JitflowError):
    """A batch was not accepted: it stays above the mark and is sent again next run."""


@dataclass(frozen=True)
class Target:
    name: str  # the endpoint's name, for messages
    url: str
    timeout: float
    cadata: str | None = None  # PEM CA bundle; None: the system's trust store
    allow_http: bool = False
    proxy: str | None = None  # from proxy_for(); None: connect directly


@dataclass
class Pacing:
    """How long a run may still wait on an endpoint's Retry-After (shared by its batches)."""

    budget: float = MAX_WAIT
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)


def proxy_for(url: str, environ: Mapping[str, str]) -> str | None:
    """The proxy that `HTTPS_PROXY` / `HTTP_PROXY` (lower case first, as curl and urllib read
    them) name for `url`, unless `NO_PROXY` exempts its host."""
    parts = urllib.parse.urlsplit(url)
    proxies = {}
    for scheme in ("https", "http", "no"):
        value = environ.get(f"{scheme}_proxy") or environ.get(f"{scheme.upper()}_PROXY")
        if value:
            proxies[scheme] = value
    chosen = proxies.get(parts.scheme)
    if not chosen or not parts.hostname:
        return None
    host = parts.netloc.rsplit("@", 1)[-1]
    # not in typeshed, in CPython since 3.0: NO_PROXY matching as urllib does it
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if proxies.get("no") and bypass(host, proxies):
        return None
    return chosen


def post(
    target: Target, body: bytes, headers: Mapping[str, str], pacing: Pacing | None = None
) -> int:
    """Send `body`; return the 2xx status, or raise OutboundError."""
    pacing = pacing or Pacing()
    pool = _pool(target)
    sent = {"Content-Type": "application/json", "User-Agent": f"jitflow/{__version__}", **headers}
    if any(_ILLEGAL.search(name + value) for name, value in sent.items()):
        raise OutboundError(f"endpoint {target.name}: its URL or token is malformed")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        status, retry_after = _send(pool, target, body, sent)
        if 200 <= status < 300:
            return status
        if status not in RATE_LIMITED:
            raise OutboundError(f"endpoint {target.name}: answered HTTP {status}")
        if retry_after is None or retry_after > pacing.budget or attempt == MAX_ATTEMPTS:
            after = "" if retry_after is None else f", Retry-After {retry_after:g}s"
            raise OutboundError(
                f"endpoint {target.name}: answered HTTP {status}{after}; "
                "the next run sends the batch again"
            )
        pacing.budget -= retry_after
        pacing.sleep(retry_after)
    raise AssertionError("unreachable")  # pragma: no cover


def _pool(target: Target) -> urllib3.PoolManager:
    scheme = urllib.parse.urlsplit(target.url).scheme
    if scheme != "https" and not (scheme == "http" and target.allow_http):
        raise OutboundError(f"endpoint {target.name}: only https:// is allowed")
    context = ssl.create_default_context(cadata=target.cadata)
    if target.proxy:
        try:
            return urllib3.ProxyManager(target.proxy, num_pools=1, ssl_context=context)
        except (ValueError, HTTPError) as exc:
            raise OutboundError(f"endpoint {target.name}: its proxy URL is malformed") from exc
    return urllib3.PoolManager(num_pools=1, ssl_context=context)


def probe(target: Target) -> str:
    """'' when the endpoint's server answers at all, else why not: a HEAD of its site's root
    (not of its path, which may be the secret), through the proxy, with no body and no
    credentials; the TLS certificate is checked as for a delivery."""
    parts = urllib.parse.urlsplit(target.url)
    root = urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
    try:
        _send(_pool(target), target, None, {"User-Agent": f"jitflow/{__version__}"}, root)
    except OutboundError as exc:
        return exc.message.removeprefix(f"endpoint {target.name}: ")
    return ""


def _send(
    pool: urllib3.PoolManager,
    target: Target,
    body: bytes | None,
    headers: Mapping[str, str],
    head: str = "",  # a URL to HEAD instead of POSTing to the target
) -> tuple[int, float | None]:
    """One POST: the status, and the Retry-After in seconds when the answer carries one."""
    timeout = urllib3.Timeout(connect=target.timeout, read=target.timeout)
    try:
        answer = pool.request(
            "HEAD" if head else "POST",
            head or target.url,
            body=body,
            headers=dict(headers),
            timeout=timeout,
            retries=False,
            redirect=False,
            preload_content=False,
        )
        try:
            answer.read(64 * 1024)
        finally:
            answer.release_conn()
    except NewConnectionError as exc:  # a subclass of urllib3's TimeoutError: before it
        cause = type(exc.__context__ or exc).__name__
        raise OutboundError(f"endpoint {target.name}: cannot deliver ({cause})") from exc
    except (ReadTimeoutError, Urllib3Timeout, TimeoutError) as exc:
        raise OutboundError(
            f"endpoint {target.name}: no answer within {target.timeout:g}s"
        ) from exc
    except ProxyError as exc:
        raise OutboundError(f"endpoint {target.name}: the proxy refused or failed") from exc
    except SSLError as exc:
        reason = getattr(exc.__context__, "reason", None) or "certificate or handshake"
        raise OutboundError(f"endpoint {target.name}: TLS failed ({reason})") from exc
    except ValueError as exc:  # a URL or header refused before sending (never echoed: secrets)
        raise OutboundError(f"endpoint {target.name}: its URL or token is malformed") from exc
    except (OSError, HTTPError) as exc:
        raise OutboundError(
            f"endpoint {target.name}: cannot deliver ({type(exc).__name__})"
        ) from exc
    finally:
        pool.clear()
    return answer.status, _retry_after(answer.headers.get("Retry-After"))


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), via urllib3."""
    if not value:
        return None
    try:
        return max(Retry().parse_retry_after(value), 0.0)
    except HTTPError:  # InvalidHeader: neither seconds nor a date
        return None
