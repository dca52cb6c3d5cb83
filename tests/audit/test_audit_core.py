"""Pure pieces of `jitflow.core.history` and `audit_rows`: trailers, PR numbers, approval rules, periods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jitflow.core.audit_rows import AuditRow, Evidence, Outcome, approval_shortfalls
from jitflow.core.history import parse_trailers, pr_number
from jitflow.core.loading import parse_policy
from jitflow.core.model import Groups, Policy
from tests.audit.history_builder import POLICY_ORDERS, POLICY_READONLY

GROUPS = Groups({"sre-leads": ("bob", "erin"), "engineers": ("alice", "carol")})
T = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def policy(text: str, name: str) -> Policy:
    loaded = parse_policy(text.encode(), f"policies/{name}.yaml").value
    assert isinstance(loaded, Policy)
    return loaded


def test_trailers_come_from_the_last_paragraph_only() -> None:
    message = (
        "jitflow: issue x\n\nJitflow-Event: nope\n\nJitflow-Event: issue\nJitflow-Request: x\n"
    )
    assert parse_trailers(message) == {"jitflow-event": "issue", "jitflow-request": "x"}
    assert parse_trailers("Jitflow-Event: issue") == {}


def test_pr_number_from_merge_and_squash_subjects() -> None:
    assert pr_number("Merge pull request #42 from alice/req") == 42
    assert pr_number("Request orders access (#7)") == 7
    assert pr_number("jitflow: issue x") is None


def test_approval_rules() -> None:
    orders = policy(POLICY_ORDERS, "orders-db-write")
    assert approval_shortfalls(orders, GROUPS, "alice", ["bob"]) == []
    assert approval_shortfalls(orders, GROUPS, "alice", ["carol"]) != []
    assert approval_shortfalls(orders, GROUPS, "bob", ["bob"]) != []  # own approval
    selfie = policy(POLICY_READONLY, "billing-read")
    assert approval_shortfalls(selfie, GROUPS, "carol", []) == []  # self-approval allowed
    assert approval_shortfalls(selfie, GROUPS, "mallory", []) != []  # not eligible


def row(issued: datetime | None, ended: datetime | None, outcome: Outcome) -> AuditRow:
    return AuditRow(
        id="r",
        requester="a",
        policy="p",
        kind="database",
        resource="db/r",
        reason="",
        ticket="",
        break_glass=False,
        requested_at=T,
        approvers=(),
        merged_at=T,
        merged_by="",
        pr=None,
        issued_at=issued,
        expires_at=issued + timedelta(hours=1) if issued else None,
        ended_at=ended,
        outcome=outcome,
        ended_by="",
        outcome_detail="",
        evidence=Evidence(),
    )


def test_period_overlap() -> None:
    grant = row(T, T + timedelta(minutes=30), Outcome.EXPIRED)
    assert grant.overlaps(T + timedelta(minutes=10), T + timedelta(minutes=11), T)
    assert not grant.overlaps(T + timedelta(minutes=31), None, T)
    assert not grant.overlaps(None, T - timedelta(seconds=1), T)
    active = row(T, None, Outcome.ACTIVE)
    assert active.overlaps(T + timedelta(minutes=50), None, now=T + timedelta(minutes=5))
    assert not active.overlaps(T + timedelta(hours=2), None, now=T + timedelta(minutes=5))
