"""`core.ledger.plan()` and its helpers as tables of plain values (policy-bot's
`predicate/*_test.go` style): state in, transitions out, no git, no Vault, no clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from jitflow.core.ledger import (
    Action,
    ActiveRecord,
    LedgerState,
    OrphanToken,
    PendingRequest,
    RevokedDeletion,
    due_at,
    plan,
    revocation_findings,
)
from jitflow.core.model import ActiveGrant, GrantKind

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def active(request_id: str, expires: datetime | None, accessor: str | None = None) -> ActiveRecord:
    return ActiveRecord(
        request_id,
        "db-write",
        "alice",
        GrantKind.VAULT_TOKEN,
        expires,
        1,
        accessor or f"acc-{request_id}",
    )


def pending(
    request_id: str, start: datetime | None = None, merged: datetime | None = NOW - MIN
) -> PendingRequest:
    return PendingRequest(request_id, start, merged)


@dataclass(frozen=True)
class Case:
    name: str
    pending: tuple[PendingRequest, ...] = ()
    active: tuple[ActiveRecord, ...] = ()
    deletions: tuple[RevokedDeletion, ...] = ()
    tokens: tuple[OrphanToken, ...] = ()
    revoke: tuple[str, ...] = ()
    expect: tuple[tuple[Action, str, str], ...] = field(default=())  # action, id, why


CASES = [
    Case("nothing to do"),
    Case("a merged request is issued", pending=(pending("r1"),),
         expect=((Action.ISSUE, "r1", "merged and due"),)),
    Case("a request merged without a recorded time is due", pending=(pending("r1", merged=None),),
         expect=((Action.ISSUE, "r1", "merged and due"),)),
    Case("a future start waits", pending=(pending("r1", start=NOW + MIN),),
         expect=((Action.WAIT, "r1", "starts at 2026-11-23T09:01:00Z"),)),
    Case("a start exactly now is due", pending=(pending("r1", start=NOW),),
         expect=((Action.ISSUE, "r1", "merged and due"),)),
    Case("a past start is due", pending=(pending("r1", start=NOW - 5 * MIN),),
         expect=((Action.ISSUE, "r1", "merged and due"),)),
    Case("a grant past its expiry ends", active=(active("a1", NOW - MIN),),
         expect=((Action.EXPIRE, "a1", "expired"),)),
    Case("a grant expiring exactly now ends", active=(active("a1", NOW),),
         expect=((Action.EXPIRE, "a1", "expired"),)),
    Case("a grant still running is left alone", active=(active("a1", NOW + MIN),)),
    Case("a grant without a readable expiry ends, to be safe", active=(active("a1", None),),
         expect=((Action.EXPIRE, "a1", "no readable expiry: ended to be safe"),)),
    Case("--revoke ends a running grant", active=(active("a1", NOW + MIN),), revoke=("a1",),
         expect=((Action.REVOKE, "a1", "named by --revoke"),)),
    Case("--revoke of an expired grant revokes it (not expire)", active=(active("a1", NOW - MIN),),
         revoke=("a1",), expect=((Action.REVOKE, "a1", "named by --revoke"),)),
    Case("--revoke of an unknown id plans nothing", revoke=("ghost",)),
    Case("a deleted active file is revoked", deletions=(RevokedDeletion("a1", "c0ffee"),),
         expect=((Action.REVOKE, "a1", "active file deleted by a revocation PR"),)),
    Case("a Vault token with no record is adopted or revoked", tokens=(OrphanToken("t1", "r9"),),
         expect=((Action.ADOPT_OR_REVOKE, "r9", "Vault token with no active record in git"),)),
    Case("a token recorded in an active file is no orphan",
         active=(active("a1", NOW + MIN, accessor="t1"),), tokens=(OrphanToken("t1", "a1"),)),
    Case("an orphan of a pending request is not issued twice", pending=(pending("r1"),),
         tokens=(OrphanToken("t1", "r1"),),
         expect=((Action.ADOPT_OR_REVOKE, "r1", "Vault token with no active record in git"),)),
    Case("ends first (by id), then deletions, orphans, then issues (by id)",
         pending=(pending("p2"), pending("p1", start=NOW + MIN)),
         active=(active("b", NOW - MIN), active("a", NOW - MIN)),
         deletions=(RevokedDeletion("d", "c1"),), tokens=(OrphanToken("t", "o"),),
         expect=((Action.EXPIRE, "a", "expired"), (Action.EXPIRE, "b", "expired"),
                 (Action.REVOKE, "d", "active file deleted by a revocation PR"),
                 (Action.ADOPT_OR_REVOKE, "o", "Vault token with no active record in git"),
                 (Action.WAIT, "p1", "starts at 2026-11-23T09:01:00Z"),
                 (Action.ISSUE, "p2", "merged and due"))),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_plan(case: Case) -> None:
    state = LedgerState(case.pending, case.active, case.deletions)
    got = plan(state, NOW, case.tokens, case.revoke)
    assert [(t.action, t.request_id, t.why) for t in got] == list(case.expect)


def test_plan_keeps_the_accessor_of_an_orphan_and_the_commit_of_a_deletion() -> None:
    state = LedgerState((), (), (RevokedDeletion("d", "c0ffee"),))
    got = plan(state, NOW, (OrphanToken("t-9", "o"),))
    assert [(t.accessor, t.deletion_commit) for t in got] == [(None, "c0ffee"), ("t-9", None)]


@pytest.mark.parametrize(
    ("start", "merged", "due"),
    [
        (None, NOW, NOW),  # at merge
        (None, None, None),  # nothing known: due now (plan issues it)
        (NOW + MIN, NOW, NOW + MIN),  # the requested start, when later
        (NOW - MIN, NOW, NOW),  # never before the merge
        (NOW, None, NOW),
    ],
)
def test_due_at(start: datetime | None, merged: datetime | None, due: datetime | None) -> None:
    assert due_at(PendingRequest("r", start, merged)) == due


GRANTS = (
    ActiveGrant("mine", "db-write", "alice", NOW + MIN),
    ActiveGrant("theirs", "db-write", "bob", NOW + MIN),
)


@pytest.mark.parametrize(
    ("ids", "author", "approved", "codes"),
    [
        (("mine",), "alice", False, []),  # giving up your own grant is free
        (("mine",), "ALICE", False, []),  # logins compare case-insensitively
        (("theirs",), "alice", False, ["revocation-needs-approval"]),
        (("theirs",), "alice", True, []),  # an approver of the policy agreed
        (("ghost",), "alice", True, ["unknown-grant"]),
        (
            ("mine", "ghost", "theirs"),
            "alice",
            False,
            ["unknown-grant", "revocation-needs-approval"],
        ),
    ],
)
def test_revocation_findings(
    ids: tuple[str, ...], author: str, approved: bool, codes: list[str]
) -> None:
    found = revocation_findings(ids, GRANTS, author, approved_by_approver=approved)
    assert [f.code for f in found] == codes
    assert all(f.path.startswith("requests/active/") for f in found)
