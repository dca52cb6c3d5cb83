"""Login takeover after a GitHub rename: when a user renames their account, GitHub frees the
old login and anyone may register it; GitHub then reports the newcomer's PRs and reviews under
that login. policies/groups.yaml pins each login to the account id it meant, so a newcomer
holding a group member's old login is neither an approver nor a requester.
Each test costs one OpenBao world and one sync (~10 s)."""

from __future__ import annotations

from jitflow.sandbox.github_standin.accounts import first_id
from tests.sync.conftest import World
from tests.sync.observe import active_grant, archived, vault_tokens


def _denial(world: World, request_id: str) -> list[dict[str, str]]:
    assert active_grant(world, request_id) is None
    assert request_id not in vault_tokens(world.vault)
    [record] = [r for r in archived(world, request_id) if r["ended"]["reason"] == "denied"]
    findings: list[dict[str, str]] = record["ended"]["findings"]
    return findings


def test_a_stranger_holding_an_approvers_old_login_does_not_approve(world: World) -> None:
    world.standin.rename_user("bob", "bob-at-acme")
    world.standin.add_user("bob")  # a stranger registers the freed login
    request_id, number = world.request()
    world.standin.submit_review(number, "bob", "APPROVE")
    world.standin.merge_pull(number, "alice")
    world.sync()
    findings = _denial(world, request_id)
    [finding] = findings
    assert finding["code"] == "approvals-missing"
    pinned = f"not account {first_id('bob')} that policies/groups.yaml pins for @bob"
    assert pinned in finding["message"]


def test_a_stranger_holding_a_requesters_old_login_cannot_request(world: World) -> None:
    world.standin.rename_user("alice", "alice-at-acme")
    world.standin.add_user("alice")  # a stranger registers the freed login
    request_id, number = world.request(author="alice")
    world.standin.submit_review(number, "bob", "APPROVE")
    world.standin.merge_pull(number, "bob")
    world.sync()
    [finding] = [f for f in _denial(world, request_id) if f["code"] == "requester-not-eligible"]
    assert f"not account {first_id('alice')} that policies/groups.yaml pins" in finding["message"]
