"""`github-team:org/slug` approvers in sync's own decision: resolved, and failing closed."""

from __future__ import annotations

import pytest

from jitflow.adapters.vault import VaultGateway
from tests.standin_helpers import github_ids
from tests.sync.conftest import OWNER, World
from tests.sync.helpers_feat import archived, comment_bodies, push_to_main

TEAM = f"github-team:{OWNER}/leads"


@pytest.fixture
def team_world(world: World) -> World:
    """The leads group is a GitHub team (bob in it, carol not); the bot can't read teams."""
    push_to_main(
        world,
        {
            "policies/groups.yaml": f'sre: [alice, carol]\nleads: ["{TEAM}"]\n'.encode()
            + github_ids("alice", "carol").encode()
        },
        "Approvers are the leads team",
    )
    world.standin.add_team(OWNER, "leads", ["bob"])
    return world


def _with_teams_token(world: World) -> World:
    reader = world.standin.add_user("teams-reader", can_read_org=True)
    world.env["JITFLOW_TEAMS_TOKEN"] = reader
    return world


def test_approval_by_a_team_member_issues(team_world: World) -> None:
    world = _with_teams_token(team_world)
    request_id, _ = world.approved_merge()  # bob, a member of the leads team, approves
    world.sync()
    assert world.main_file(f"requests/active/{request_id}.yaml") is not None
    vault = VaultGateway.from_env(world.env)
    assert [t.request_id for t in vault.list_jitflow_tokens()].count(request_id) == 1


def test_approval_by_a_non_member_is_denied(team_world: World) -> None:
    world = _with_teams_token(team_world)
    request_id, number = world.request()
    world.standin.submit_review(number, "carol", "APPROVE")  # readable team, carol not in it
    world.standin.merge_pull(number, "carol")
    world.sync()
    ended = archived(world, request_id)["ended"]
    assert ended["reason"] == "denied"
    codes = [f["code"] for f in ended["findings"]]
    assert "approvals-missing" in codes and "team-membership-unavailable" not in codes


def test_unreadable_team_counts_as_empty_and_the_denial_names_it(team_world: World) -> None:
    world = team_world  # no JITFLOW_TEAMS_TOKEN: the workflow token can't read teams
    request_id, number = world.approved_merge()
    world.sync()
    assert world.main_file(f"requests/active/{request_id}.yaml") is None
    ended = archived(world, request_id)["ended"]
    assert ended["reason"] == "denied"
    [team] = [f for f in ended["findings"] if f["code"] == "team-membership-unavailable"]
    assert TEAM in team["message"] and "JITFLOW_TEAMS_TOKEN" in team["message"]
    assert any(f["code"] == "approvals-missing" for f in ended["findings"])
    vault = VaultGateway.from_env(world.env)
    assert [t for t in vault.list_jitflow_tokens() if t.request_id == request_id] == []
    assert any(TEAM in b and "denied" in b for b in comment_bodies(world, number))
