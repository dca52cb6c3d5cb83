"""Make the dev OpenBao match the embedded example policies, on top of `configure_dev_vault`.

`configure_dev_vault` creates what docs/vault-setup.md documents with generic names; the
examples name their own Vault policies and roles (`staging-read`, `orders-write`, ...), so
the demo adds those, the way an operator adopting the examples would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from jitflow.errors import VaultError
from jitflow.sandbox.servers.setup_api import SetupApi
from jitflow.sandbox.servers.vault_database import (
    write_database_connection,
    write_database_policy,
)
from jitflow.sandbox.servers.vault_setup import write_token_role

if TYPE_CHECKING:
    from jitflow.sandbox.servers.postgres import PostgresServer
    from jitflow.sandbox.servers.vault_setup import DevVaultSetup

EXAMPLE_VAULT_POLICIES: Mapping[str, str] = {
    "staging-read": 'path "secret/data/staging/*" { capabilities = ["read", "list"] }\n',
    "ops-admin": 'path "sys/policies/acl/*" { capabilities = ["read", "list"] }\n',
}
EXAMPLE_SSH_ROLE = "prod-admin"
EXAMPLE_DATABASE_ROLE = "orders-write"


def adapt_to_examples(
    addr: str, root_token: str, setup: DevVaultSetup, postgres: PostgresServer | None
) -> None:
    """Create the Vault policies and roles the example policies name."""
    api = SetupApi(addr, root_token)
    try:
        for name, hcl in EXAMPLE_VAULT_POLICIES.items():
            api.call("POST", f"sys/policies/acl/{name}", {"policy": hcl})
        grantable = [*setup.grantable_policies, *EXAMPLE_VAULT_POLICIES]
        role = api.call("GET", f"auth/token/roles/{setup.token_role}")["data"]
        if postgres is not None and setup.database_mount and setup.database_role:
            grantable.append(_add_database_role(api, setup.database_mount, setup, postgres))
        max_ttl = role.get("token_explicit_max_ttl") or "24h"
        write_token_role(api, setup.token_role, sorted(set(grantable)), max_ttl)
        ssh_role = api.call("GET", f"{setup.ssh_mount}/roles/{setup.ssh_role}")["data"]
        ssh_fields = ("key_type", "allow_user_certificates", "allowed_users", "ttl", "max_ttl")
        api.call(
            "POST",
            f"{setup.ssh_mount}/roles/{EXAMPLE_SSH_ROLE}",
            {
                **{k: ssh_role[k] for k in ssh_fields if k in ssh_role},
                "default_extensions": {"permit-pty": ""},
                "not_before_duration": "1s",
            },
        )
    finally:
        api.close()


def _add_database_role(
    api: SetupApi, mount: str, setup: DevVaultSetup, postgres: PostgresServer
) -> str:
    """Copy the documented database role as `orders-write`; return its grant policy."""

    source = api.call("GET", f"{mount}/roles/{setup.database_role}")["data"]
    api.call(
        "POST",
        f"{mount}/roles/{EXAMPLE_DATABASE_ROLE}",
        {
            "db_name": source["db_name"],
            "creation_statements": source["creation_statements"],
            "revocation_statements": source["revocation_statements"],
            "default_ttl": source.get("default_ttl") or "1h",
            "max_ttl": source.get("max_ttl") or "24h",
        },
    )
    allowed_roles = [str(setup.database_role), EXAMPLE_DATABASE_ROLE]
    write_database_connection(api, mount, postgres, allowed_roles)
    return write_database_policy(api, mount, EXAMPLE_DATABASE_ROLE)


def create_runner_token(addr: str, root_token: str, runner_policy: str) -> str:
    """A token with only the runner policy, like the one the sync workflow logs in for."""
    api = SetupApi(addr, root_token)
    try:
        answer = api.call(
            "POST",
            "auth/token/create-orphan",
            {"policies": [runner_policy], "ttl": "1h", "no_default_policy": True},
        )
    finally:
        api.close()
    token = ((answer or {}).get("auth") or {}).get("client_token")
    if not isinstance(token, str):
        raise VaultError("demo setup: OpenBao created no runner token")
    return token
