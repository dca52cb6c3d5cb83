"""Outbound delivery of ledger events: the configuration, the batches and the signature. Pure.

`.jitflow/outbound.yaml` (schema `outbound`) lists endpoints; sync sends each one the events
recorded on main since its high-water mark (the last main commit whose events it accepted),
batch by batch, advancing the mark after each accepted batch. Batches hold whole commits, so
a mark is always a commit; they are cut the same way on every run, so a batch sent again after
a lost answer carries the same delivery id (`delivery_id`) unless it was not full and grew
with new commits; every event keeps its own stable id: a receiver that drops the event ids it
has seen processes each event exactly once.

The signature is the Stripe/GitHub webhook scheme: `Jitflow-Signature: t=<unix time>,v1=<hex
HMAC-SHA256(key, "<t>." + body)>`; a receiver recomputes it, compares in constant time and
refuses a timestamp outside its replay window (`REPLAY_WINDOW`).
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from jitflow.core import schemas
from jitflow.core.durations import DurationError, parse_duration
from jitflow.core.links import is_loopback
from jitflow.core.model import Finding
from jitflow.core.yamlio import Document, YamlError, load_yaml

OUTBOUND_PATH = ".jitflow/outbound.yaml"
SIGNATURE_HEADER = "Jitflow-Signature"
DELIVERY_HEADER = "Jitflow-Delivery"
REPLAY_WINDOW = 300  # seconds a receiver should accept a signed timestamp either side of now
MAX_TIMEOUT = 120.0

T = TypeVar("T")


class Format(StrEnum):
    OCSF = "ocsf"
    JSON = "json"
    SLACK = "slack"
    HEC = "splunk-hec"


@dataclass(frozen=True)
class SecretRef:
    """Where a secret lives: an environment variable, or a key of a Vault KV v2 secret."""

    env: str = ""
    vault: str = ""
    key: str = ""

    def describe(self) -> str:
        return f"${self.env}" if self.env else f"Vault {self.vault} key {self.key}"


@dataclass(frozen=True)
class Endpoint:
    name: str
    format: Format
    url: str = ""  # empty when the URL itself is a secret (`url_secret`)
    url_secret: SecretRef | None = None
    secret: SecretRef | None = None  # HMAC key (ocsf, json)
    token: SecretRef | None = None  # HEC token (splunk-hec)
    batch: int = 100
    timeout: float = 10.0
    ca_file: str = ""
    allow_http: bool = False
    index: str = ""
    sourcetype: str = ""


@dataclass(frozen=True)
class Mark:
    """An endpoint's high-water mark: the last main commit whose events it accepted."""

    commit: str | None  # None: nothing delivered yet
    version: int  # the version of the stored mark (0: none stored)


@dataclass(frozen=True)
class OutboundConfig:
    endpoints: tuple[Endpoint, ...]
    findings: tuple[Finding, ...]


def _secret(value: Any) -> SecretRef | None:
    if not isinstance(value, dict):
        return None
    return SecretRef(
        str(value.get("env", "")), str(value.get("vault", "")), str(value.get("key", ""))
    )


def _problem(document: Document, at: tuple[str | int, ...], message: str) -> Finding:
    line, column = document.position(at)
    return Finding("outbound", message, document.path, line, column)


def _secret_findings(document: Document, index: int, item: dict[str, Any]) -> list[Finding]:
    return [
        _problem(document, ("endpoints", index, name), "give env, or vault with key, not both")
        for name in ("url", "secret", "token")
        if isinstance(item.get(name), dict) and {"env", "vault"} <= set(item[name])
    ]


def _url_findings(document: Document, index: int, item: dict[str, Any]) -> list[Finding]:
    url, at = item.get("url"), ("endpoints", index, "url")
    if item.get("format") == Format.SLACK and isinstance(url, str):
        return [
            _problem(
                document,
                at,
                "a Slack incoming-webhook URL is a secret (anyone who has it may post): "
                "write url: {env: NAME} or url: {vault: PATH, key: KEY}, never the URL",
            )
        ]
    if not isinstance(url, str):
        return []
    parsed = urllib.parse.urlsplit(url)
    if parsed.username or parsed.password:
        return [_problem(document, at, "the URL carries credentials: use secret or token")]
    if parsed.scheme == "https":
        return []
    if not item.get("allow_http"):
        return [_problem(document, at, "use https:// (http:// only to loopback, with allow_http)")]
    if not is_loopback(parsed.hostname or ""):
        return [_problem(document, at, "allow_http allows http:// to a loopback address only")]
    return []


def _endpoint(document: Document, index: int, item: dict[str, Any]) -> Endpoint | Finding:
    timeout = 10.0
    if "timeout" in item:
        try:
            timeout = parse_duration(str(item["timeout"])).total_seconds()
        except DurationError as exc:
            return _problem(document, ("endpoints", index, "timeout"), str(exc))
        if not 0 < timeout <= MAX_TIMEOUT:
            return _problem(document, ("endpoints", index, "timeout"), "between 1s and 2m")
    url = item["url"]
    kind = Format(item["format"])
    return Endpoint(
        name=item["name"],
        format=kind,
        url=url if isinstance(url, str) else "",
        url_secret=_secret(url),
        secret=_secret(item.get("secret")),
        token=_secret(item.get("token")),
        batch=int(item.get("batch", 20 if kind is Format.SLACK else 100)),
        timeout=timeout,
        ca_file=str(item.get("ca_file", "")),
        allow_http=bool(item.get("allow_http", False)),
        index=str(item.get("index", "")),
        sourcetype=str(item.get("sourcetype", "")),
    )


def parse_outbound(content: bytes, path: str = OUTBOUND_PATH) -> OutboundConfig:
    """The endpoints, or the findings (file, line, column) that make the file unusable."""
    try:
        document = load_yaml(content, path)
    except YamlError as exc:
        return OutboundConfig((), (Finding("yaml", exc.problem, path, exc.line, exc.column),))
    findings = schemas.validate(document, "outbound") if document.data is not None else []
    if document.data is None:
        findings = [Finding("schema", f"{path} is empty; expected endpoints:", path, 1, 1)]
    if findings:
        return OutboundConfig((), tuple(findings))
    endpoints: list[Endpoint] = []
    seen: set[str] = set()
    problems: list[Finding] = []
    for index, item in enumerate(document.data["endpoints"]):
        problems += _secret_findings(document, index, item) + _url_findings(document, index, item)
        if item["name"] in seen:
            problems.append(
                _problem(document, ("endpoints", index, "name"), "endpoint names must differ")
            )
        seen.add(item["name"])
        made = _endpoint(document, index, item)
        if isinstance(made, Finding):
            problems.append(made)
        else:
            endpoints.append(made)
    if problems:
        return OutboundConfig((), tuple(problems))
    return OutboundConfig(tuple(endpoints), ())


# -- batches and signatures ------------------------------------------------------------


def batches(groups: Sequence[tuple[str, Sequence[T]]], size: int) -> list[tuple[str, list[T]]]:
    """Whole commits per batch, in order: `(the batch's last commit, its items)`. A batch is
    closed once it holds `size` items or more (one commit is never split)."""
    cut: list[tuple[str, list[T]]] = []
    items: list[T] = []
    last = ""
    for commit, group in groups:
        if not group:
            continue
        items.extend(group)
        last = commit
        if len(items) >= size:
            cut.append((commit, items))
            items = []
    if items:
        cut.append((last, items))
    return cut


def delivery_id(endpoint: str, event_ids: Sequence[str]) -> str:
    """The same batch of the same endpoint always gets the same id (an idempotency key)."""
    digest = hashlib.sha256("\n".join([endpoint, *event_ids]).encode()).hexdigest()
    return digest[:32]


def sign(key: bytes, timestamp: int, body: bytes) -> str:
    """The `Jitflow-Signature` header value."""
    mac = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(key: bytes, header: str, body: bytes, now: int, window: int = REPLAY_WINDOW) -> bool:
    """A receiver's check: a `v1` signature over this body, made within `window` of `now`."""
    parts = [part.split("=", 1) for part in header.split(",") if "=" in part]
    fields = {name.strip(): value.strip() for name, value in parts}
    stamp = fields.get("t", "")
    if not stamp.isdigit() or abs(now - int(stamp)) > window:
        return False
    expected = sign(key, int(stamp), body).split("v1=", 1)[1]
    signatures = [value.strip() for name, value in parts if name.strip() == "v1"]
    return any(hmac.compare_digest(expected, value) for value in signatures)
