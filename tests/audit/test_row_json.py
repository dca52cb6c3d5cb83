"""The JSON report's direct row writer (`audit_text.row_json`) writes exactly what
`json.dumps(row_to_dict(row), ensure_ascii=False)` writes: a property-based differential test
(Hypothesis) over rows with any text (quotes, control characters, lone surrogates, non-ASCII),
times in and out of UTC (and before year 1000), ints and bools where ints go, and the optional
keys present or not."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jitflow.core.audit_rows import AuditRow, Evidence, Outcome
from jitflow.reporters.audit_text import row_json, row_to_dict

TEXT = st.one_of(
    st.sampled_from(["", "a", '"', "\\", "\n", "\t", "\x00", "\x7f", "\u2028", "é", "\ud800"]),
    st.text(max_size=8),
)
ZONE = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(minutes=-330))])
TIME = st.one_of(
    st.none(),
    st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 30), timezones=ZONE),
)
INT = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-3, 3))
PAIRS = st.lists(st.tuples(TEXT, TEXT), max_size=3).map(tuple)


@st.composite
def rows(draw: st.DrawFn) -> AuditRow:
    return AuditRow(
        id=draw(TEXT),
        requester=draw(TEXT),
        policy=draw(TEXT),
        kind=draw(TEXT),
        resource=draw(TEXT),
        reason=draw(TEXT),
        ticket=draw(TEXT),
        break_glass=draw(st.booleans()),
        requested_at=draw(TIME),
        approvers=tuple(draw(st.lists(TEXT, max_size=3))),
        merged_at=draw(TIME),
        merged_by=draw(TEXT),
        pr=draw(INT),
        issued_at=draw(TIME),
        expires_at=draw(TIME),
        ended_at=draw(TIME),
        outcome=draw(st.sampled_from(list(Outcome))),
        ended_by=draw(TEXT),
        outcome_detail=draw(TEXT),
        evidence=Evidence(*(draw(TEXT) for _ in range(6))),
        requested_seconds=draw(INT),
        granted_seconds=draw(INT),
        extends=draw(TEXT),
        extended_by=draw(TEXT),
        warned_at=draw(TIME),
        oncall=draw(PAIRS),
        oncall_waived=draw(TEXT),
        not_revocable=draw(TEXT),
        end_note=draw(TEXT),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows())
def test_the_direct_writer_writes_what_json_dumps_writes(row: AuditRow) -> None:
    assert row_json(row) == json.dumps(row_to_dict(row), ensure_ascii=False)


def test_a_repeated_on_call_approver_keeps_its_first_place_and_last_rotation() -> None:
    row = AuditRow(
        *("x",) * 7,
        break_glass=False,
        requested_at=None,
        approvers=(),
        merged_at=None,
        merged_by="",
        pr=None,
        issued_at=None,
        expires_at=None,
        ended_at=None,
        outcome=Outcome.ACTIVE,
        ended_by="",
        outcome_detail="",
        evidence=Evidence(),
        oncall=(("a", "1"), ("b", "2"), ("a", "3")),
    )
    assert '"approved_by_oncall": {"a": "3", "b": "2"}' in row_json(row)
    assert row_json(row) == json.dumps(row_to_dict(row), ensure_ascii=False)
