"""Many audit rows at once, for rendering tests at 1,000 and 10,000 grants.

The renderer is a pure function of rows, so these skip git: a seeded random mix of
resources, people and outcomes spread over two years, like a busy organisation's ledger.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from jitflow.core.audit_rows import AuditRow, Evidence, Outcome

START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
RESOURCES = (
    ("orders-db-write", "database", "database/orders-write"),
    ("orders-db-read", "database", "database/orders-read"),
    ("billing-read", "vault-token", "policies billing-read"),
    ("prod-ssh", "ssh", "ssh/prod-admin"),
    ("k8s-admin", "identity-group", "group k8s-admins"),
    ("aws-prod", "secret", "aws/creds/prod-admin"),
    ("payments-db", "database", "database/payments-write"),
    ("ci-secrets", "vault-token", "policies ci-secrets"),
)
PEOPLE = ("alice", "carol", "dave", "mallory", "oscar", "peggy", "trent", "victor")
APPROVERS = ("bob", "erin", "frank")


@dataclass(frozen=True)
class SyntheticFlag:
    code: str
    request_id: str
    commit: str
    message: str


def _sha(rng: random.Random) -> str:
    return f"{rng.getrandbits(160):040x}"


def synthetic_rows(count: int, *, seed: int = 7, span_days: int = 700) -> list[AuditRow]:
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        policy, kind, resource = RESOURCES[rng.randrange(len(RESOURCES))]
        requester = PEOPLE[rng.randrange(len(PEOPLE))]
        merged = START + timedelta(minutes=rng.randrange(span_days * 24 * 60))
        issued = merged + timedelta(seconds=rng.randrange(5, 90))
        minutes = rng.choice((15, 30, 60, 120, 240))
        expires = issued + timedelta(minutes=minutes)
        outcome = rng.choices(
            (Outcome.EXPIRED, Outcome.REVOKED, Outcome.DENIED, Outcome.FAILED),
            weights=(80, 12, 6, 2),
        )[0]
        ended = {
            Outcome.EXPIRED: expires + timedelta(seconds=rng.randrange(5, 120)),
            Outcome.REVOKED: issued + timedelta(minutes=rng.randrange(1, minutes)),
            Outcome.DENIED: merged + timedelta(seconds=30),
            Outcome.FAILED: issued + timedelta(seconds=20),
        }[outcome]
        is_issued = outcome is not Outcome.DENIED
        approver = APPROVERS[rng.randrange(len(APPROVERS))]
        rows.append(
            AuditRow(
                id=f"{requester}-{policy}-{merged:%Y%m%d%H%M}-{index:05d}",
                requester=requester,
                policy=policy,
                kind=kind if is_issued else "",
                resource=resource if is_issued else "",
                reason=f"INC-{4000 + index}: investigate and fix stuck rows in {resource}",
                ticket=f"INC-{4000 + index}",
                break_glass=False,
                requested_at=merged - timedelta(minutes=rng.randrange(3, 120)),
                approvers=() if outcome is Outcome.DENIED else (approver,),
                merged_at=merged,
                merged_by=approver,
                pr=index + 1,
                issued_at=issued if is_issued else None,
                expires_at=expires if is_issued else None,
                ended_at=ended,
                outcome=outcome,
                ended_by=approver if outcome is Outcome.REVOKED else "jitflow-sync",
                outcome_detail="approvals-missing: rule 1 needs 1 approval"
                if outcome is Outcome.DENIED
                else "",
                evidence=Evidence(
                    request_commit=_sha(rng),
                    merge_commit=_sha(rng),
                    issue_commit=_sha(rng) if is_issued else "",
                    end_commit=_sha(rng),
                    policy_commit=_sha(rng),
                ),
                approved_at=()
                if outcome is Outcome.DENIED
                else ((approver, merged - timedelta(minutes=2)),),
                requested_seconds=minutes * 60,
                granted_seconds=minutes * 60,
            )
        )
    rows.sort(key=lambda r: r.merged_at or START, reverse=True)
    return rows
