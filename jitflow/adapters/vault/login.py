"""How the runner gets its Vault token: VAULT_TOKEN, or GitHub Actions OIDC -> JWT auth."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from jitflow.adapters.vault.transport import Transport, VaultApiError
from jitflow.errors import ConfigError, VaultError

DEFAULT_AUDIENCE = "vault"
DEFAULT_JWT_MOUNT = "jwt"
DEFAULT_JWT_ROLE = "jitflow-sync"
DEFAULT_TOKEN_ROLE = "jitflow-grant"  # noqa: S105 (a role name)
DEFAULT_IDENTITY_MOUNT = "github"
DEFAULT_RUN_ROLE = "jitflow-run"


@dataclass(frozen=True)
class VaultSettings:
    """Connection settings read from the environment (the token is never shown)."""

    addr: str
    token: str = field(repr=False)
    namespace: str | None
    verify: bool | str
    token_role: str
    identity_mount: str
    timeout: float = 30.0
    run_role: str = DEFAULT_RUN_ROLE


def timeout_from_env(environ: Mapping[str, str]) -> float:
    """JITFLOW_VAULT_TIMEOUT: seconds to wait for each Vault answer (default 30)."""
    raw = environ.get("JITFLOW_VAULT_TIMEOUT", "").strip()
    if not raw:
        return 30.0
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 600:
        raise ConfigError(
            f"JITFLOW_VAULT_TIMEOUT must be a number of seconds between 0 and 600, not {raw!r}"
        )
    return seconds


def settings_from_env(environ: Mapping[str, str]) -> VaultSettings:
    """Read VAULT_* / JITFLOW_VAULT_* and log in when no token is given."""
    addr = environ.get("VAULT_ADDR") or environ.get("BAO_ADDR") or ""
    if not addr:
        raise ConfigError(
            "VAULT_ADDR is not set: set it to the Vault / OpenBao server URL, "
            "e.g. https://vault.example.com:8200"
        )
    namespace = environ.get("VAULT_NAMESPACE") or None
    verify: bool | str = environ.get("VAULT_CACERT") or True
    token = environ.get("VAULT_TOKEN") or environ.get("BAO_TOKEN") or ""
    if not token:
        token = github_oidc_login(environ, addr=addr, namespace=namespace, verify=verify)
    return VaultSettings(
        addr=addr,
        token=token,
        namespace=namespace,
        verify=verify,
        token_role=environ.get("JITFLOW_VAULT_TOKEN_ROLE") or DEFAULT_TOKEN_ROLE,
        identity_mount=environ.get("JITFLOW_VAULT_IDENTITY_MOUNT") or DEFAULT_IDENTITY_MOUNT,
        timeout=timeout_from_env(environ),
        run_role=environ.get("JITFLOW_VAULT_RUN_ROLE") or DEFAULT_RUN_ROLE,
    )


def fetch_github_id_token(environ: Mapping[str, str], audience: str) -> str:
    """Ask the Actions runtime for an OIDC ID token for `audience`."""
    import requests

    url = environ.get("ACTIONS_ID_TOKEN_REQUEST_URL", "")
    bearer = environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "")
    if not url or not bearer:
        raise ConfigError(
            "no Vault credentials: set VAULT_TOKEN, or run in GitHub Actions with "
            "`permissions: id-token: write` so that jitflow can log in with OIDC"
        )
    separator = "&" if "?" in url else "?"
    try:
        response = requests.get(
            f"{url}{separator}audience={quote(audience, safe='')}",
            headers={"Authorization": f"bearer {bearer}", "Accept": "application/json"},
            timeout=30,
        )
    except requests.RequestException as exc:
        raise VaultError(
            "could not fetch the GitHub Actions OIDC token from ACTIONS_ID_TOKEN_REQUEST_URL: "
            f"{type(exc).__name__}"
        ) from exc
    if response.status_code != 200:
        raise VaultError(
            "the GitHub Actions OIDC token request was refused "
            f"({response.status_code}); check the job has `permissions: id-token: write`"
        )
    try:
        value = response.json()["value"]
    except (ValueError, KeyError, TypeError) as exc:
        raise VaultError("the GitHub Actions OIDC token response had no `value`") from exc
    if not isinstance(value, str) or not value:
        raise VaultError("the GitHub Actions OIDC token response had an empty `value`")
    return value


def github_oidc_login(
    environ: Mapping[str, str], *, addr: str, namespace: str | None, verify: bool | str
) -> str:
    """Exchange the workflow's OIDC token for a Vault token through the JWT auth method."""
    audience = environ.get("JITFLOW_VAULT_AUDIENCE") or DEFAULT_AUDIENCE
    mount = (environ.get("JITFLOW_VAULT_JWT_MOUNT") or DEFAULT_JWT_MOUNT).strip("/")
    role = environ.get("JITFLOW_VAULT_ROLE") or DEFAULT_JWT_ROLE
    id_token = fetch_github_id_token(environ, audience)
    transport = Transport(
        addr, "", namespace=namespace, verify=verify, timeout=timeout_from_env(environ)
    )
    transport.forget_secret_later(id_token)
    try:
        answer = transport.call("POST", f"auth/{mount}/login", {"role": role, "jwt": id_token})
    except VaultApiError as exc:
        if exc.transient:
            raise
        raise VaultError(
            f"Vault at {addr} refused the GitHub OIDC login with role {role!r} on auth/{mount} "
            f"({exc.status}: {'; '.join(exc.errors) or 'no details'}). The workflow must run "
            "on refs/heads/main in the `jitflow` environment of the bound repository, and "
            f"request audience {audience!r} (JITFLOW_VAULT_AUDIENCE)"
        ) from exc
    token = ((answer or {}).get("auth") or {}).get("client_token")
    if not isinstance(token, str) or not token:
        raise VaultError(f"Vault at {addr} answered the OIDC login without a token")
    return token
