"""`jitflow doctor`'s outbound section: read the facts the core rules judge
(jitflow/core/doctor_outbound.py) from the clone, the environment and Vault, and probe each
endpoint when asked. Secrets are read to learn whether they are there, never shown."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from jitflow.core.doctor import Check
from jitflow.core.doctor_outbound import MarkFact, OutboundFacts, SecretFact, check_outbound
from jitflow.core.outbound import OUTBOUND_PATH, Endpoint, OutboundConfig, parse_outbound
from jitflow.errors import JitflowError

if TYPE_CHECKING:
    from jitflow.adapters.vault.inspect import VaultInspector


def outbound_checks(
    repo: Path, branch: str, environ: Mapping[str, str], vault: bool, probe: bool
) -> list[Check]:
    """The outbound section (empty without the file); `vault`: read secrets and marks,
    `probe`: contact endpoints."""
    try:
        content = (repo / OUTBOUND_PATH).read_bytes()
    except OSError:
        return []
    config = parse_outbound(content)
    facts = OutboundFacts(config, frozenset(k for k, v in environ.items() if v))
    if config.findings:
        return check_outbound(facts)
    inspector = _inspector(environ) if vault else None
    if inspector is not None:
        facts = _vault_facts(facts, inspector, repo, branch, environ)
    if probe:
        probes = {e.name: _probe(e, repo, environ, inspector) for e in config.endpoints}
        facts = OutboundFacts(**{**facts.__dict__, "probes": probes})
    return check_outbound(facts)


def _inspector(environ: Mapping[str, str]) -> VaultInspector | None:
    from jitflow.adapters.vault.inspect import VaultInspector

    return VaultInspector.from_env(environ)


def _kv(inspector: VaultInspector, path: str) -> tuple[dict[str, object] | None, str]:
    """A KV v2 secret's data (None: not there), and why it could not be read."""
    try:
        answer = inspector.read(path)
    except JitflowError as exc:
        return None, exc.message
    data = (answer or {}).get("data")
    return (dict(data) if isinstance(data, dict) else None), ""


def _vault_facts(
    facts: OutboundFacts,
    inspector: VaultInspector,
    repo: Path,
    branch: str,
    environ: Mapping[str, str],
) -> OutboundFacts:
    secrets: dict[tuple[str, str], SecretFact] = {}
    urls: dict[str, SecretFact] = {}
    for endpoint in facts.config.endpoints:
        for ref in (endpoint.url_secret, endpoint.secret, endpoint.token):
            if ref is not None and ref.vault:
                data, problem = _kv(inspector, ref.vault)
                value = (data or {}).get(ref.key)
                present = isinstance(value, str) and bool(value)
                secrets[(ref.vault, ref.key)] = SecretFact(present, problem)
        if endpoint.url_secret is not None:
            url = _url(endpoint, environ, inspector)
            urls[endpoint.name] = SecretFact(bool(url), "", url.startswith("https://"))
    return OutboundFacts(
        facts.config,
        facts.environ,
        secrets,
        urls,
        _marks(facts.config, inspector, repo, branch, environ),
    )


def _marks(
    config: OutboundConfig,
    inspector: VaultInspector,
    repo: Path,
    branch: str,
    environ: Mapping[str, str],
) -> dict[str, MarkFact]:
    from jitflow.adapters.git import Git
    from jitflow.adapters.git.graph import is_ancestor, is_commit
    from jitflow.adapters.git.remote import fetched_tip_or_head
    from jitflow.adapters.vault.ledger import LedgerSettings
    from jitflow.adapters.vault.outbound import OutboundVault

    git = Git(repo)
    tip = fetched_tip_or_head(git, "origin", branch)
    anchor = LedgerSettings.from_env(environ).anchor_path
    marks = {}
    for endpoint in config.endpoints:
        path = OutboundVault.path_of(anchor, endpoint.name)
        data, problem = _kv(inspector, path)
        commit = (data or {}).get("commit")
        if problem or not isinstance(commit, str) or not commit:
            marks[endpoint.name] = MarkFact(path, problem=problem)
            continue
        known = is_ancestor(git, commit, tip) if is_commit(git, commit) else None
        marks[endpoint.name] = MarkFact(path, commit, known)
    return marks


def _url(endpoint: Endpoint, environ: Mapping[str, str], inspector: VaultInspector | None) -> str:
    ref = endpoint.url_secret
    if ref is None:
        return endpoint.url
    if ref.env:
        return environ.get(ref.env, "")
    if inspector is None:
        return ""
    value = (_kv(inspector, ref.vault)[0] or {}).get(ref.key)
    return value if isinstance(value, str) else ""


def _probe(
    endpoint: Endpoint, repo: Path, environ: Mapping[str, str], inspector: VaultInspector | None
) -> str:
    from jitflow.adapters.outbound_http import Target, probe, proxy_for

    url = _url(endpoint, environ, inspector)
    if not url:
        return "its URL is a secret that could not be read"
    cadata = None
    if endpoint.ca_file:
        try:
            cadata = (repo / endpoint.ca_file).read_text("ascii", errors="replace")
        except OSError:
            return f"ca_file {endpoint.ca_file} is not in the clone"
    proxy = proxy_for(url, environ)
    return probe(Target(endpoint.name, url, endpoint.timeout, cadata, endpoint.allow_http, proxy))
