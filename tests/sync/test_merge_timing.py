"""Issue #10, holes 4, 5, 10 and 11: what happens between the merge and the issue.

Reviews after the merge count for nothing; a request edited on main after its merge is
denied; a late window is issued only for what is left of it; main's current groups must
still allow the grant at issue time. Through PyGithub, the stand-in, OpenBao and `audit
verify`."""

from __future__ import annotations

from datetime import timedelta

from jitflow.core.times import format_time
from tests.sync.conftest import POLICIES, World
from tests.sync.merge_paths import (
    commit_steps,
    new_id,
    push_to_main,
    request_body,
    soon,
    verify_clean,
)
from tests.sync.observe import active_grant, archived, events, vault_tokens


def _next_second() -> None:
    import time

    time.sleep(1.05 - time.time() % 1)


def _open(world: World, body: bytes) -> tuple[str, int]:
    request_id = new_id()
    commit_steps(world, f"req/{request_id}", [{f"requests/{request_id}.yaml": body}])
    return request_id, world.standin.create_pull("alice", f"req/{request_id}")


def _denied(world: World, request_id: str) -> list[str]:
    assert active_grant(world, request_id) is None
    assert request_id not in vault_tokens(world.vault)
    [record] = archived(world, request_id)
    assert record["ended"]["reason"] == "denied"
    return [f["code"] for f in record["ended"]["findings"]]


def test_an_approval_given_after_the_merge_does_not_count(world: World) -> None:
    request_id, number = _open(world, request_body())
    world.standin.merge_pull(number, "alice")  # an admin merge with no approval
    _next_second()  # GitHub's times have whole seconds: a review in the merge's second ties
    world.standin.submit_review(number, "bob", "APPROVE")  # GitHub accepts it, afterwards
    world.sync()
    assert "approvals-missing" in _denied(world, request_id)
    verify_clean(world)


def test_a_merge_without_approval_is_denied_at_once_whatever_its_start(world: World) -> None:
    start = soon(120)
    request_id, number = _open(world, request_body(start=start))
    world.standin.merge_pull(number, "alice")
    world.sync()  # long before the start
    assert "approvals-missing" in _denied(world, request_id)
    world.standin.submit_review(number, "bob", "APPROVE")
    world.sync("--now", format_time(start + timedelta(minutes=1)))
    assert events(world, request_id) == ["deny"]
    verify_clean(world)


def test_a_request_edited_on_main_after_the_merge_is_denied(world: World) -> None:
    start = soon(120)
    request_id, number = _open(world, request_body(start=start))
    world.standin.submit_review(number, "bob", "APPROVE")
    world.standin.merge_pull(number, "bob")
    world.sync()  # approved, waiting for its start
    assert world.main_file(f"requests/{request_id}.yaml") is not None
    push_to_main(world, {f"requests/{request_id}.yaml": request_body()})  # start dropped
    world.sync()
    assert "edited-after-merge" in _denied(world, request_id)


def test_a_window_reached_late_is_issued_only_for_what_is_left(world: World) -> None:
    start = soon(10)
    request_id, number = _open(world, request_body(duration="1h", start=start))
    world.standin.submit_review(number, "bob", "APPROVE")
    world.standin.merge_pull(number, "bob")
    world.sync("--now", format_time(start + timedelta(minutes=40)))
    grant = active_grant(world, request_id)
    assert grant is not None
    assert grant["requested_seconds"] == 3600
    assert 1100 <= grant["granted_seconds"] <= 1200  # 20 minutes left of the hour


def test_a_window_that_has_passed_is_never_issued(world: World) -> None:
    start = soon(10)
    request_id, number = _open(world, request_body(duration="30m", start=start))
    world.standin.submit_review(number, "bob", "APPROVE")
    world.standin.merge_pull(number, "bob")
    world.sync("--now", format_time(start + timedelta(hours=2)))
    assert "window-passed" in _denied(world, request_id)


def test_a_requester_removed_from_the_group_before_the_start_is_not_issued(world: World) -> None:
    start = soon(60)
    request_id, number = _open(world, request_body(start=start))
    world.standin.submit_review(number, "bob", "APPROVE")
    world.standin.merge_pull(number, "bob")
    world.sync()  # approved under the merge-time groups: waits
    assert world.main_file(f"requests/{request_id}.yaml") is not None
    groups = POLICIES["policies/groups.yaml"].replace(b"[alice, carol]", b"[carol]")
    push_to_main(world, {"policies/groups.yaml": groups}, login="bob")
    world.sync("--now", format_time(start + timedelta(minutes=1)))
    assert "groups-changed" in _denied(world, request_id)


def test_a_policy_removed_or_narrowed_before_the_start_stops_the_grant(world: World) -> None:
    """An admin who deletes a policy on main (or narrows it) in an incident stops the pending
    requests merged under it, as a group change does."""
    start = soon(60)
    narrowed, number = _open(world, request_body(duration="2h", start=start))
    world.standin.submit_review(number, "bob", "APPROVE")
    world.standin.merge_pull(number, "bob")
    world.sync()  # approved under the merge-time policy: waits
    shorter = POLICIES["policies/ops-read.yaml"].replace(b"max: 2h", b"max: 1h")
    push_to_main(world, {"policies/ops-read.yaml": shorter}, login="bob")
    world.sync("--now", format_time(start + timedelta(minutes=1)))
    assert "policy-changed" in _denied(world, narrowed)
