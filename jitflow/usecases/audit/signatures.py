"""Who wrote the ledger, proven: every ledger commit on main must carry an SSH signature by a
key certified for `jitflow-ledger` by a CA of the allowed signers file, valid at the commit's
time. A name or an email in a commit proves nothing: anyone can type them.

The trust root is `.jitflow/allowed_signers` at the verified commit (owned by CODEOWNERS), or
a file the auditor pins with `--allowed-signers`; `--vault` checks that it trusts only the CA
of Vault's ledger mount. Codes: `ledger-unsigned`, `signers-not-vault-ca`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jitflow.adapters.git import Git
from jitflow.core.sshsig import SignersError, TrustedKey, check_commit, parse_allowed_signers
from jitflow.core.verify_report import Violation
from jitflow.errors import UsageError

SIGNERS_PATH = ".jitflow/allowed_signers"


@dataclass(frozen=True)
class TrustRoot:
    keys: tuple[TrustedKey, ...]
    source: str
    problem: str = ""  # why no key can be trusted, when none


@dataclass(frozen=True)
class PendingSignature:
    """A ledger commit whose signature is still to be checked."""

    sha: str
    at: datetime
    request_id: str


def load_trust(git: Git, head: str, pinned: Path | None) -> TrustRoot:
    if pinned is not None:
        try:
            text = pinned.read_text()
        except OSError as exc:
            raise UsageError(f"--allowed-signers: cannot read {pinned}: {exc.strerror}") from exc
        source = str(pinned)
    else:
        content = git.show_bytes(head, SIGNERS_PATH)
        source = f"{SIGNERS_PATH} at {head[:12]}"
        if content is None:
            return TrustRoot((), source, f"there is no {SIGNERS_PATH} at {head[:12]}")
        text = content.decode("utf-8", "replace")
    try:
        keys = parse_allowed_signers(text)
    except SignersError as exc:
        if pinned is not None:
            raise UsageError(f"--allowed-signers {pinned}: {exc}") from exc
        return TrustRoot((), source, f"{source} is unreadable: {exc}")
    if not keys:
        return TrustRoot((), source, f"{source} trusts no key")
    return TrustRoot(keys, source)


def check_signatures(
    git: Git, pending: Sequence[PendingSignature], trust: TrustRoot
) -> list[Violation]:
    """Read the commits in one batch and check each signature in-process."""
    if not pending:
        return []
    raws = git.cat_blobs([p.sha for p in pending])
    found = []
    for item, raw in zip(pending, raws, strict=True):
        why = (
            trust.problem
            if not trust.keys
            else check_commit(raw or b"", trust.keys, item.at)
            if raw is not None
            else "the commit cannot be read"
        )
        if why:
            found.append(
                Violation(
                    "ledger-unsigned",
                    item.request_id,
                    item.sha,
                    f"a ledger commit not signed by the runner ({why}"
                    + (f"; trusted: {trust.source})" if trust.keys else ")"),
                )
            )
    return found


def check_trust_is_vault(trust: TrustRoot, vault_ca: str) -> list[Violation]:
    """Every key the trust root accepts must be Vault's ledger CA."""
    try:
        (expected,) = parse_allowed_signers(f"x cert-authority {vault_ca}")
    except (SignersError, ValueError):
        return [Violation("signers-not-vault-ca", "", "", "Vault's ledger CA key is unreadable")]
    others = [k for k in trust.keys if k.key != expected.key or not k.cert_authority]
    if not others and trust.keys:
        return []
    return [
        Violation(
            "signers-not-vault-ca",
            "",
            "",
            f"{trust.source} trusts {len(others)} key(s) other than the CA of Vault's ledger "
            "mount"
            + ("" if trust.keys else " (it trusts nothing)")
            + ": ledger commits signed by them are not provably the runner's",
        )
    ]
