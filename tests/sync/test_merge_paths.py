"""Issue #10, hole 1: the policies that decide are main's just before the PR landed, for
every merge method, and main must contain GitHub's merge_commit_sha. Through PyGithub, the
stand-in, OpenBao and `audit verify`."""

from __future__ import annotations

from jitflow.adapters.git import Git
from tests.sync.conftest import World
from tests.sync.merge_paths import (
    attack_steps,
    commit_steps,
    new_id,
    request_body,
    verify_clean,
)
from tests.sync.observe import active_grant, archived, events, vault_tokens


def _denied_with(world: World, request_id: str, code: str | None = None) -> list[str]:
    assert active_grant(world, request_id) is None
    assert request_id not in vault_tokens(world.vault)
    [record] = archived(world, request_id)
    assert record["ended"]["reason"] == "denied"
    codes = [f["code"] for f in record["ended"]["findings"]]
    if code is not None:
        assert code in codes, codes
    return codes


def test_rebase_merge_takes_the_policies_from_before_the_pr_not_from_its_first_commit(
    world: World,
) -> None:
    request_id = new_id()
    commit_steps(world, f"req/{request_id}", attack_steps(request_id))
    number = world.standin.create_pull("alice", f"req/{request_id}")
    merged = world.standin.merge_pull(number, "alice", method="rebase")
    assert world.standin.pull(number)["merge_commit_sha"] == merged
    world.sync()
    codes = _denied_with(world, request_id)
    assert "approvals-missing" in codes or "duration-over-max" in codes, codes
    verify_clean(world)


def test_fast_forward_push_of_the_pr_head_is_judged_from_before_the_pr(world: World) -> None:
    request_id = new_id()
    commit_steps(world, f"req/{request_id}", attack_steps(request_id))
    number = world.standin.create_pull("alice", f"req/{request_id}")
    world.requester.run("push", "--quiet", "origin", f"req/{request_id}:main")
    pull = world.standin.pull(number)
    assert pull["merged"] and pull["merge_commit_sha"] == pull["head"]["sha"]
    world.sync()
    _denied_with(world, request_id)
    verify_clean(world)


def test_an_approved_one_commit_rebase_merge_is_issued(world: World) -> None:
    request_id = new_id()
    commit_steps(world, f"req/{request_id}", [{f"requests/{request_id}.yaml": request_body()}])
    number = world.standin.create_pull("alice", f"req/{request_id}")
    world.standin.submit_review(number, "bob", "APPROVE")
    merged = world.standin.merge_pull(number, "bob", method="rebase")
    world.sync()
    grant = active_grant(world, request_id)
    assert grant is not None and grant["merge_commit"] == merged
    assert grant["policy_commit"] == Git(world.bare).rev_parse(f"{merged}^")
    verify_clean(world)


def test_merge_queue_entries_are_each_judged_from_the_commit_before_them(world: World) -> None:
    first, first_pr = world.request()
    second, second_pr = world.request()
    for number in (first_pr, second_pr):
        world.standin.submit_review(number, "bob", "APPROVE")
    shas = world.standin.merge_queue([first_pr, second_pr], "bob")
    assert [world.standin.pull(n)["merge_commit_sha"] for n in (first_pr, second_pr)] == shas
    world.sync()
    git = Git(world.bare)
    for request_id, sha in zip((first, second), shas, strict=True):
        grant = active_grant(world, request_id)
        assert grant is not None and grant["merge_commit"] == sha
        assert grant["policy_commit"] == git.rev_parse(f"{sha}^1")
    verify_clean(world)


def test_a_pr_merged_into_another_branch_and_pushed_to_main_is_denied(world: World) -> None:
    git = world.requester
    git.run("fetch", "--quiet", "origin")
    git.run("push", "--quiet", "origin", "origin/main:refs/heads/staging")
    request_id = new_id()
    commit_steps(
        world,
        f"req/{request_id}",
        [{f"requests/{request_id}.yaml": request_body()}],
        base="origin/staging",
    )
    number = world.standin.create_pull("alice", f"req/{request_id}", base="staging")
    world.standin.submit_review(number, "bob", "APPROVE")
    world.standin.merge_pull(number, "bob")
    git.run("fetch", "--quiet", "origin")
    git.run("push", "--quiet", "origin", "origin/staging:main")
    world.sync()
    _denied_with(world, request_id, "not-into-protected-branch")
    assert events(world, request_id) == ["deny"]
    verify_clean(world)


def test_an_approved_two_commit_rebase_merge_is_issued_and_verifies_clean(world: World) -> None:
    """A legit rebase of several commits (the requester fixed the duration in a second
    commit): sync records GitHub's merge_commit_sha and the commit below the PR, and audit
    verify accepts that landing instead of flagging the commit that first added the file."""
    request_id = new_id()
    path = f"requests/{request_id}.yaml"
    commit_steps(
        world,
        f"req/{request_id}",
        [{path: request_body(duration="2h")}, {path: request_body(duration="30m")}],
    )
    number = world.standin.create_pull("alice", f"req/{request_id}")
    world.standin.submit_review(number, "bob", "APPROVE")
    merged = world.standin.merge_pull(number, "bob", method="rebase")
    world.sync()
    grant = active_grant(world, request_id)
    assert grant is not None and grant["merge_commit"] == merged
    assert grant["policy_commit"] == Git(world.bare).rev_parse(f"{merged}~2")
    verify_clean(world)
