"""`jitflow creds`'s output: the unwrapped credentials as shell exports, JSON or a .pgpass line."""

from __future__ import annotations

import json
from collections.abc import Mapping

from jitflow.errors import UsageError


def render_credentials(values: Mapping[str, str], output_format: str) -> str:
    if output_format == "json":
        return json.dumps(dict(values), indent=2, sort_keys=True) + "\n"
    if output_format == "pgpass":
        if "username" not in values or "password" not in values:
            raise UsageError("--format pgpass needs database credentials (username and password)")
        user = values["username"].replace(":", "\\:")
        password = values["password"].replace(":", "\\:")
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
        name = names.get(key, key.upper().replace("-", "_"))
        quoted = "'" + value.replace("'", "'\\''") + "'"
        lines.append(f"export {name}={quoted}")
    return "\n".join(lines) + "\n"
