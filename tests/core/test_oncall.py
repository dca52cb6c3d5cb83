"""On-call rotations: the file's schema (file/line errors), who is on call at a moment (weekly
hand-offs in a timezone, across DST, overrides), and the decision that uses it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jitflow.core.approvals import ApprovalFacts
from jitflow.core.evaluation import Context, evaluate
from jitflow.core.loading import parse_groups, parse_oncall, parse_policy, parse_request
from jitflow.core.model import Review, ReviewState, Rotation
from jitflow.core.oncall import on_call

ONCALL = b"""\
rotations:
  sre-primary:
    members: [alice, bob, carol]
    start: 2026-10-19
    handoff: 09:00
    timezone: Europe/Berlin
    overrides:
      - {login: dave, start: 2026-11-04T18:00:00Z, end: 2026-11-05T06:00:00Z, reason: swap}
"""


def rotation() -> Rotation:
    loaded = parse_oncall(ONCALL)
    assert loaded.findings == ()
    found: Rotation = loaded.value["sre-primary"]
    return found


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "who"),
    [
        ("2026-10-19T06:59:59", None),  # before the first hand-off (09:00 CEST = 07:00Z)
        ("2026-10-19T07:00:00", "alice"),
        ("2026-10-26T07:59:59", "alice"),  # DST ended on the 25th: 09:00 CET is 08:00Z
        ("2026-10-26T08:00:00", "bob"),
        ("2026-11-02T08:00:00", "carol"),
        ("2026-11-04T18:00:00", "dave"),  # the override
        ("2026-11-05T06:00:00", "carol"),  # the override has ended
        ("2026-11-09T08:00:00", "alice"),  # round again
    ],
)
def test_who_is_on_call(at: str, who: str | None) -> None:
    assert on_call(rotation(), utc(at)) == who


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        (b"rotations:\n  x:\n    members: [a]\n    start: 2026-01-05\n    handoff: 9am\n"
         b"    timezone: UTC\n", (5, 14), "handoff"),
        (b"rotations:\n  x:\n    members: [a]\n    start: 2026-01-05\n    handoff: 09:00\n"
         b"    timezone: Mars/Olympus\n", (6, 15), "unknown timezone 'Mars/Olympus'"),
        (b"rotations:\n  x:\n    members: [a]\n    start: 2026-02-30\n    handoff: 09:00\n"
         b"    timezone: UTC\n", (4, 12), "not a calendar date"),
        (b"rotations:\n  x:\n    members: [a]\n    start: 2026-01-05\n    handoff: 09:00\n"
         b"    timezone: UTC\n    weekly: true\n", (7, 5), "weekly"),
        (b"rotations:\n  x:\n    members: [a]\n    start: 2026-01-05\n    handoff: 09:00\n"
         b"    timezone: UTC\n    overrides:\n      - {login: b, start: 2026-01-06T00:00:00Z, "
         b"end: 2026-01-05T00:00:00Z}\n", (8, 54), "must end after its start"),
    ],
)  # fmt: skip
def test_a_bad_rotation_file_names_file_line_and_column(
    text: bytes, where: tuple[int, int], words: str
) -> None:
    loaded = parse_oncall(text)
    assert loaded.value is None
    [finding] = loaded.findings
    assert finding.path == "policies/rotations.yaml"
    assert (finding.line, finding.column) == where
    assert words in finding.message


POLICY = b"""\
name: prod-write
description: Write access to production
grant: {kind: vault-token, policies: [admin]}
duration: {max: 1h}
requesters: {groups: [sre]}
approvals:
  rules:
    - {count: 1, from: {groups: [leads], oncall: [sre-primary]}}
  oncall_waives: [sre-primary]
"""
REQUEST = b"policy: prod-write\nrequester: erin\nreason: incident INC-9 needs a restart\n"


def decide(now: str, reviewer: str | None, requester: str = "erin") -> object:
    groups = parse_groups(b"sre: [alice, bob, carol, erin]\nleads: [frank]\n")
    from jitflow.core.loading import with_rotations

    both = with_rotations(groups, parse_oncall(ONCALL))
    body = REQUEST.replace(b"erin", requester.encode())
    request = parse_request(body, "requests/r1.yaml")
    reviews = (
        (Review(reviewer, ReviewState.APPROVED, "h", utc(now) - timedelta(minutes=1)),)
        if reviewer
        else ()
    )
    facts = ApprovalFacts(requester, "h", reviews, content_digests={"h": "d"})
    context = Context(now=utc(now), author=requester, approval_facts=facts)
    policies = {"prod-write": parse_policy(POLICY, "policies/prod-write.yaml")}
    return evaluate([request], policies, both, context).requests[0]


def test_whoever_is_on_call_at_the_decision_may_approve() -> None:
    on_duty = decide("2026-11-03T12:00:00", "carol")  # carol's week
    assert on_duty.approved  # type: ignore[attr-defined]
    [rule] = on_duty.approvals.rules  # type: ignore[attr-defined]
    assert rule.oncall == (("carol", "sre-primary"),)
    off_duty = decide("2026-11-10T12:00:00", "carol")  # alice's week: carol's review is void
    assert not off_duty.approved  # type: ignore[attr-defined]
    lead = decide("2026-11-10T12:00:00", "frank")
    assert lead.approved and lead.approvals.rules[0].oncall == ()  # type: ignore[attr-defined]


def test_the_requester_on_call_needs_no_approval_where_the_policy_waives_it() -> None:
    waived = decide("2026-11-03T12:00:00", None, requester="carol")
    assert waived.approved  # type: ignore[attr-defined]
    assert waived.approvals.oncall_waived == "sre-primary"  # type: ignore[attr-defined]
    assert "carol is on call in sre-primary" in waived.approvals.waived  # type: ignore[attr-defined]
    not_on_call = decide("2026-11-03T12:00:00", None, requester="bob")
    assert not not_on_call.approved  # type: ignore[attr-defined]
