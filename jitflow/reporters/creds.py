"""`jitflow creds`'s output: the unwrapped credentials as shell exports, JSON or a .pgpass line."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from jitflow.errors import UsageError

_ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
# Names a shell, the dynamic loader or common tools act on: exported from `eval "$(jitflow
# creds ID)"`, a value there would run code or redirect where programs look (PROMPT_COMMAND,
# LD_PRELOAD, PATH, ...). No Vault engine names a secret's fields like these.
_ACTED_ON = frozenset(
    {
        "BASHOPTS", "BASH_ENV", "CDPATH", "EDITOR", "ENV", "GLOBIGNORE", "HISTFILE", "HOME",
        "IFS", "MAIL", "MAILPATH", "NODE_OPTIONS", "PAGER", "PATH", "PERL5LIB", "PERL5OPT",
        "PROMPT_COMMAND", "PS0", "PS1", "PS2", "PS3", "PS4", "PYTHONHOME", "PYTHONPATH",
        "PYTHONSTARTUP", "RUBYOPT", "SHELL", "SHELLOPTS", "TERM", "TMPDIR", "VISUAL",
    }
)  # fmt: skip
_ACTED_ON_PREFIXES = ("BASH_FUNC", "DYLD_", "GIT_", "LD_", "SSH_", "VAULT_ADDR", "PGHOST")


def _env_name(key: str, names: Mapping[str, str]) -> str:
    """The variable a field is exported as; refuses one that isn't a plain name or that the
    shell or a tool would act on (the values are quoted, the names can't be)."""
    name = names.get(key, key.upper().replace("-", "_"))
    acted_on = name in _ACTED_ON or name.startswith(_ACTED_ON_PREFIXES)
    if not _ENV_NAME.fullmatch(name) or acted_on:
        shown = json.dumps(key, ensure_ascii=True)[:80]
        raise UsageError(
            f"the credentials hold a field {shown} that can't be exported safely as a shell "
            "variable; use --format json"
        )
    return name


def _pgpass_field(value: str) -> str:
    """A .pgpass field: `\\` and `:` escaped with `\\` (PostgreSQL's rule); a line break would
    start another entry, so it is refused."""
    if "\n" in value or "\r" in value:
        raise UsageError("the credentials hold a line break, which a .pgpass line can't carry")
    return value.replace("\\", "\\\\").replace(":", "\\:")


def render_credentials(values: Mapping[str, str], output_format: str) -> str:
    if output_format == "json":
        return json.dumps(dict(values), indent=2, sort_keys=True) + "\n"
    if output_format == "pgpass":
        if "username" not in values or "password" not in values:
            raise UsageError("--format pgpass needs database credentials (username and password)")
        user, password = _pgpass_field(values["username"]), _pgpass_field(values["password"])
        return f"*:*:*:{user}:{password}\n"
    names = {
        "token": "VAULT_TOKEN",
        "username": "PGUSER",
        "password": "PGPASSWORD",
        # AWS STS credentials (a `secret` grant on the aws engine), as the AWS CLI reads them
        "access_key": "AWS_ACCESS_KEY_ID",
        "secret_key": "AWS_SECRET_ACCESS_KEY",
        "security_token": "AWS_SESSION_TOKEN",
    }
    lines = []
    for key, value in sorted(values.items()):
        name = _env_name(key, names)
        quoted = "'" + value.replace("'", "'\\''") + "'"
        lines.append(f"export {name}={quoted}")
    return "\n".join(lines) + "\n"
