"""UTC time text: what format_time writes, parse_time reads back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from jitflow.core.times import format_time, parse_time

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
