"""The runner's proof of authorship: ledger commits signed with a Vault-certified key, and
the last pushed tip anchored in Vault (jitflow.adapters.vault.ledger, docs/vault-setup.md)."""

from __future__ import annotations

from collections.abc import Mapping

from jitflow.adapters.git import Git, graph
from jitflow.errors import JitflowError
from jitflow.usecases.port import LedgerSource, Signer
from jitflow.usecases.sync.run_memory import SyncReport


def ledger_signer(
    vault: LedgerSource, environ: Mapping[str, str], report: SyncReport
) -> Signer | None:
    """A signer for this run's commits, or None (with a warning: `audit verify` will reject
    the unsigned commits) when signing is switched off or Vault refuses a certificate."""
    port = vault.ledger(environ)
    if not port.settings.enabled:
        report.warnings.append(
            "JITFLOW_LEDGER_SIGNING is off: ledger commits are not signed and "
            "`jitflow audit verify` will reject them"
        )
        return None
    try:
        signer: Signer = port.signer()
    except JitflowError as exc:
        report.warnings.append(
            f"ledger commits are NOT signed ({exc.message}); `jitflow audit verify` will reject "
            "them: see docs/vault-setup.md, 'Signing the ledger', and run `jitflow doctor`"
        )
        return None
    return signer


def record_anchor(
    vault: LedgerSource, environ: Mapping[str, str], tip: str, report: SyncReport, git: Git
) -> None:
    """Keep the pushed tip outside git, so a rewritten main shows in `audit verify --vault` (and
    a ledger commit above the anchor, `ledger-commit-unanchored`). A run that only revokes runs
    alongside the others (a concurrency group of its own): when the anchor already names a tip
    above this one (in `git`, fetched after the push), a later run anchored it first, and this
    older tip is not written over it."""
    try:
        ledger = vault.ledger(environ)
        current = ledger.read_anchor()
        if current is not None and current.tip != tip and graph.is_ancestor(git, tip, current.tip):
            return
        ledger.write_anchor(tip)
    except JitflowError as exc:
        report.warnings.append(f"could not record the ledger anchor in Vault: {exc.message}")
