"""The dev Vault's database secrets engine on a local PostgreSQL: its connection, the
documented role and the policy that reads the role's credentials (docs/vault-setup.md)."""

from __future__ import annotations

from collections.abc import Sequence

from jitflow.adapters.vault.naming import database_policy_name
from jitflow.sandbox.servers.postgres import PostgresServer
from jitflow.sandbox.servers.setup_api import SetupApi

DATABASE_MOUNT = "database"
DATABASE_ROLE = "readwrite"
DATABASE_CONNECTION = "jitflow-postgres"


# Revoking a database grant ends its live sessions: a role dropped while connected keeps its
# open transactions, cursors, locks and running statements. Terminate its backends first (and
# wait up to 5 s for each to exit, PostgreSQL 14+), then drop it; last, end any session whose
# role is gone (a client that reconnected while the revocation ran, before it committed).
TERMINATE_SESSIONS = (
    "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename = '{{name}}';",
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = "
    "'client backend' AND usesysid IS NOT NULL AND usename IS NULL;",
)


def drop_role_statements(owner: str) -> list[str]:
    """Drop the role (what it owns goes to `owner`), then end sessions left without a role."""
    return [
        f'REASSIGN OWNED BY "{{{{name}}}}" TO "{owner}";',
        'DROP OWNED BY "{{name}}";',
        'DROP ROLE IF EXISTS "{{name}}";',
        TERMINATE_SESSIONS[1],
    ]


def write_database_connection(
    api: SetupApi, mount: str, postgres: PostgresServer, allowed_roles: Sequence[str]
) -> None:
    """The database engine's connection to `postgres` (as its superuser), for these roles."""
    api.write(
        f"{mount}/config/{DATABASE_CONNECTION}",
        {
            "plugin_name": "postgresql-database-plugin",
            "connection_url": (
                f"postgresql://{{{{username}}}}:{{{{password}}}}@{postgres.host}:{postgres.port}"
                f"/{postgres.database}?sslmode=disable"
            ),
            "username": postgres.superuser,
            "password": postgres.password,
            "allowed_roles": list(allowed_roles),
            "verify_connection": True,
        },
    )


def write_database_policy(api: SetupApi, mount: str, role: str) -> str:
    """The Vault policy that reads `role`'s credentials; returns its name."""
    policy = database_policy_name(mount, role)
    hcl = f'path "{mount}/creds/{role}" {{ capabilities = ["read"] }}\n'
    api.write(f"sys/policies/acl/{policy}", {"policy": hcl})
    return policy


def configure_database(api: SetupApi, postgres: PostgresServer) -> str:
    api.write(f"sys/mounts/{DATABASE_MOUNT}", {"type": "database"})
    write_database_connection(api, DATABASE_MOUNT, postgres, [DATABASE_ROLE])
    owner = postgres.superuser
    api.write(
        f"{DATABASE_MOUNT}/roles/{DATABASE_ROLE}",
        {
            "db_name": DATABASE_CONNECTION,
            "creation_statements": [
                "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' "
                "VALID UNTIL '{{expiration}}';",
                'GRANT USAGE, CREATE ON SCHEMA public TO "{{name}}";',
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
                'TO "{{name}}";',
            ],
            "revocation_statements": [*TERMINATE_SESSIONS[:1], *drop_role_statements(owner)],
            "default_ttl": "1h",
            "max_ttl": "24h",
        },
    )
    return write_database_policy(api, DATABASE_MOUNT, DATABASE_ROLE)
