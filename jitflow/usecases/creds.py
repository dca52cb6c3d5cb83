"""`jitflow creds ID`: find the delivery comment, decrypt it with an SSH key, unwrap, print.

An already used wrapping token is a loud warning: someone else may have unwrapped it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jitflow.adapters.git import Git
from jitflow.core.ledger import active_path, parse_active_record
from jitflow.errors import UsageError


@dataclass(frozen=True)
class CredsOptions:
    repo: Path
    request_id: str
    identity: Path
    output_format: str = "env"
    ref: str = "origin/main"
    bot_login: str | None = None


def find_pr(git: Git, request_id: str, ref: str) -> int:
    content = git.show_bytes(ref, active_path(request_id))
    if content is None:
        raise UsageError(
            f"{request_id} is not an active grant at {ref} (run `git fetch` and check the id)"
        )
    record = parse_active_record(content, request_id)
    if record.pr is None:
        raise UsageError(f"the active record of {request_id} names no PR")
    return record.pr


def fetch_credentials(
    options: CredsOptions, github: Any, environ: Mapping[str, str]
) -> dict[str, str]:
    """The unwrapped credentials; never written to disk, only returned to be printed."""
    from jitflow.adapters import delivery
    from jitflow.adapters.vault import VaultGateway

    git = Git(options.repo)
    number = find_pr(git, options.request_id, options.ref)
    bot = (options.bot_login or environ.get("JITFLOW_BOT_LOGIN") or "").lower()
    comments = github.find_marked_comments(number, f"credentials:{options.request_id}")
    trusted = [body for _, author, body in comments if not bot or author.lower() == bot]
    if not trusted:
        raise UsageError(
            f"no credentials comment for {options.request_id} on PR #{number}"
            + (f" by @{bot}" if bot else "")
        )
    armored = delivery.parse_delivery_comment(trusted[-1], options.request_id)
    if armored is None:
        raise UsageError(f"the credentials comment on PR #{number} holds no encrypted block")
    wrapping_token = delivery.decrypt_with_ssh_identity(armored, options.identity).decode().strip()
    addr = environ.get("VAULT_ADDR") or environ.get("BAO_ADDR") or ""
    if not addr:
        raise UsageError("VAULT_ADDR is not set: point it at the Vault that issued the grant")
    gateway = VaultGateway(addr, "", verify=environ.get("VAULT_CACERT") or True)
    secret = gateway.unwrap(wrapping_token)
    return dict(secret.values)


def render(values: Mapping[str, str], output_format: str) -> str:
    if output_format == "json":
        return json.dumps(dict(values), indent=2, sort_keys=True) + "\n"
    if output_format == "pgpass":
        if "username" not in values or "password" not in values:
            raise UsageError("--format pgpass needs database credentials (username and password)")
        user = values["username"].replace(":", "\\:")
        password = values["password"].replace(":", "\\:")
        return f"*:*:*:{user}:{password}\n"
    names = {"token": "VAULT_TOKEN", "username": "PGUSER", "password": "PGPASSWORD"}
    lines = []
    for key, value in sorted(values.items()):
        name = names.get(key, key.upper().replace("-", "_"))
        quoted = "'" + value.replace("'", "'\\''") + "'"
        lines.append(f"export {name}={quoted}")
    return "\n".join(lines) + "\n"
