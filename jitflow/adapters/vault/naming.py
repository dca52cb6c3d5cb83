"""Names jitflow gives to things in Vault, shared by the adapter, setup and docs."""

from __future__ import annotations

import re


def database_policy_name(mount: str, role: str) -> str:
    """Vault policy allowing `read` on `<mount>/creds/<role>`: `jitflow-<mount>-<role>`.

    Slashes in nested mounts become dashes (`db/prod` + `rw` -> `jitflow-db-prod-rw`).
    """
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{mount.strip('/')}-{role}")
    return f"jitflow-{cleaned.strip('-')}"


def token_display_name(request_id: str) -> str:
    return f"jitflow-{request_id}"
