"""Configure a fresh (dev) OpenBao / Vault server the way jitflow expects.

The same steps as `docs/vault-setup.md`, over the HTTP API, so tests and demos
run against exactly what the documentation tells operators to create.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from jitflow.sandbox.servers.postgres import PostgresServer
from jitflow.sandbox.servers.setup_api import SetupApi
from jitflow.sandbox.servers.vault_database import (
    DATABASE_MOUNT,
    DATABASE_ROLE,
    configure_database,
)

TOKEN_ROLE = "jitflow-grant"  # noqa: S105 (a role name)
RUN_ROLE = "jitflow-run"  # each sync run's heartbeat token
RUN_PERIOD = "15s"
RUNNER_POLICY = "jitflow-runner"
SSH_MOUNT = "ssh"
SSH_ROLE = "jitflow-user"
IDENTITY_MOUNT = "userpass"
GROUP = "jitflow-oncall"
GROUP_POLICY = "jitflow-oncall-admin"
PKI_MOUNT = "pki"  # `secret` grants: short-lived X.509 client certificates
PKI_ROLE = "jitflow-client"
PKI_POLICY = "jitflow-pki-client"
PKI_DOMAIN = "clients.example.test"
JWT_MOUNT = "jwt"
LEDGER_MOUNT = "jitflow-ledger"  # an SSH CA that certifies the runner's signing keys only
LEDGER_ROLE = "sync"
LEDGER_PRINCIPAL = "jitflow-ledger"
LEDGER_KV = "jitflow-kv"  # KV v2, written by the runner only: the ledger anchor
JWT_ROLE = "jitflow-sync"
AUDIENCE = "vault"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
USERS = ("alice", "bob", "carol")
EXAMPLE_POLICIES: Mapping[str, str] = {
    "jitflow-readonly": 'path "secret/data/*" { capabilities = ["read", "list"] }\n',
    "jitflow-admin": 'path "secret/*" { capabilities = ["create", "read", "update", "delete", '
    '"list"] }\n',
    GROUP_POLICY: 'path "secret/data/oncall/*" { capabilities = ["read"] }\n',
}


def runner_policy_hcl(
    *, token_role: str = TOKEN_ROLE, ssh_mount: str = SSH_MOUNT, group_prefix: str = "jitflow-"
) -> str:
    """What the runner (`jitflow sync`) may do, and nothing more."""
    return f"""\
# issue grants: anchor tokens only through the jitflow token role
path "auth/token/create/{token_role}" {{ capabilities = ["create", "update"] }}
# each run's heartbeat: while it lives, other runs leave the run's unrecorded tokens alone
path "auth/token/create/{RUN_ROLE}" {{ capabilities = ["create", "update"] }}
# revoke and confirm by accessor; list accessors for orphans and large batches (needs sudo)
path "auth/token/revoke-accessor" {{ capabilities = ["update"] }}
path "auth/token/lookup-accessor" {{ capabilities = ["update"] }}
path "auth/token/accessors" {{ capabilities = ["list", "sudo"] }}
path "sys/leases/revoke" {{ capabilities = ["update"] }}
path "auth/token/lookup-self" {{ capabilities = ["read"] }}
# extend grants in place: renew an anchor token by accessor, and its lease
path "auth/token/renew-accessor" {{ capabilities = ["update"] }}
path "sys/leases/renew" {{ capabilities = ["update"] }}
# deliver secrets as single-use wrapping tokens
path "sys/wrapping/wrap" {{ capabilities = ["update"] }}
# ssh certificates
path "{ssh_mount}/sign/*" {{ capabilities = ["create", "update"] }}
# identity-group grants: find entities, edit jitflow-managed groups
path "sys/auth" {{ capabilities = ["read"] }}
path "identity/lookup/entity" {{ capabilities = ["update"] }}
path "identity/group/name/{group_prefix}*" {{ capabilities = ["read", "update"] }}
# sign this run's ledger commits (a CA of its own, one principal) and anchor the ledger tip
path "{LEDGER_MOUNT}/sign/{LEDGER_ROLE}" {{ capabilities = ["create", "update"] }}
path "{LEDGER_MOUNT}/config/ca" {{ capabilities = ["read"] }}
path "{LEDGER_KV}/data/ledger-anchor*" {{ capabilities = ["create", "update", "read"] }}
# outbound delivery's secrets (HMAC keys, HEC tokens): read only; its marks sit by the anchor
path "{LEDGER_KV}/data/outbound/*" {{ capabilities = ["read"] }}
"""


@dataclass(frozen=True)
class DevVaultSetup:
    """What `configure_dev_vault` created (no secrets)."""

    token_role: str
    runner_policy: str
    grantable_policies: tuple[str, ...]
    ssh_mount: str
    ssh_role: str
    ssh_ca_public_key: str
    identity_mount: str
    identity_mount_accessor: str
    entity_ids: Mapping[str, str]
    group: str
    group_id: str
    database_mount: str | None = None
    database_role: str | None = None
    database_policy: str | None = None
    jwt_mount: str | None = None
    jwt_role: str | None = None
    audience: str = AUDIENCE
    repository: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)
    ledger_ca_public_key: str = ""
    pki_mount: str = PKI_MOUNT
    pki_role: str = PKI_ROLE
    pki_policy: str = PKI_POLICY
    pki_ca_pem: str = ""

    @property
    def allowed_signers(self) -> str:
        """The `.jitflow/allowed_signers` line that trusts the ledger CA."""
        return allowed_signers_line(self.ledger_ca_public_key)


def configure_dev_vault(
    addr: str,
    root_token: str,
    *,
    postgres: PostgresServer | None = None,
    jwt_public_key_pem: str | None = None,
    repository: str = "example-org/access",
    audience: str = AUDIENCE,
    token_max_ttl: str = "24h",  # noqa: S107 (a duration)
    run_period: str = RUN_PERIOD,
) -> DevVaultSetup:
    """Create policies, roles, engines, entities and auth methods on a fresh server."""
    api = SetupApi(addr, root_token)
    for name, hcl in EXAMPLE_POLICIES.items():
        api.write(f"sys/policies/acl/{name}", {"policy": hcl})
    api.write(f"sys/policies/acl/{RUNNER_POLICY}", {"policy": runner_policy_hcl()})
    grantable = [*EXAMPLE_POLICIES, PKI_POLICY]
    pki_ca = configure_pki(api)

    db_policy: str | None = None
    if postgres is not None:
        db_policy = configure_database(api, postgres)
        grantable.append(db_policy)

    write_token_role(api, TOKEN_ROLE, grantable, token_max_ttl)
    configure_run_role(api, run_period)
    ca_key = _configure_ssh(api)
    ledger_ca = configure_ledger_signing(api)
    accessor, entity_ids, group_id = _configure_identity(api)
    if jwt_public_key_pem is not None:
        _configure_jwt(api, jwt_public_key_pem, repository=repository, audience=audience)
    return DevVaultSetup(
        token_role=TOKEN_ROLE,
        runner_policy=RUNNER_POLICY,
        grantable_policies=tuple(grantable),
        ssh_mount=SSH_MOUNT,
        ssh_role=SSH_ROLE,
        ssh_ca_public_key=ca_key,
        identity_mount=IDENTITY_MOUNT,
        identity_mount_accessor=accessor,
        entity_ids=entity_ids,
        group=GROUP,
        group_id=group_id,
        database_mount=DATABASE_MOUNT if postgres is not None else None,
        database_role=DATABASE_ROLE if postgres is not None else None,
        database_policy=db_policy,
        jwt_mount=JWT_MOUNT if jwt_public_key_pem is not None else None,
        jwt_role=JWT_ROLE if jwt_public_key_pem is not None else None,
        audience=audience,
        repository=repository,
        ledger_ca_public_key=ledger_ca,
        pki_ca_pem=pki_ca,
    )


def write_token_role(
    api: SetupApi, role: str, allowed_policies: Sequence[str], max_ttl: str
) -> None:
    """The token role grants are issued under: orphan service tokens of these policies."""
    api.write(
        f"auth/token/roles/{role}",
        {
            "allowed_policies": list(allowed_policies),
            "orphan": True,
            "token_type": "service",
            # renewable so the runner can extend a grant in place; each token says whether it
            # is (only under a policy that allows extensions) and its holder can't renew it
            "renewable": True,
            "token_explicit_max_ttl": max_ttl,
        },
    )


def configure_run_role(api: SetupApi, period: str = RUN_PERIOD) -> None:
    """The role of each sync run's heartbeat: periodic, renewable, the `default` policy only
    (which lets a token renew and revoke itself), capped at the runner login's lifetime."""
    api.write(
        f"auth/token/roles/{RUN_ROLE}",
        {
            "allowed_policies": ["default"],
            "orphan": True,
            "token_type": "service",
            "renewable": True,
            "token_period": period,
            "token_explicit_max_ttl": "2h",
        },
    )


def allowed_signers_line(ca_public_key: str) -> str:
    return f'{LEDGER_PRINCIPAL} cert-authority,namespaces="git" {ca_public_key.strip()}\n'


def configure_ledger_signing(api: SetupApi) -> str:
    """The ledger CA, its one role and the anchor's KV mount; returns the CA public key."""
    api.write(f"sys/mounts/{LEDGER_MOUNT}", {"type": "ssh"})
    ca = api.write(
        f"{LEDGER_MOUNT}/config/ca", {"generate_signing_key": True, "key_type": "ed25519"}
    )
    api.write(
        f"{LEDGER_MOUNT}/roles/{LEDGER_ROLE}",
        {
            "key_type": "ca",
            "allow_user_certificates": True,
            "allowed_users": LEDGER_PRINCIPAL,
            "default_user": LEDGER_PRINCIPAL,
            "allowed_extensions": "",
            "ttl": "1h",
            "max_ttl": "2h",
            "not_before_duration": "30s",
        },
    )
    api.write(f"sys/mounts/{LEDGER_KV}", {"type": "kv", "options": {"version": "2"}})
    return str(ca["data"]["public_key"]).strip()


def configure_pki(api: SetupApi) -> str:
    """A PKI engine issuing client certificates to grant tokens (docs/vault-setup.md step 9);
    returns the CA certificate (PEM)."""
    api.write(f"sys/mounts/{PKI_MOUNT}", {"type": "pki", "config": {"max_lease_ttl": "87600h"}})
    root = api.write(
        f"{PKI_MOUNT}/root/generate/internal",
        {"common_name": "jitflow test CA", "ttl": "87600h", "key_type": "ec", "key_bits": 256},
    )
    api.write(
        f"{PKI_MOUNT}/roles/{PKI_ROLE}",
        {
            "allowed_domains": PKI_DOMAIN,
            "allow_subdomains": True,
            "client_flag": True,
            "server_flag": False,
            "key_type": "ec",
            "key_bits": 256,
            "ttl": "1h",
            "max_ttl": "24h",
            "not_before_duration": "30s",
            "generate_lease": True,
        },
    )
    hcl = f'path "{PKI_MOUNT}/issue/{PKI_ROLE}" {{ capabilities = ["create", "update"] }}\n'
    api.write(f"sys/policies/acl/{PKI_POLICY}", {"policy": hcl})
    return str(root["data"]["certificate"]).strip() + "\n"


def _configure_ssh(api: SetupApi) -> str:
    api.write(f"sys/mounts/{SSH_MOUNT}", {"type": "ssh"})
    ca = api.write(f"{SSH_MOUNT}/config/ca", {"generate_signing_key": True, "key_type": "ed25519"})
    api.write(
        f"{SSH_MOUNT}/roles/{SSH_ROLE}",
        {
            "key_type": "ca",
            "allow_user_certificates": True,
            "allowed_users": "*",
            "allow_user_key_ids": True,  # jitflow names each certificate before signing it
            "default_extensions": {"permit-pty": ""},
            "allowed_extensions": "permit-pty,permit-port-forwarding",
            "ttl": "1h",
            "max_ttl": "24h",
            "not_before_duration": "1s",
        },
    )
    return str(ca["data"]["public_key"])


def _configure_identity(api: SetupApi) -> tuple[str, dict[str, str], str]:
    api.write(f"sys/auth/{IDENTITY_MOUNT}", {"type": "userpass"})
    accessor = str(api.read("sys/auth")["data"][f"{IDENTITY_MOUNT}/"]["accessor"])
    entity_ids: dict[str, str] = {}
    for user in USERS:
        api.write(f"auth/{IDENTITY_MOUNT}/users/{user}", {"password": secrets.token_urlsafe(18)})
        entity = api.write("identity/entity", {"name": user})
        entity_id = str(entity["data"]["id"])
        api.write(
            "identity/entity-alias",
            {"name": user, "canonical_id": entity_id, "mount_accessor": accessor},
        )
        entity_ids[user] = entity_id
    group = api.write(
        "identity/group", {"name": GROUP, "type": "internal", "policies": [GROUP_POLICY]}
    )
    return accessor, entity_ids, str(group["data"]["id"])


def _configure_jwt(api: SetupApi, public_key_pem: str, *, repository: str, audience: str) -> None:
    api.write(f"sys/auth/{JWT_MOUNT}", {"type": "jwt"})
    api.write(
        f"auth/{JWT_MOUNT}/config",
        {"jwt_validation_pubkeys": [public_key_pem], "bound_issuer": GITHUB_ISSUER},
    )
    workflow = f"{repository}/.github/workflows/sync.yml@refs/heads/main"
    api.write(
        f"auth/{JWT_MOUNT}/role/{JWT_ROLE}",
        {
            "role_type": "jwt",
            "user_claim": "sub",
            "bound_audiences": [audience],
            "bound_subject": f"repo:{repository}:environment:jitflow",
            "bound_claims_type": "glob",
            "bound_claims": {
                "repository": repository,
                "ref": "refs/heads/main",
                "environment": "jitflow",
                "workflow_ref": workflow,
                "job_workflow_ref": workflow,
                "event_name": ["push", "schedule", "workflow_dispatch"],
            },
            "token_policies": [RUNNER_POLICY],
            "token_ttl": "1h",
            "token_max_ttl": "2h",
            "token_type": "service",
        },
    )
