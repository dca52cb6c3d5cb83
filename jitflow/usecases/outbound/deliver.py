"""After a sync run: send each configured endpoint the ledger events recorded since its mark.

Never in the way of issuing or revoking: it runs after the run's push, catches every failure
of its own and reports it as a warning; sync's exit code is the run's, not the delivery's.

Guarantee, per endpoint (proved by tests/sync/test_outbound.py):
- nothing lost: the mark moves only past batches the endpoint accepted (2xx), so a refused,
  timed-out or unanswered batch is sent again by the next run, with everything after it;
- nothing sent twice, except a batch whose acceptance was not recorded (the run was killed,
  or the answer or the mark write was lost, between sending and marking): the next run sends
  those events again, byte for byte the same with the same ids, under the same delivery id
  (the `Jitflow-Delivery` header and `delivery` field) when no commit came in between (a
  batch that was not full grows with new commits). The wire is at-least-once; a receiver
  that skips event ids it has already seen processes every event exactly once. Splunk HEC and Slack don't de-duplicate: there a lost
  acknowledgement shows the batch twice (search with `dedup metadata.uid`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from jitflow.adapters.git import Git
from jitflow.adapters.git.remote import fetched_tip
from jitflow.adapters.outbound_http import Pacing, Target, post, proxy_for
from jitflow.core.ledger_events import LedgerEvent
from jitflow.core.outbound import (
    DELIVERY_HEADER,
    OUTBOUND_PATH,
    SIGNATURE_HEADER,
    Endpoint,
    Format,
    Mark,
    SecretRef,
    batches,
    delivery_id,
    parse_outbound,
    sign,
)
from jitflow.errors import JitflowError
from jitflow.reporters.ocsf import OcsfContext
from jitflow.reporters.outbound import envelope, hec_body, slack_payload
from jitflow.usecases.audit.gitlog import runner_email_from
from jitflow.usecases.audit.ocsf_export import ocsf_context
from jitflow.usecases.outbound.events import events_after, last_change, reachable


class OutboundStore(Protocol):
    """Vault's side: the marks, and secrets the repository names."""

    def read_mark(self, endpoint: str) -> Mark: ...

    def write_mark(self, endpoint: str, commit: str, version: int) -> int: ...

    def read_secret(self, path: str, key: str) -> str: ...


@dataclass
class EndpointResult:
    name: str
    events: int = 0  # events accepted in this run
    batches: int = 0
    mark: str = ""  # the mark after this run
    error: str = ""


@dataclass
class OutboundSummary:
    results: list[EndpointResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Prepared:
    endpoint: Endpoint
    target: Target
    key: bytes  # HMAC key (ocsf, json) or HEC token (splunk-hec); empty for slack


@dataclass(frozen=True)
class _Delivery:
    """What every endpoint of one delivery shares: main's tip and the remote to fetch missing
    history from, the mark store, the environment, the OCSF context and the signing clock."""

    git: Git
    tip: str
    remote: str
    store: OutboundStore
    env: Mapping[str, str]
    context: OcsfContext
    clock: Callable[[], float] = time.time


def deliver(
    git: Git,
    tip: str,
    store: OutboundStore,
    environ: Mapping[str, str] | None = None,
    remote: str = "origin",
) -> OutboundSummary:
    """Deliver every endpoint of `.jitflow/outbound.yaml` at `tip` (main after the push)."""
    env = os.environ if environ is None else environ
    summary = OutboundSummary()
    content = git.show_bytes(tip, OUTBOUND_PATH)
    if content is None:
        return summary
    config = parse_outbound(content)
    for finding in config.findings:
        summary.warnings.append(
            f"{finding.path}:{finding.line}:{finding.column}: {finding.message} "
            "(no events were sent; the next run sends them once the file is fixed)"
        )
    run = _Delivery(git, tip, remote, store, env, ocsf_context(git, env))
    for endpoint in config.endpoints:
        result = EndpointResult(endpoint.name)
        summary.results.append(result)
        try:
            prepared = _prepare(endpoint, git, tip, store, env)
            _deliver_one(prepared, run, result)
        except JitflowError as exc:
            result.error = exc.message
        if result.error:
            summary.warnings.append(
                f"outbound {endpoint.name}: {result.error} "
                f"({result.events} events delivered; the rest is retried next run)"
            )
    return summary


def _secret(ref: SecretRef, store: OutboundStore, env: Mapping[str, str], what: str) -> str:
    if ref.env:
        value = env.get(ref.env, "")
        if not value:
            raise JitflowError(f"{what} comes from ${ref.env}, which is not set")
        return value
    return store.read_secret(ref.vault, ref.key)


def _prepare(
    endpoint: Endpoint, git: Git, tip: str, store: OutboundStore, env: Mapping[str, str]
) -> _Prepared:
    url = endpoint.url
    if endpoint.url_secret is not None:
        url = _secret(endpoint.url_secret, store, env, "the URL")
        if not url.startswith("https://"):
            raise JitflowError(f"the URL from {endpoint.url_secret.describe()} is not https://")
    key = b""
    if endpoint.secret is not None:
        key = _secret(endpoint.secret, store, env, "the HMAC key").encode()
    if endpoint.token is not None:
        key = _secret(endpoint.token, store, env, "the HEC token").encode()
    cadata = None
    if endpoint.ca_file:
        pem = git.show_bytes(tip, endpoint.ca_file)
        if pem is None:
            raise JitflowError(f"ca_file {endpoint.ca_file} is not in the repository")
        cadata = pem.decode("ascii", errors="replace")
    proxy = proxy_for(url, env)
    target = Target(endpoint.name, url, endpoint.timeout, cadata, endpoint.allow_http, proxy)
    return _Prepared(endpoint, target, key)


def _start(git: Git, tip: str, store: OutboundStore, name: str, remote: str) -> tuple[str, int]:
    """The mark and its version; a new endpoint starts at the commit that last changed the
    configuration (it receives what happens from its configuration on)."""
    mark = store.read_mark(name)
    if mark.commit is None:
        return last_change(git, tip, OUTBOUND_PATH, remote), mark.version
    if not reachable(git, mark.commit, tip, remote):
        raise JitflowError(
            f"its mark {mark.commit[:12]} is not in main's history (was main rewritten?): "
            "nothing sent; delete the mark (`bao kv metadata delete` on its path) to start "
            "again from the configuration's commit"
        )
    return mark.commit, mark.version


def _deliver_one(prepared: _Prepared, run: _Delivery, result: EndpointResult) -> None:
    git, tip, remote, store = run.git, run.tip, run.remote, run.store
    env, context, clock = run.env, run.context, run.clock
    endpoint = prepared.endpoint
    mark, version = _start(git, tip, store, endpoint.name, remote)
    result.mark = mark
    if mark == tip:
        return
    grouped = events_after(git, mark, tip, runner_email_from(env), remote)
    pacing = Pacing()  # Retry-After waits of this endpoint in this run, bounded in total
    for last, chunk in batches(grouped, endpoint.batch):
        body, headers = _request(prepared, chunk, context, clock)
        try:
            post(prepared.target, body, headers, pacing)
        except JitflowError as exc:
            result.error = exc.message
            return
        version = store.write_mark(endpoint.name, last, version)
        result.mark = last
        result.events += len(chunk)
        result.batches += 1
    if result.mark != tip:  # commits without events after the last batch
        store.write_mark(endpoint.name, tip, version)
        result.mark = tip


def _request(
    prepared: _Prepared,
    events: Sequence[LedgerEvent],
    context: OcsfContext,
    clock: Callable[[], float],
) -> tuple[bytes, dict[str, str]]:
    endpoint = prepared.endpoint
    delivery = delivery_id(endpoint.name, [event.uid for event in events])
    headers = {DELIVERY_HEADER: delivery, "Idempotency-Key": delivery}
    if endpoint.format is Format.SLACK:
        return slack_payload(events, context), {}
    if endpoint.format is Format.HEC:
        headers["Authorization"] = f"Splunk {prepared.key.decode()}"
        return hec_body(events, context, endpoint.index, endpoint.sourcetype), headers
    body = envelope(delivery, endpoint.format.value, events, context)
    headers[SIGNATURE_HEADER] = sign(prepared.key, int(clock()), body)
    return body, headers


def after_sync(
    repo: Git, remote: str, branch: str, store: OutboundStore, environ: Mapping[str, str]
) -> OutboundSummary:
    """The hook sync calls once its run is over: deliver what main holds now."""
    try:
        tip = fetched_tip(repo, remote, branch)
        return deliver(repo, tip, store, environ, remote=remote)
    except JitflowError as exc:
        return OutboundSummary(warnings=[f"outbound delivery did not run: {exc.message}"])
    except Exception as exc:  # a bug here must not hide what the run did (it is pushed)
        name = type(exc).__name__
        return OutboundSummary(warnings=[f"outbound delivery failed unexpectedly ({name})"])
