"""UTC time text: what format_time writes, parse_time reads back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jitflow.core.times import format_time, parse_time, parse_time_or_none

_PLUS_TWO = timezone(timedelta(hours=2))


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 11, 22, 10, 0, 5, tzinfo=UTC), "2026-11-22T10:00:05Z"),
        (datetime(2026, 11, 22, 12, 0, 5, 999_999, tzinfo=_PLUS_TWO), "2026-11-22T10:00:05Z"),
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00Z"),
        (datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC), "0999-12-31T23:59:59Z"),
        (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), "9999-12-31T23:59:59Z"),
    ],
)
def test_format_time_writes_utc_to_the_second_with_four_year_digits(
    moment: datetime, text: str
) -> None:
    assert format_time(moment) == text
    assert parse_time(text) == moment.replace(microsecond=0)


def _general_reading(value: str) -> datetime | None:
    """What parse_time_or_none does for any text (its ledger-form shortcut aside)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else None


def _two_digits(top: int) -> st.SearchStrategy[str]:
    """0 to `top` (one past the largest valid value), mostly valid, some not."""
    return st.integers(min_value=0, max_value=top).map("{:02d}".format)


@settings(max_examples=200, deadline=None)
@given(
    year=st.integers(min_value=0, max_value=9999),
    parts=st.tuples(_two_digits(13), _two_digits(32), _two_digits(24), *[_two_digits(60)] * 2),
)
def test_the_ledger_form_shortcut_reads_as_the_general_reading(
    year: int, parts: tuple[str, ...]
) -> None:
    """Month 13, 30 February, hour 24, year 0: refused or read, the same either way."""
    month, day, hour, minute, second = parts
    text = f"{year:04d}-{month}-{day}T{hour}:{minute}:{second}Z"
    got, expected = parse_time_or_none(text), _general_reading(text)
    assert got == expected
    assert got is None or (expected is not None and got.tzinfo is expected.tzinfo is UTC)
