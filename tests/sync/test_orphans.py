"""Tokens left by syncs that died after Vault and before git: replaced once, never two."""

from __future__ import annotations

from dataclasses import replace

from jitflow.adapters.git import Git
from jitflow.adapters.github import GitHubGateway, settings_from_env
from jitflow.adapters.vault import GrantOrder, IssuedGrant, VaultGateway
from jitflow.usecases.sync.decide import decide
from jitflow.usecases.sync.recording import order_for
from jitflow.usecases.sync.state import read_state
from tests.sync.conftest import World
from tests.sync.observe import active_grant, events, vault_tokens


def _order(world: World, request_id: str) -> GrantOrder:
    """What a sync orders from Vault for the pending `request_id`."""
    git = world.runner
    git.run("fetch", "--quiet", "origin")
    state = read_state(git, git.rev_parse("origin/main"))
    with GitHubGateway(
        replace(settings_from_env(world.env), backoff=0.01, min_write_interval=0.0)
    ) as github:
        verdict = decide(git, github, request_id, state.added_by[request_id])
    return order_for(verdict)


def _issue_like_a_dead_sync(world: World, order: GrantOrder) -> IssuedGrant:
    """A sync's Vault side for `order`; the process then dies before it commits."""
    return VaultGateway.from_env(world.env).issue(order)


def _orphan_revoke_bodies(world: World) -> str:
    return Git(world.bare).run("log", "--format=%B", "main", "--grep", "had no record in git")


def test_two_dead_syncs_leave_two_tokens_both_replaced_once(world: World) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    request_id, number = world.approved_merge()
    order = _order(world, request_id)
    first = _issue_like_a_dead_sync(world, order)
    second = _issue_like_a_dead_sync(world, order)
    assert set(vault_tokens(world.vault)[request_id]) == {first.accessor, second.accessor}

    world.sync()

    # neither secret reached the requester: both are revoked, one fresh grant is delivered
    grant = active_grant(world, request_id)
    assert grant is not None and grant["vault"]["accessor"] not in (first.accessor, second.accessor)
    assert grant["pr"] == number
    assert vault_tokens(world.vault)[request_id] == [grant["vault"]["accessor"]]
    assert events(world, request_id) == ["revoke", "revoke", "issue"]
    assert f"accessor {first.accessor}" in _orphan_revoke_bodies(world)
    assert f"accessor {second.accessor}" in _orphan_revoke_bodies(world)


def test_late_orphan_of_an_active_grant_is_revoked_and_the_record_kept(world: World) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    request_id, _ = world.approved_merge()
    order = _order(world, request_id)
    world.sync()
    recorded = world.main_file(f"requests/active/{request_id}.yaml")
    accessor = (active_grant(world, request_id) or {})["vault"]["accessor"]
    # Another sync issued the same request too, lost the race to record it, and died.
    stray = _issue_like_a_dead_sync(world, order)

    world.sync()

    assert world.main_file(f"requests/active/{request_id}.yaml") == recorded
    assert vault_tokens(world.vault)[request_id] == [accessor]
    assert events(world, request_id) == ["issue", "revoke"]
    assert f"accessor {stray.accessor}" in _orphan_revoke_bodies(world)
