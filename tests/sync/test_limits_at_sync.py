"""`limits.active_per_requester` holds at issue time for requests merged before any sync ran,
and for several requests in one PR: through the stand-in, OpenBao and `audit verify`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jitflow.usecases.audit.verify import VerifyOptions, run_verify
from tests.sync.conftest import POLICIES, World
from tests.sync.observe import active_grant, archived
from tests.sync.test_kinds_through_sync import _publish

LIMITED = (
    POLICIES["policies/ops-read.yaml"].replace(b"name: ops-read", b"name: ops-limited")
    + b"limits: {active_per_requester: 1}\n"
)
REQUEST = (
    b"policy: ops-limited\nrequester: alice\nduration: 30m\n"
    b"reason: investigating the orders backlog for the incident\n"
)


def _verify_clean(world: World) -> None:
    now = datetime.now(UTC) + timedelta(minutes=1)
    assert run_verify(VerifyOptions(repo=world.bare, ref="main", now=now)).violations == ()


def _denied_for_limit(world: World, request_id: str) -> None:
    assert active_grant(world, request_id) is None
    [record] = archived(world, request_id)
    assert record["ended"]["reason"] == "denied"
    assert "active-limit" in {f["code"] for f in record["ended"]["findings"]}


def test_two_prs_merged_before_sync_issue_only_within_the_limit(world: World) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    _publish(world, {"policies/ops-limited.yaml": LIMITED})
    first, _ = world.approved_merge("ops-limited", body=REQUEST.decode())
    second, _ = world.approved_merge("ops-limited", body=REQUEST.decode())
    world.sync()
    assert active_grant(world, first) is not None
    _denied_for_limit(world, second)
    _verify_clean(world)


def test_two_requests_in_one_pr_are_both_refused(world: World) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    _publish(world, {"policies/ops-limited.yaml": LIMITED})
    request_id, number = world.request(
        "ops-limited", body=REQUEST.decode(), extra={"requests/alice-extra-1.yaml": REQUEST}
    )
    world.standin.submit_review(number, "bob", "APPROVE")
    world.standin.merge_pull(number, "bob")  # an admin merge: the gate's verdict is ignored
    world.sync()
    _denied_for_limit(world, request_id)
    _denied_for_limit(world, "alice-extra-1")
    _verify_clean(world)
