"""`jitflow creds ID`: find the delivery comment, decrypt it with an SSH key, unwrap, print.

An already used wrapping token is a loud warning: someone else may have unwrapped it.
SSH grants deliver a public certificate instead: it is saved next to the key it was signed for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from jitflow.adapters.git import Git
from jitflow.core.ledger import ActiveRecord, active_path, parse_active_record
from jitflow.core.model import GrantKind
from jitflow.errors import DeniedError, UsageError

DEFAULT_BOT_LOGIN = "github-actions[bot]"


class MarkedComments(Protocol):
    """What `creds` asks GitHub: the PR comments carrying a marker."""

    def find_marked_comments(self, number: int, marker: str) -> list[tuple[int, str, str]]:
        """(id, author login, body), oldest first; anyone can paste a marker."""
        ...


@dataclass(frozen=True)
class CredsOptions:
    repo: Path
    request_id: str
    identity: Path
    output_format: str = "env"
    ref: str = "origin/main"
    bot_login: str | None = None


@dataclass(frozen=True)
class SavedCertificate:
    certificate: str
    path: Path


def read_active(git: Git, request_id: str, ref: str) -> tuple[ActiveRecord, int]:
    """The active record and its PR number."""
    content = git.show_bytes(git.rev_parse(ref), active_path(request_id))
    if content is None:
        raise UsageError(
            f"{request_id} is not an active grant at {ref} (run `git fetch` and check the id)"
        )
    record = parse_active_record(content, request_id)
    if record.pr is None:
        raise UsageError(f"the active record of {request_id} names no PR")
    return record, record.pr


def retrieve(
    options: CredsOptions, github: MarkedComments, environ: Mapping[str, str]
) -> SavedCertificate | dict[str, str]:
    """An SSH grant's certificate (saved next to the key), or any other grant's secrets."""
    record, _ = read_active(Git(options.repo), options.request_id, options.ref)
    if record.kind is GrantKind.SSH:
        return _save_certificate(options, github, environ, record)
    return _unwrap_credentials(options, github, environ, record)


def fetch_credentials(
    options: CredsOptions, github: MarkedComments, environ: Mapping[str, str]
) -> dict[str, str]:
    """The unwrapped credentials; never written to disk, only returned to be printed."""
    record, _ = read_active(Git(options.repo), options.request_id, options.ref)
    return _unwrap_credentials(options, github, environ, record)


def _delivered(
    options: CredsOptions,
    github: MarkedComments,
    environ: Mapping[str, str],
    record: ActiveRecord,
    marker: str,
) -> str:
    """The encrypted blob (or the certificate) the runner delivered for this grant.

    The comment's author proves nothing: every workflow of the repository posts as the
    runner's login (`github-actions[bot]`), and anyone can encrypt to the requester's public
    keys. So a record naming its delivery's digest (`grant.delivered`) is matched by content,
    whoever posted it; an older record without one falls back to the newest comment by the
    runner's login.
    """
    from jitflow.adapters import delivery

    number = record.pr or 0  # read_active refuses a record without one
    parse = (
        delivery.parse_certificate_comment
        if marker == "certificate"
        else delivery.parse_delivery_comment
    )
    _nothing_delivered(record)
    comments = github.find_marked_comments(number, f"{marker}:{options.request_id}")
    if record.delivered:
        for _, _, body in reversed(comments):
            material = parse(body, options.request_id)
            if material is not None and delivery.delivered_digest(material) == record.delivered:
                return material
        if not comments:
            raise UsageError(
                f"no {marker} comment for {options.request_id} on PR #{number}, although the "
                f"ledger records one ({record.delivered}): was it deleted?"
            )
        raise DeniedError(
            f"the {marker} comments for {options.request_id} on PR #{number} ({len(comments)}) "
            f"are not the one the ledger records ({record.delivered}): someone other than the "
            "runner may have posted them (every workflow of the repository comments as the "
            "runner does); use none of them and report it"
        )
    body = _trusted_comment(options, comments, environ, number, marker)
    material = parse(body, options.request_id)
    if material is None:
        what = "certificate" if marker == "certificate" else "encrypted block"
        raise UsageError(f"the {marker} comment on PR #{number} holds no {what}")
    return material


def _nothing_delivered(record: ActiveRecord) -> None:
    """Refuse, before reading any comment, a grant the runner delivered nothing for: a
    look-alike comment is all there could be (the fallback would believe it)."""
    if record.delivered:
        return
    if record.kind is GrantKind.IDENTITY_GROUP:
        raise UsageError(
            f"{record.id} adds your Vault entity to a group: there are no credentials to fetch"
        )
    if record.extends:
        raise UsageError(
            f"{record.id} extended {record.extends} in place: its credentials are the ones "
            f"delivered for {record.extends} (unwrapped once); nothing new was delivered"
        )


def _trusted_comment(
    options: CredsOptions,
    comments: list[tuple[int, str, str]],
    environ: Mapping[str, str],
    number: int,
    marker: str,
) -> str:
    """The newest comment with `marker` written by the runner's login (records written before
    the ledger named its delivery's digest)."""
    bot = (options.bot_login or environ.get("JITFLOW_BOT_LOGIN") or DEFAULT_BOT_LOGIN).lower()
    trusted = [body for _, author, body in comments if author.lower() == bot]
    if not trusted:
        others = sorted({author for _, author, _ in comments if author.lower() != bot})
        raise UsageError(
            f"no {marker} comment for {options.request_id} on PR #{number} by @{bot}"
            + (
                f" (ignored comments by {', '.join('@' + o for o in others)}; if your runner "
                "posts as another account, set JITFLOW_BOT_LOGIN to its login)"
                if others
                else ""
            )
        )
    return str(trusted[-1])


def _save_certificate(
    options: CredsOptions,
    github: MarkedComments,
    environ: Mapping[str, str],
    record: ActiveRecord,
) -> SavedCertificate:
    """Save the grant's SSH certificate as `<identity>-cert.pub`, where ssh looks for it.

    Refuses when --identity is not the key the request asked to have signed: a certificate
    saved next to another key would silently not work.
    """
    from jitflow.adapters import delivery

    certificate = _delivered(options, github, environ, record, "certificate")
    if record.ssh_public_key is None:
        raise UsageError(f"the active record of {options.request_id} names no SSH public key")
    requested = " ".join(record.ssh_public_key.split()[:2])
    mine = delivery.identity_public_key(options.identity)
    if requested != mine:
        raise UsageError(
            f"the certificate of {options.request_id} was signed for the key in the request "
            f"({requested.split()[0]}), not for {options.identity}; pass that key's private "
            "half with --identity"
        )
    target = options.identity.with_name(options.identity.name + "-cert.pub")
    partial = target.with_name(target.name + ".partial")
    partial.write_text(certificate + "\n", encoding="ascii")
    partial.chmod(0o644)
    partial.replace(target)
    return SavedCertificate(certificate, target)


def _unwrap_credentials(
    options: CredsOptions,
    github: MarkedComments,
    environ: Mapping[str, str],
    record: ActiveRecord,
) -> dict[str, str]:
    from jitflow.adapters import delivery
    from jitflow.adapters.vault import VaultGateway

    armored = _delivered(options, github, environ, record, "credentials")
    wrapping_token = delivery.decrypt_with_ssh_identity(armored, options.identity).decode().strip()
    addr = environ.get("VAULT_ADDR") or environ.get("BAO_ADDR") or ""
    if not addr:
        raise UsageError("VAULT_ADDR is not set: point it at the Vault that issued the grant")
    gateway = VaultGateway(addr, "", verify=environ.get("VAULT_CACERT") or True)
    secret = gateway.unwrap(wrapping_token)
    return dict(secret.values)
