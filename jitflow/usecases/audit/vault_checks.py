"""`audit verify --vault`, the ledger's side: what Vault holds outside git.

- `ledger-anchor-not-in-history`: the runner records each pushed ledger tip in Vault's KV
  (jitflow.adapters.vault.ledger); a tip that is not in the verified history means main was
  rewritten (a force-push that dropped a commit, say a revocation) or the clone is behind.
- `ledger-anchor-missing`: the history has ledger commits but Vault holds no anchor.
- `signers-not-vault-ca`: the signers file trusts a key other than Vault's ledger CA.
"""

from __future__ import annotations

import os

from jitflow.adapters.git import Git, graph
from jitflow.core.verify_report import Violation
from jitflow.usecases.audit.signatures import TrustRoot, check_trust_is_vault
from jitflow.usecases.port import LedgerSource


def check_ledger_vault(
    git: Git, head: str, source: LedgerSource, trust: TrustRoot, *, signed: int
) -> list[Violation]:
    """`source` is the Vault gateway."""
    ledger = source.ledger(dict(os.environ))
    found = check_trust_is_vault(trust, ledger.ca_public_key())
    anchor = ledger.read_anchor()
    if anchor is None:
        if signed:
            found.append(
                Violation(
                    "ledger-anchor-missing",
                    "",
                    "",
                    f"the history has {signed} ledger commit(s) but Vault holds no ledger "
                    f"anchor at {ledger.settings.anchor_path}",
                )
            )
        return found
    if not graph.is_ancestor(git, anchor, head):
        found.append(
            Violation(
                "ledger-anchor-not-in-history",
                "",
                anchor,
                f"the runner last pushed {anchor[:12]}, which is not in the history of "
                f"{head[:12]}: main was rewritten after the runner wrote it (or this clone "
                "is behind: fetch and verify again)",
            )
        )
    return found
