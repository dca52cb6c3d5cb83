"""`audit verify --vault`, the ledger's side: what Vault holds outside git.

- `ledger-anchor-not-in-history`: the runner records each pushed ledger tip in Vault's KV
  (jitflow.adapters.vault.ledger); a tip that is not in the verified history means main was
  rewritten (a force-push that dropped a commit, say a revocation) or the clone is behind.
- `ledger-anchor-missing`: the history has ledger commits but Vault holds no anchor.
- `signers-not-vault-ca`: the signers file trusts a key other than Vault's ledger CA.
"""

from __future__ import annotations

from dataclasses import dataclass

from jitflow.adapters.git import Git, graph
from jitflow.core.anchor import LedgerAnchor
from jitflow.core.verify_report import Violation
from jitflow.usecases.audit.signatures import TrustRoot, check_trust_is_vault
from jitflow.usecases.port import LedgerPort


@dataclass(frozen=True)
class VaultLedger:
    """What Vault holds for the ledger, read once before verify's walk (the anchor's time
    bounds ledger commits' dates: jitflow.usecases.audit.dates)."""

    ca_public_key: str
    anchor: LedgerAnchor | None
    anchor_path: str

    @classmethod
    def read(cls, ledger: LedgerPort) -> VaultLedger:
        return cls(ledger.ca_public_key(), ledger.read_anchor(), ledger.settings.anchor_path)


def check_ledger_vault(
    git: Git, head: str, vault: VaultLedger, trust: TrustRoot, *, signed: int
) -> list[Violation]:
    found = check_trust_is_vault(trust, vault.ca_public_key)
    anchor = vault.anchor
    if anchor is None:
        if signed:
            found.append(
                Violation(
                    "ledger-anchor-missing",
                    "",
                    "",
                    f"the history has {signed} ledger commit(s) but Vault holds no ledger "
                    f"anchor at {vault.anchor_path}",
                )
            )
        return found
    if not graph.is_ancestor(git, anchor.tip, head):
        found.append(
            Violation(
                "ledger-anchor-not-in-history",
                "",
                anchor.tip,
                f"the runner last pushed {anchor.tip[:12]}, which is not in the history of "
                f"{head[:12]}: main was rewritten after the runner wrote it (or this clone "
                "is behind: fetch and verify again)",
            )
        )
    return found
