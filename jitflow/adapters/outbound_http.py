"""POSTing one outbound batch (the only I/O of outbound delivery besides git and Vault).

One request, no retry inside a run (the next sync run retries from the high-water mark), no
redirects followed, TLS verified against the system's CAs or a CA bundle from the repository.
Errors name the endpoint and what went wrong, never its URL (a Slack URL is a secret), its
headers or its answer's body.
"""

from __future__ import annotations

import http.client
import ssl
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from jitflow import __version__
from jitflow.errors import JitflowError


class OutboundError(JitflowError):
    """A batch was not accepted: it stays above the mark and is sent again next run."""


@dataclass(frozen=True)
class Target:
    name: str  # the endpoint's name, for messages
    url: str
    timeout: float
    cadata: str | None = None  # PEM CA bundle; None: the system's trust store
    allow_http: bool = False


def post(target: Target, body: bytes, headers: Mapping[str, str]) -> int:
    """Send `body`; return the 2xx status, or raise OutboundError."""
    parsed = urllib.parse.urlsplit(target.url)
    host = parsed.hostname or ""
    path = (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")
    connection: http.client.HTTPConnection
    if parsed.scheme == "https":
        context = ssl.create_default_context(cadata=target.cadata) if target.cadata else None
        connection = http.client.HTTPSConnection(
            host, parsed.port, timeout=target.timeout, context=context or _default_context()
        )
    elif parsed.scheme == "http" and target.allow_http:
        connection = http.client.HTTPConnection(host, parsed.port, timeout=target.timeout)
    else:
        raise OutboundError(f"endpoint {target.name}: only https:// is allowed")
    sent = {
        "Content-Type": "application/json",
        "User-Agent": f"jitflow/{__version__}",
        **headers,
    }
    try:
        connection.request("POST", path, body=body, headers=sent)
        answer = connection.getresponse()
        answer.read(64 * 1024)
        status = answer.status
    except TimeoutError as exc:
        raise OutboundError(
            f"endpoint {target.name}: no answer within {target.timeout:g}s"
        ) from exc
    except ssl.SSLError as exc:
        raise OutboundError(f"endpoint {target.name}: TLS failed ({exc.reason})") from exc
    except ValueError as exc:  # a URL or header http.client refuses (never echoed: secrets)
        raise OutboundError(f"endpoint {target.name}: its URL or token is malformed") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise OutboundError(
            f"endpoint {target.name}: cannot deliver ({type(exc).__name__})"
        ) from exc
    finally:
        connection.close()
    if not 200 <= status < 300:
        raise OutboundError(f"endpoint {target.name}: answered HTTP {status}")
    return status


def _default_context() -> ssl.SSLContext:
    return ssl.create_default_context()
