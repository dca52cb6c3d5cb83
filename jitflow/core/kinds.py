"""The kinds of grant Vault issues (the policy's `grant.kind`).

Its own module, so that what needs only the names (an audit's rows) doesn't load the
domain model's dataclasses; `jitflow.core.model` re-exports it."""

from __future__ import annotations

from enum import StrEnum


class GrantKind(StrEnum):
    VAULT_TOKEN = "vault-token"  # noqa: S105 - a kind name, not a secret
    DATABASE = "database"
    SSH = "ssh"
    IDENTITY_GROUP = "identity-group"
    SECRET = "secret"  # noqa: S105 - any leased secret a Vault engine issues at a policy's path
