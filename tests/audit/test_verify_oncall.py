"""audit verify re-derives on-call approvals from the rotation at the policy commit and the
merge time: a record that claims an approver or a waiver the rotation doesn't back is caught."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from jitflow.core.verify_report import VerifyReport
from jitflow.usecases.audit.verify import VerifyOptions, run_verify
from tests.audit.history_builder import POLICY_ORDERS, T0, Handle, HistoryBuilder

NOW = T0 + timedelta(minutes=10)
# T0 is Monday 2026-11-02 09:00Z: carol's week (dave before, carol from 2026-11-02 08:00Z)
ONCALL = """\
rotations:
  sre-primary:
    members: [dave, carol]
    start: 2026-10-26
    handoff: 08:00
    timezone: UTC
"""
POLICY = POLICY_ORDERS.replace(
    "{count: 1, from: {groups: [sre-leads]}}",
    "{count: 1, from: {groups: [sre-leads], oncall: [sre-primary]}}\n  oncall_waives: [sre-primary]",
)


@pytest.fixture
def builder(tmp_path: Path) -> HistoryBuilder:
    built = HistoryBuilder(tmp_path / "ledger")
    built.write("policies/orders-db-write.yaml", POLICY)
    built.write("policies/rotations.yaml", ONCALL)
    built.commit("admin", "On-call approves orders-db-write", T0 - timedelta(hours=1))
    return built


def issue(builder: HistoryBuilder, requester: str, approver: str | None, **grant: object) -> Handle:
    handle = builder.request(requester, at=T0)
    builder.merge(
        handle, "bob", T0 + timedelta(minutes=2), approved_by=[approver] if approver else []
    )
    builder.issue(handle, T0 + timedelta(minutes=3), grant=grant or None)
    return handle


def codes(report: VerifyReport) -> set[str]:
    return {v.code for v in report.violations}


def test_an_on_call_approval_and_waiver_backed_by_the_rotation_verify(
    builder: HistoryBuilder,
) -> None:
    issue(builder, "alice", "carol", approved_by_oncall={"carol": "sre-primary"})
    issue(builder, "carol", None, oncall_waived="sre-primary")
    assert codes(run_verify(VerifyOptions(repo=builder.root, now=NOW))) == set()


def test_a_forged_on_call_approval_is_caught(builder: HistoryBuilder) -> None:
    issue(builder, "alice", "dave", approved_by_oncall={"dave": "sre-primary"})  # dave's week ended
    report = run_verify(VerifyOptions(repo=builder.root, now=NOW))
    assert codes(report) == {"oncall-approval-unfounded", "approvals-insufficient"}
    [found] = [v for v in report.violations if v.code == "oncall-approval-unfounded"]
    assert "@dave approved as on call in sre-primary, but at the merge @carol was" in found.message


def test_a_forged_on_call_waiver_is_caught(builder: HistoryBuilder) -> None:
    issue(builder, "alice", None, oncall_waived="sre-primary")  # alice is not on the rotation
    report = run_verify(VerifyOptions(repo=builder.root, now=NOW))
    assert codes(report) == {"oncall-approval-unfounded", "approvals-insufficient"}


def test_the_rotation_is_read_at_the_policy_commit_not_today(builder: HistoryBuilder) -> None:
    issue(builder, "alice", "carol", approved_by_oncall={"carol": "sre-primary"})
    # Rewriting the rotation later does not change who was on call at that merge.
    builder.write("policies/rotations.yaml", ONCALL.replace("[dave, carol]", "[dave, erin]"))
    builder.commit("admin", "New rotation", T0 + timedelta(minutes=5))
    assert codes(run_verify(VerifyOptions(repo=builder.root, now=NOW))) == set()
