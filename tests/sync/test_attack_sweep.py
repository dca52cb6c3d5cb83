"""Variants of issue #10's attacks, tried at sync through the stand-in, OpenBao and `audit
verify`: other merge methods for the policy-loosening PR, reviews that stop counting before
the merge (change requested, dismissed, a stale approval of other bytes), a request edited by
a later PR, an id reused by a second PR, a PR merged into another branch and brought to main
by a second PR. Each must issue nothing and record a denial."""

from __future__ import annotations

from tests.sync.conftest import World
from tests.sync.merge_paths import (
    attack_steps,
    commit_steps,
    new_id,
    request_body,
    soon,
    verify_clean,
)
from tests.sync.observe import active_grant, archived, events, vault_tokens


def _denied(world: World, request_id: str) -> list[str]:
    assert active_grant(world, request_id) is None
    assert request_id not in vault_tokens(world.vault)
    [record] = [r for r in archived(world, request_id) if r["ended"]["reason"] == "denied"]
    return [f["code"] for f in record["ended"]["findings"]]


def _open(
    world: World, steps: list[dict[str, bytes | None]], base: str = "main"
) -> tuple[str, int]:
    request_id = new_id()
    files = [{k.replace("ID", request_id): v for k, v in step.items()} for step in steps]
    commit_steps(world, f"req/{request_id}", files, base=f"origin/{base}")
    return request_id, world.standin.create_pull("alice", f"req/{request_id}", base=base)


def test_the_policy_loosening_pr_squash_merged_is_judged_by_mains_policy(world: World) -> None:
    request_id = new_id()
    commit_steps(world, f"req/{request_id}", attack_steps(request_id))
    number = world.standin.create_pull("alice", f"req/{request_id}")
    world.standin.merge_pull(number, "alice", method="squash")
    world.sync()
    codes = _denied(world, request_id)
    assert "approvals-missing" in codes or "duration-over-max" in codes, codes
    verify_clean(world)


def test_the_policy_loosening_pr_through_the_merge_queue_is_judged_by_mains_policy(
    world: World,
) -> None:
    request_id = new_id()
    commit_steps(world, f"req/{request_id}", attack_steps(request_id))
    number = world.standin.create_pull("alice", f"req/{request_id}")
    world.standin.merge_queue([number], "alice", method="squash")
    world.sync()
    codes = _denied(world, request_id)
    assert "approvals-missing" in codes or "duration-over-max" in codes, codes
    verify_clean(world)


def test_changes_requested_after_the_approval_blocks_the_merged_request(world: World) -> None:
    request_id, number = _open(world, [{"requests/ID.yaml": request_body()}])
    world.standin.submit_review(number, "bob", "APPROVE")
    world.standin.submit_review(number, "bob", "REQUEST_CHANGES", body="not during the freeze")
    world.standin.merge_pull(number, "alice")  # an admin merges anyway
    world.sync()
    assert "approvals-missing" in _denied(world, request_id)
    verify_clean(world)


def test_a_dismissed_approval_does_not_count(world: World) -> None:
    request_id, number = _open(world, [{"requests/ID.yaml": request_body()}])
    review = world.standin.submit_review(number, "bob", "APPROVE")
    world.standin.dismiss_review(number, review, "approved the wrong PR")
    world.standin.merge_pull(number, "alice")
    world.sync()
    assert "approvals-missing" in _denied(world, request_id)
    verify_clean(world)


def test_an_approval_of_the_request_before_it_was_widened_does_not_count(world: World) -> None:
    request_id, number = _open(world, [{"requests/ID.yaml": request_body(duration="30m")}])
    world.standin.submit_review(number, "bob", "APPROVE")
    commit_steps(
        world,
        f"req/{request_id}",
        [{f"requests/{request_id}.yaml": request_body(duration="2h")}],
        base=f"origin/req/{request_id}",
    )
    assert world.standin.pull(number)["commits"] == 2
    world.standin.merge_pull(number, "alice")  # stale approvals are not dismissed here
    world.sync()
    assert "approvals-missing" in _denied(world, request_id)
    verify_clean(world)


def test_a_waiting_request_edited_by_a_later_pr_is_denied(world: World) -> None:
    start = soon(120)
    request_id, number = _open(world, [{"requests/ID.yaml": request_body(start=start)}])
    world.standin.submit_review(number, "bob", "APPROVE")
    world.standin.merge_pull(number, "bob")
    world.sync()  # approved, waiting for its start
    path = f"requests/{request_id}.yaml"
    commit_steps(world, f"edit/{request_id}", [{path: request_body(duration="2h")}])
    later = world.standin.create_pull("alice", f"edit/{request_id}")
    world.standin.submit_review(later, "bob", "APPROVE")
    world.standin.merge_pull(later, "alice")
    world.sync("--now", start.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert "edited-after-merge" in _denied(world, request_id)
    assert events(world, request_id) == ["deny"]


def test_an_id_reused_by_a_second_pr_after_the_first_was_issued_is_denied(world: World) -> None:
    request_id, number = _open(world, [{"requests/ID.yaml": request_body()}])
    world.standin.submit_review(number, "bob", "APPROVE")
    world.standin.merge_pull(number, "bob")
    world.sync()
    first = active_grant(world, request_id)
    assert first is not None
    path = f"requests/{request_id}.yaml"
    commit_steps(world, f"again/{request_id}", [{path: request_body(duration="2h")}])
    again = world.standin.create_pull("alice", f"again/{request_id}")
    world.standin.submit_review(again, "bob", "APPROVE")
    world.standin.merge_pull(again, "bob")
    world.sync()
    assert active_grant(world, request_id) == first  # the first grant, untouched
    assert len(vault_tokens(world.vault)[request_id]) == 1
    reused = [p for p in world.main_paths("requests/archive/") if f"/{request_id}.reused-" in p]
    assert len(reused) == 1  # the denial, at a path of its own
    assert world.main_file(f"requests/{request_id}.yaml") is None
    verify_clean(world)


def test_a_request_merged_into_a_branch_then_brought_by_an_approved_pr_is_judged_there(
    world: World,
) -> None:
    """alice lands the loosening attack in an unprotected branch, then opens a PR of that
    branch into main whose net change is only the request; bob approves what he sees."""
    git = world.requester
    git.run("fetch", "--quiet", "origin")
    git.run("push", "--quiet", "origin", "origin/main:refs/heads/dev")
    request_id = new_id()
    commit_steps(world, f"req/{request_id}", attack_steps(request_id), base="origin/dev")
    into_dev = world.standin.create_pull("alice", f"req/{request_id}", base="dev")
    world.standin.merge_pull(into_dev, "alice", method="rebase")
    to_main = world.standin.create_pull("alice", "dev")
    world.standin.submit_review(to_main, "bob", "APPROVE")
    world.standin.merge_pull(to_main, "bob")
    world.sync()
    # judged as the dev->main PR, from main's policy (2h at most): the 8h request is denied
    assert "duration-over-max" in _denied(world, request_id)
    verify_clean(world)


def test_an_approval_given_while_the_pr_targeted_another_branch_does_not_count(
    world: World,
) -> None:
    """alice puts a request on `release` (unprotected, unjudged) and opens a PR into release
    from a branch on top of it: bob sees only a second, harmless request in its diff and
    approves. alice then retargets the PR to main, where its diff adds both, and merges it."""
    hidden, shown = new_id(), new_id()
    commit_steps(world, "release", [{f"requests/{hidden}.yaml": request_body()}])
    steps = [{f"requests/{shown}.yaml": request_body()}]
    commit_steps(world, f"req/{shown}", steps, base="origin/release")
    number = world.standin.create_pull("alice", f"req/{shown}", base="release")
    assert world.standin.pull(number)["changed_files"] == 1  # what bob was shown
    world.standin.submit_review(number, "bob", "APPROVE")
    world.standin.change_base(number, "main", "alice")
    assert world.standin.pull(number)["changed_files"] == 2
    world.standin.merge_pull(number, "alice")
    world.sync()
    assert "approvals-missing" in _denied(world, hidden)
    assert "approvals-missing" in _denied(world, shown)
    verify_clean(world)
