"""`jitflow doctor`'s verdicts on outbound delivery (`.jitflow/outbound.yaml`). Pure.

What sync would stumble on at its next run, said before it runs: the file loads, each endpoint
is `https://` (or an allowed loopback `http://`), the secrets it names exist (environment
variables of this run, keys of Vault KV secrets), its high-water mark is readable in Vault and
is a commit of main, and (with `--probe`) the endpoint answers at all. No secret's value is
ever part of a verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from jitflow.core.doctor import Check, fail, ok, skip, warn
from jitflow.core.outbound import OUTBOUND_PATH, Endpoint, OutboundConfig, SecretRef

CHECK = "outbound"
_DELETE = "bao kv metadata delete {path}  (the next run starts again at the configuration)"


@dataclass(frozen=True)
class SecretFact:
    """What reading one named secret found (never its value)."""

    present: bool
    problem: str = ""  # why it could not be read ("" when read or simply missing)
    https: bool | None = None  # for a URL from a secret: whether it is https://


@dataclass(frozen=True)
class MarkFact:
    path: str
    commit: str | None = None  # None: no mark yet
    in_history: bool | None = None  # None: unknown (no mark, or not in this clone)
    problem: str = ""  # why it could not be read


@dataclass(frozen=True)
class OutboundFacts:
    """Facts about one configuration; Vault facts are None when Vault was not checked."""

    config: OutboundConfig
    environ: frozenset[str]  # names of the environment variables that are set and not empty
    vault_secrets: Mapping[tuple[str, str], SecretFact] | None = None
    url_secrets: Mapping[str, SecretFact] = field(default_factory=dict)  # endpoint -> its URL
    marks: Mapping[str, MarkFact] | None = None  # endpoint -> its mark
    probes: Mapping[str, str] | None = None  # endpoint -> "" when it answered, else why not


def check_outbound(facts: OutboundFacts) -> list[Check]:
    config = facts.config
    if config.findings:
        details = [f"{f.path}:{f.line}:{f.column}: {f.message}" for f in config.findings]
        return [
            fail(
                f"{CHECK}.config",
                f"{OUTBOUND_PATH} does not load: sync sends nothing until it does",
                "fix the file (`jitflow schema outbound` describes it)",
                details,
            )
        ]
    names = ", ".join(e.name for e in config.endpoints) or "none"
    checks = [ok(f"{CHECK}.config", f"{OUTBOUND_PATH} loads: endpoints {names}")]
    for endpoint in config.endpoints:
        checks.append(_endpoint(endpoint, facts))
        checks.append(_mark(endpoint.name, facts.marks))
        if facts.probes is not None:
            checks.append(_probe(endpoint.name, facts.probes.get(endpoint.name, "not probed")))
    return checks


def _endpoint(endpoint: Endpoint, facts: OutboundFacts) -> Check:
    check_id = f"{CHECK}.{endpoint.name}"
    problems: list[str] = []
    unchecked: list[str] = []
    named = [
        ("the URL", endpoint.url_secret),
        ("the HMAC key", endpoint.secret),
        ("the HEC token", endpoint.token),
    ]
    for what, ref in named:
        if ref is None:
            continue
        problem = _secret_problem(what, ref, facts)
        if problem is None:
            unchecked.append(f"{what} ({ref.describe()})")
        elif problem:
            problems.append(problem)
    url = facts.url_secrets.get(endpoint.name)
    if url is not None and url.present and url.https is False:
        problems.append(f"the URL from {_describe(endpoint.url_secret)} is not https://")
    if problems:
        return fail(
            check_id,
            f"endpoint {endpoint.name}: sync cannot deliver to it",
            "set the named environment variable in the sync job, or put the key in Vault KV "
            "(README: Streaming events)",
            problems,
        )
    where = "loopback http://" if endpoint.allow_http else "https://"
    if unchecked:
        return skip(
            check_id,
            f"endpoint {endpoint.name}: {where}; not checked: {', '.join(unchecked)} "
            "(Vault not checked)",
        )
    return ok(check_id, f"endpoint {endpoint.name}: {where}, every secret it names is there")


def _describe(ref: SecretRef | None) -> str:
    return ref.describe() if ref is not None else "its secret"


def _secret_problem(what: str, ref: SecretRef, facts: OutboundFacts) -> str | None:
    """'' when the secret is there, a problem, or None when it could not be checked."""
    if ref.env:
        return "" if ref.env in facts.environ else f"{what} comes from ${ref.env}, which is not set"
    if facts.vault_secrets is None:
        return None
    fact = facts.vault_secrets.get((ref.vault, ref.key))
    if fact is None or fact.present:
        return "" if fact is not None else None
    if fact.problem:
        return f"{what}: Vault {ref.vault} could not be read ({fact.problem})"
    return f"{what}: Vault {ref.vault} has no key {ref.key}"


def _mark(name: str, marks: Mapping[str, MarkFact] | None) -> Check:
    check_id = f"{CHECK}.{name}.mark"
    if marks is None or name not in marks:
        return skip(check_id, f"the high-water mark of {name} was not read (Vault not checked)")
    mark = marks[name]
    if mark.problem:
        return fail(
            check_id,
            f"the high-water mark of {name} at {mark.path} cannot be read: {mark.problem}",
            "the runner's Vault policy must read and write it (docs/vault-setup.md, "
            "ledger-anchor rule)",
        )
    if mark.commit is None:
        return ok(
            check_id,
            f"{name} has no mark yet: its first run sends what happened since the commit "
            f"that last changed {OUTBOUND_PATH}",
        )
    if mark.in_history is False:
        return fail(
            check_id,
            f"the mark of {name} ({mark.commit[:12]}) is not in main's history: sync sends "
            "it nothing",
            _DELETE.format(path=mark.path),
        )
    if mark.in_history is None:
        return warn(
            check_id,
            f"the mark of {name} ({mark.commit[:12]}) is not in this clone (shallow?): "
            "not compared with main",
            "git fetch --unshallow, then run doctor again",
        )
    return ok(check_id, f"{name} has received every event up to {mark.commit[:12]}")


def _probe(name: str, problem: str) -> Check:
    check_id = f"{CHECK}.{name}.reachable"
    if problem:
        return fail(
            check_id,
            f"endpoint {name} did not answer: {problem}",
            "check the URL, DNS, firewall or HTTPS_PROXY/NO_PROXY, and ca_file for a private CA",
        )
    return ok(check_id, f"endpoint {name} answers over TLS (probed without body or credentials)")
