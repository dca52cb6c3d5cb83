"""The one duration parser: forms it accepts, what it refuses, and the round trip."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jitflow.core.durations import MAX_DURATION, DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("90m", timedelta(minutes=90)),
        ("90d", MAX_DURATION),
    ],
)
def test_accepted_forms(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("0s", "zero"),
        ("0h0m", "zero"),
        ("-5m", "not a duration"),
        ("91d", "absolute maximum"),
        ("99999999h", "absolute maximum"),
        # more digits than Python converts to an int (4300) is still just too long
        pytest.param("9" * 5000 + "d", "absolute maximum", id="5000-digits"),
        # only ASCII digits, as the JSON Schema says: look-alike digits read differently
        ("\u0662h", "not a duration"),  # ARABIC-INDIC DIGIT TWO
        ("\U0001d7d7h", "not a duration"),  # MATHEMATICAL BOLD DIGIT NINE
        ("1\uff10m", "not a duration"),  # FULLWIDTH DIGIT ZERO
        ("", "not a duration"),
        ("1:30", "not a duration"),
        ("30", "not a duration"),
        ("1m1h", "in that order"),
        ("1.5h", "not a duration"),
        ("PT1H", "not a duration"),
        ("1 h", "not a duration"),
        (90, "must be a string"),
        (None, "must be a string"),
        (True, "must be a string"),
    ],
)
def test_refused(value: object, words: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(value)
    assert words in str(caught.value)


@pytest.mark.parametrize(
    "seconds",
    [1, 59, 60, 61, 3599, 3600, 5400, 86399, 86400, 90061, int(MAX_DURATION.total_seconds())],
)
def test_round_trip(seconds: int) -> None:
    delta = timedelta(seconds=seconds)
    text = format_duration(delta)
    assert parse_duration(text) == delta


def test_format_is_canonical() -> None:
    assert format_duration(timedelta(minutes=90)) == "1h30m"
    assert format_duration(timedelta(days=1, seconds=1)) == "1d1s"
    assert format_duration(timedelta(0)) == "0s"


def test_policies_and_requests_share_the_parser() -> None:
    from jitflow.core.loading import parse_policy, parse_request
    from tests.gitrepo import example_policy_files

    policy = example_policy_files()["policies/orders-db-write.yaml"].decode()
    absurd = policy.replace("max: 2h", "max: 100d").encode()
    loaded = parse_policy(absurd, "policies/orders-db-write.yaml")
    assert [f.code for f in loaded.findings] == ["policy-invalid"]
    assert "absolute maximum of 90d" in loaded.findings[0].message
    request = b"policy: x\nrequester: alice\nreason: r\nduration: 100d\n"
    (finding,) = parse_request(request, "requests/alice-x.yaml").findings
    assert finding.code == "duration-invalid"
    assert "absolute maximum of 90d" in finding.message
