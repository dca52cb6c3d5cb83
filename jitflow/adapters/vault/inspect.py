"""Read-only views of Vault configuration for `jitflow doctor` (roles, mounts, policies).

Reads go through the same `Transport` as the runner (hvac stays in this package, errors are
`VaultError`s without tokens); a 404 means "does not exist" and comes back as None.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Unpack
from urllib.parse import quote

from jitflow.adapters.vault.gateway import VaultGateway
from jitflow.adapters.vault.login import (
    DEFAULT_JWT_MOUNT,
    DEFAULT_JWT_ROLE,
    DEFAULT_RUN_ROLE,
    DEFAULT_TOKEN_ROLE,
    settings_from_env,
)
from jitflow.adapters.vault.transport import Transport, VaultApiError, VaultConnection


@dataclass(frozen=True)
class RunnerRoles:
    """The names the runner uses in Vault: its JWT auth mount and role, the token role grants
    are created through, and the role of its heartbeat token."""

    jwt_mount: str = DEFAULT_JWT_MOUNT
    jwt_role: str = DEFAULT_JWT_ROLE
    token_role: str = DEFAULT_TOKEN_ROLE
    run_role: str = DEFAULT_RUN_ROLE


class VaultInspector:
    """Reads the configuration jitflow depends on, with a token allowed to read it."""

    def __init__(
        self,
        addr: str,
        token: str,
        roles: RunnerRoles = RunnerRoles(),
        **connection: Unpack[VaultConnection],
    ) -> None:
        self.addr = addr.rstrip("/")
        self.jwt_mount = roles.jwt_mount.strip("/")
        self.jwt_role = roles.jwt_role
        self.token_role = roles.token_role
        self.run_role = roles.run_role
        quick: VaultConnection = {**connection, "retries": 1}
        quicker: VaultConnection = {**quick, "timeout": 10.0}
        self._transport = Transport(addr, token, **quicker)
        self._gateway = VaultGateway(addr, token, **quick)

    def __repr__(self) -> str:
        return f"VaultInspector(addr={self.addr!r}, token=<redacted>)"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> VaultInspector | None:
        """From VAULT_ADDR and VAULT_TOKEN (and JITFLOW_VAULT_*); None when either is unset."""
        addr = environ.get("VAULT_ADDR") or environ.get("BAO_ADDR") or ""
        token = environ.get("VAULT_TOKEN") or environ.get("BAO_TOKEN") or ""
        if not addr or not token:
            return None  # doctor never logs in with OIDC: it reads with an operator's token
        settings = settings_from_env(environ)
        roles = RunnerRoles(
            jwt_mount=environ.get("JITFLOW_VAULT_JWT_MOUNT") or DEFAULT_JWT_MOUNT,
            jwt_role=environ.get("JITFLOW_VAULT_ROLE") or DEFAULT_JWT_ROLE,
            token_role=settings.token_role,
            run_role=settings.run_role,
        )
        return cls(
            settings.addr,
            settings.token,
            roles,
            namespace=settings.namespace,
            verify=settings.verify,
        )

    def health(self) -> None:
        """Raise a VaultError saying what is wrong when Vault is down, sealed or uninitialised."""
        self._gateway.health()

    def read(self, path: str) -> dict[str, Any] | None:
        """The `data` of a read, or None when nothing is there (404)."""
        try:
            answer = self._transport.call("GET", path)
        except VaultApiError as exc:
            if exc.status == 404:
                return None
            raise
        data = (answer or {}).get("data")
        return dict(data) if isinstance(data, dict) else None

    def mounts(self) -> dict[str, str]:
        """Secrets engine mount path (no trailing slash) -> engine type."""
        data = self.read("sys/mounts") or {}
        return {
            str(path).strip("/"): str(info.get("type") or "")
            for path, info in data.items()
            if isinstance(info, dict)
        }

    def jwt_login_role(self) -> dict[str, Any] | None:
        return self.read(f"auth/{_q(self.jwt_mount)}/role/{_q(self.jwt_role)}")

    def grant_token_role(self) -> dict[str, Any] | None:
        return self.read(f"auth/token/roles/{_q(self.token_role)}")

    def run_token_role(self) -> dict[str, Any] | None:
        return self.read(f"auth/token/roles/{_q(self.run_role)}")

    def policy_texts(self, names: Iterable[str]) -> dict[str, str | None]:
        """The rules of each named ACL policy (None: no such policy)."""
        return {name: self.acl_policy_text(name) for name in names}

    def acl_policy_exists(self, name: str) -> bool:
        return self.read(f"sys/policies/acl/{_q(name)}") is not None

    def acl_policy_text(self, name: str) -> str | None:
        """The rules of an ACL policy (HCL or JSON), or None when there is no such policy."""
        data = self.read(f"sys/policies/acl/{_q(name)}")
        return None if data is None else str(data.get("policy") or "")

    def group(self, name: str) -> dict[str, Any] | None:
        return self.read(f"identity/group/name/{_q(name)}")


def _q(value: str) -> str:
    return quote(value, safe="/")
