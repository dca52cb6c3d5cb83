"""Looking at a sync's results from the outside: main in the bare repo, and Vault as root."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jitflow.adapters.git import Git
from jitflow.adapters.vault import VaultGateway
from jitflow.core.history import parse_trailers
from jitflow.core.times import format_time
from jitflow.core.yamlio import load_yaml
from tests.conftest_servers import JitflowVault
from tests.sync.conftest import World


def active_grant(world: World, request_id: str) -> dict[str, Any] | None:
    """The `grant:` block of the active record on main, or None when not active."""
    content = world.main_file(f"requests/active/{request_id}.yaml")
    if content is None:
        return None
    grant: dict[str, Any] = load_yaml(content, "active.yaml").data["grant"]
    return grant


def archived(world: World, request_id: str) -> list[dict[str, Any]]:
    """Every archive record of `request_id` on main, parsed."""
    paths = [p for p in world.main_paths("requests/archive/") if p.endswith(f"/{request_id}.yaml")]
    return [load_yaml(world.main_file(p) or b"", p).data for p in paths]


def ledger_trailers(world: World, request_id: str) -> list[dict[str, str]]:
    """Trailers of the runner's commits about `request_id` on main, oldest first."""
    log = Git(world.bare).run("log", "--reverse", "--format=%B%x00", "main")
    found = [parse_trailers(message) for message in log.split("\0")]
    return [t for t in found if t.get("jitflow-request") == request_id]


def events(world: World, request_id: str) -> list[str]:
    return [t["jitflow-event"] for t in ledger_trailers(world, request_id)]


def vault_tokens(vault: JitflowVault) -> dict[str, list[str]]:
    """Live jitflow tokens in Vault (read as root, not through the runner), by request id."""
    found: dict[str, list[str]] = {}
    for info in VaultGateway(vault.addr, vault.root_token).list_jitflow_tokens():
        found.setdefault(info.request_id or "", []).append(info.accessor)
    return found


def live_accessors(vault: JitflowVault) -> set[str]:
    return {accessor for accessors in vault_tokens(vault).values() for accessor in accessors}


def revoke_leftovers(vault: JitflowVault) -> None:
    """End every jitflow token a test left behind, so the next test starts clean."""
    from jitflow.adapters.vault import GrantHandle
    from jitflow.core.model import GrantKind

    root = VaultGateway(vault.addr, vault.root_token)
    handles = [
        GrantHandle(request_id, GrantKind.VAULT_TOKEN, accessor)
        for request_id, accessors in vault_tokens(vault).items()
        for accessor in accessors
    ]
    root.revoke_many(handles)


def later(minutes: int) -> str:
    """A `--now` value `minutes` from now."""
    return format_time(datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=minutes))
