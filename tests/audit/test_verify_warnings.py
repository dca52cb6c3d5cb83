"""`audit verify` proves each expiry warning (an empty runner commit `Jitflow-Event: warn`):
written by the runner, of a grant active at the time, before its end, naming its real end.
A forged or misplaced one is a finding (a later sync would take it as a warning given)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from jitflow.core.ledger import RUNNER_EMAIL, RUNNER_NAME
from jitflow.core.times import format_time
from jitflow.usecases.audit.verify import VerifyOptions, run_verify
from tests.audit.history_builder import T0, Handle, HistoryBuilder

NOW = T0 + timedelta(hours=2)


@pytest.fixture
def builder(tmp_path: Path) -> HistoryBuilder:
    return HistoryBuilder(tmp_path / "ledger")


def _warn(
    builder: HistoryBuilder,
    handle: Handle,
    at: datetime,
    *,
    expires: datetime | None = None,
    login: str = RUNNER_NAME,
    email: str = RUNNER_EMAIL,
    signed: bool = True,
) -> str:
    ends = expires or handle.expires_at
    assert ends is not None
    message = (
        f"jitflow: warn {handle.id}\n\nWarned {handle.requester}.\n\n"
        f"Jitflow-Event: warn\nJitflow-Request: {handle.id}\n"
        f"Jitflow-Policy: {handle.policy}\nJitflow-Requester: {handle.requester}\n"
        f"Jitflow-Expires: {format_time(ends)}\n"
    )
    signer = builder.kit if signed else None
    return builder.commit(login, message, at, email=email, allow_empty=True, signer=signer)


def _findings(builder: HistoryBuilder) -> list[tuple[str, str]]:
    report = run_verify(VerifyOptions(repo=builder.root, now=NOW))
    return [(v.code, v.commit) for v in report.violations]


def _issued(builder: HistoryBuilder) -> Handle:
    handle = builder.request("alice", at=T0)
    builder.merge(handle, "bob", T0 + timedelta(minutes=2))
    builder.issue(handle, T0 + timedelta(minutes=3))
    return handle


def test_a_runner_warning_before_the_end_verifies(builder: HistoryBuilder) -> None:
    handle = _issued(builder)
    assert handle.expires_at is not None
    _warn(builder, handle, handle.expires_at - timedelta(minutes=10))
    builder.end(handle, handle.expires_at)
    assert _findings(builder) == []


def test_a_warning_not_written_by_the_runner_is_forged(builder: HistoryBuilder) -> None:
    handle = _issued(builder)
    assert handle.expires_at is not None
    sha = _warn(
        builder, handle, handle.expires_at - timedelta(minutes=10), login="mallory",
        email="mallory@users.noreply.github.com", signed=False,
    )  # fmt: skip
    assert ("warning-forged", sha) in _findings(builder)


def test_a_warning_after_the_end_of_another_time_or_of_no_grant_is_misplaced(
    builder: HistoryBuilder,
) -> None:
    handle = _issued(builder)
    assert handle.expires_at is not None
    wrong_end = _warn(
        builder, handle, handle.expires_at - timedelta(minutes=10),
        expires=handle.expires_at + timedelta(hours=1),
    )  # fmt: skip
    builder.end(handle, handle.expires_at)
    late = _warn(builder, handle, handle.expires_at + timedelta(minutes=5))
    ghost = Handle("alice-orders-db-write-20261122-none", "alice", "orders-db-write", timedelta())
    unknown = _warn(builder, ghost, handle.expires_at + timedelta(minutes=6), expires=T0)
    found = _findings(builder)
    assert ("warning-misplaced", wrong_end) in found
    assert ("warning-misplaced", late) in found
    assert ("warning-misplaced", unknown) in found
    assert {code for code, _ in found} == {"warning-misplaced"}
