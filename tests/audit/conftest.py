"""One shared ledger history for report tests; verify tests build their own small ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.audit.history_builder import RUNNER_EMAIL, RUNNER_NAME, T0, Handle, HistoryBuilder

# The pipeline test gets its own OpenBao and world (its `audit verify --vault` compares every
# live jitflow token with the ledger, so no other test may leave tokens in that server).
from tests.conftest_servers import (  # noqa: F401
    _postgres_or_none,
    jitflow_vault,
    jwt_signer,
    openbao,
    postgres,
)
from tests.sync.conftest import runner_token, world  # noqa: F401


@dataclass(frozen=True)
class StandardHistory:
    builder: HistoryBuilder
    handles: dict[str, Handle]
    now: datetime

    @property
    def path(self) -> Path:
        return self.builder.root


def build_standard(root: Path) -> StandardHistory:
    """Expired, revoked, denied, self-approved, break-glass (reviewed), active and waiting."""
    b = HistoryBuilder(root)
    h: dict[str, Handle] = {}
    h["expired"] = b.lifecycle("alice", "bob", T0)
    revoked = h["revoked"] = b.request("carol", at=T0 + timedelta(hours=1))
    b.merge(revoked, "erin", T0 + timedelta(hours=1, minutes=2))
    b.issue(revoked, T0 + timedelta(hours=1, minutes=3))
    b.revoke(revoked, "erin", "bob", T0 + timedelta(hours=1, minutes=10))
    denied = h["denied"] = b.request("dave", at=T0 + timedelta(hours=2))
    b.merge(denied, "bob", T0 + timedelta(hours=2, minutes=2), approved_by=())
    b.end(
        denied,
        T0 + timedelta(hours=2, minutes=3),
        reason="denied",
        findings=[{"code": "approvals-missing", "message": "rule 1 needs 1 approval"}],
    )
    selfie = h["self"] = b.request(
        "carol",
        "billing-read",
        at=T0 + timedelta(days=1),
        duration="1h",
        ticket=None,
        reason="Check invoices",
    )
    b.merge(selfie, "carol", T0 + timedelta(days=1, minutes=1), approved_by=())
    b.issue(selfie, T0 + timedelta(days=1, minutes=2))
    b.end(selfie, T0 + timedelta(days=1, hours=1, minutes=2))
    glass = h["glass"] = b.request(
        "dave", at=T0 + timedelta(days=2), break_glass=True, reason="Outage: orders stuck"
    )
    b.merge(glass, "erin", T0 + timedelta(days=2, minutes=1))
    b.issue(glass, T0 + timedelta(days=2, minutes=2))
    b.end(glass, T0 + timedelta(days=2, minutes=32, seconds=5))
    b.commit(  # the runner records bob's review of the PR on GitHub
        RUNNER_NAME,
        f"Post-incident review of {glass.id}\n\nJitflow-Event: post-review\n"
        f"Jitflow-Request: {glass.id}\nJitflow-Reviewed-By: bob",
        T0 + timedelta(days=2, hours=3),
        email=RUNNER_EMAIL,
        allow_empty=True,
        signer=b.kit,
    )
    active = h["active"] = b.request("alice", at=T0 + timedelta(days=3), duration="2h")
    b.merge(active, "bob", T0 + timedelta(days=3, minutes=1))
    b.issue(active, T0 + timedelta(days=3, minutes=2))
    waiting = h["waiting"] = b.request("carol", at=T0 + timedelta(days=3, minutes=30))
    b.merge(waiting, "erin", T0 + timedelta(days=3, minutes=31))
    return StandardHistory(b, h, T0 + timedelta(days=3, minutes=40))


@pytest.fixture(scope="session")
def standard(tmp_path_factory: pytest.TempPathFactory) -> StandardHistory:
    return build_standard(tmp_path_factory.mktemp("audit") / "ledger")
