"""`audit verify` proves each extension: approved (or within the policy's self-approval limit),
the one its request file asked for, of a grant of the same requester and policy that it
replaced, within the total maximum. Each forged claim gets its code."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from jitflow.core.times import format_time
from jitflow.usecases.audit.verify import VerifyOptions, run_verify
from tests.audit.history_builder import POLICY_ORDERS, T0, Handle, HistoryBuilder

NOW = T0 + timedelta(minutes=20)
EXTENSIBLE = POLICY_ORDERS + "extension: {total_max: 5h, self_approve_up_to: 30m}\n"


@pytest.fixture
def builder(tmp_path: Path) -> HistoryBuilder:
    builder = HistoryBuilder(tmp_path / "ledger")
    builder.write("policies/orders-db-write.yaml", EXTENSIBLE)
    builder.commit("admin", "Allow extensions", T0 - timedelta(hours=1))
    return builder


def _grant(builder: HistoryBuilder, requester: str = "alice") -> Handle:
    handle = builder.request(requester, at=T0)
    builder.merge(handle, "bob", T0 + timedelta(minutes=2))
    builder.issue(handle, T0 + timedelta(minutes=3))
    return handle


def _extend(
    builder: HistoryBuilder,
    old: Handle,
    *,
    duration: str = "30m",
    approved_by: tuple[str, ...] = (),
    grant: dict[str, Any] | None = None,
    requester: str = "alice",
    end_old: bool = True,
) -> Handle:
    ext = builder.request(
        requester,
        at=T0 + timedelta(minutes=8),
        duration=duration,
        extends=old.id,
        request_id=f"{requester}-ext-{old.id[-12:]}",
    )
    merger = approved_by[0] if approved_by else requester
    builder.merge(ext, merger, T0 + timedelta(minutes=9), approved_by=approved_by)
    assert old.expires_at is not None and old.issued_at is not None
    block = {
        "extends": old.id,
        "started_at": format_time(old.issued_at),
        "expires_at": format_time(old.expires_at + ext.duration),
        **(grant or {}),
    }
    builder.issue(ext, T0 + timedelta(minutes=10), grant=block)
    if end_old:
        builder.end(
            old, T0 + timedelta(minutes=10, seconds=5), reason="extended", extended_by=ext.id
        )
    return ext


def _codes(builder: HistoryBuilder) -> set[str]:
    report = run_verify(VerifyOptions(repo=builder.root, now=NOW))
    return {v.code for v in report.violations}


def test_a_self_approved_extension_within_the_limit_verifies(builder: HistoryBuilder) -> None:
    _extend(builder, _grant(builder))
    assert _codes(builder) == set()


def test_an_approved_longer_extension_verifies(builder: HistoryBuilder) -> None:
    _extend(builder, _grant(builder), duration="2h", approved_by=("bob",))
    assert _codes(builder) == set()


def test_forged_self_approval_beyond_the_limit(builder: HistoryBuilder) -> None:
    _extend(builder, _grant(builder), duration="2h")  # no approvals, 2h > 30m
    assert _codes(builder) == {"extension-unapproved"}


def test_forged_extension_the_request_did_not_ask_for(builder: HistoryBuilder) -> None:
    old = _grant(builder)
    _extend(builder, old, grant={"extends": "alice-something-else"})
    assert "extension-not-requested" in _codes(builder)


def test_forged_extension_of_another_persons_grant(builder: HistoryBuilder) -> None:
    carols = _grant(builder, "carol")
    _extend(builder, carols)
    assert _codes(builder) == {"extension-of-unknown-grant"}


def test_forged_start_to_stretch_past_the_total_maximum(builder: HistoryBuilder) -> None:
    old = _grant(builder)
    late_start = format_time(T0 + timedelta(hours=1))
    far_end = format_time(T0 + timedelta(hours=5, minutes=30))
    _extend(builder, old, grant={"started_at": late_start, "expires_at": far_end})
    # the claimed start hides the true one, which the extended grant's record still shows
    assert "extension-of-unknown-grant" in _codes(builder)


def test_extension_over_the_total_maximum(builder: HistoryBuilder) -> None:
    old = _grant(builder)
    assert old.issued_at is not None
    far_end = format_time(old.issued_at + timedelta(hours=5, minutes=30))
    _extend(builder, old, grant={"expires_at": far_end}, approved_by=("bob",), duration="4h")
    assert "extension-over-total-max" in _codes(builder)


def test_extension_whose_grant_was_never_ended_as_extended(builder: HistoryBuilder) -> None:
    _extend(builder, _grant(builder), end_old=False)
    assert "extension-of-unknown-grant" in _codes(builder)
