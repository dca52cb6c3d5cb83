"""Doctor checks of the ledger's signing setup (docs/vault-setup.md, "Signing the ledger").

Pure: the use-case reads the signers file and Vault's ledger role and CA, these judge them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jitflow.core.doctor import Check, fail, ok, warn
from jitflow.core.sshsig import SignersError, TrustedKey, parse_allowed_signers

SIGNERS_PATH = ".jitflow/allowed_signers"
LEDGER_PRINCIPAL = "jitflow-ledger"
_DOCS = "docs/vault-setup.md, section 'Signing the ledger'"


def _trusted(text: str | None) -> tuple[tuple[TrustedKey, ...], str]:
    if text is None:
        return (), f"there is no {SIGNERS_PATH}: `jitflow audit verify` rejects every ledger commit"
    try:
        keys = parse_allowed_signers(text)
    except SignersError as exc:
        return (), f"{SIGNERS_PATH} is unreadable: {exc}"
    authorities = [k for k in keys if k.cert_authority and LEDGER_PRINCIPAL in k.principals]
    if not authorities:
        return (), f"{SIGNERS_PATH} has no `{LEDGER_PRINCIPAL} cert-authority` line"
    return tuple(keys), ""


def check_allowed_signers(text: str | None) -> Check:
    """Missing is a warning here (a fresh repository; which CA to trust is Vault's to say, and
    `vault.ledger-signing` fails on it); present but unusable is a failure."""
    check_id = "repository.allowed-signers"
    if text is None:
        return warn(
            check_id,
            f"there is no {SIGNERS_PATH} yet: `jitflow audit verify` rejects every ledger commit",
            f"create it from Vault's ledger CA ({_DOCS})",
        )
    keys, problem = _trusted(text)
    if problem:
        return fail(check_id, problem, f"create it from Vault's ledger CA ({_DOCS})")
    return ok(check_id, f"{SIGNERS_PATH} trusts {len(keys)} key(s) for the ledger")


def check_ledger_signing(
    role: Mapping[str, Any] | None, ca_public_key: str | None, signers_text: str | None, path: str
) -> Check:
    """The ledger role certifies only `jitflow-ledger`, and the repository trusts its CA."""
    check_id = "vault.ledger-signing"
    fix = f"set up the ledger CA and role ({_DOCS})"
    if role is None or not ca_public_key:
        return fail(check_id, f"{path} or its CA does not exist: sync cannot sign", fix)
    users = str(role.get("allowed_users", "")).split(",")
    if [u.strip() for u in users if u.strip()] != [LEDGER_PRINCIPAL] or not role.get(
        "allow_user_certificates"
    ):
        return fail(
            check_id,
            f"{path} must certify user keys for `{LEDGER_PRINCIPAL}` only "
            f"(allowed_users is {role.get('allowed_users')!r})",
            fix,
        )
    keys, _ = _trusted(signers_text)
    try:
        (vault_ca,) = parse_allowed_signers(f"x cert-authority {ca_public_key}")
    except (SignersError, ValueError):
        return fail(check_id, f"the CA key of {path} is unreadable", fix)
    if not any(k.cert_authority and k.key == vault_ca.key for k in keys):
        return fail(
            check_id,
            f"{SIGNERS_PATH} does not trust the CA of {path}: signed ledger commits won't verify",
            f"write Vault's CA into {SIGNERS_PATH} ({_DOCS})",
        )
    return ok(check_id, f"{path} certifies `{LEDGER_PRINCIPAL}` keys with the repository's CA")
