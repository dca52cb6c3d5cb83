"""The one duration parser: `90s`, `30m`, `1h30m`, `2d`, `1d12h`."""

from __future__ import annotations

import re
from datetime import timedelta

from jitflow.errors import JitflowError

# Longer than any sane elevation; a typo like `30d` meant as `30m` should not pass silently.
MAX_DURATION = timedelta(days=90)

# ASCII digits only, as the JSON Schemas say (`\d` would also take Arabic-Indic or fullwidth digits).
_PATTERN = re.compile(r"^(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?$")
# Any count with more digits than this is far over MAX_DURATION (and int() refuses 4300+).
_MAX_DIGITS = 9
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


class DurationError(JitflowError):
    """A duration string is malformed, zero, negative or absurd."""


def parse_duration(text: object) -> timedelta:
    """Parse a duration; the message says what is allowed."""
    if not isinstance(text, str):
        raise DurationError(
            f"duration must be a string like 30m, 1h30m or 2d, not {type(text).__name__} {text!r}"
        )
    value = text.strip()
    match = _PATTERN.match(value)
    if not value or match is None or not any(match.groups()):
        raise DurationError(
            f"{text!r} is not a duration: use whole numbers with units d, h, m, s in that "
            "order, like 90s, 30m, 1h30m or 2d"
        )
    if any(part is not None and len(part) > _MAX_DIGITS for part in match.groups()):
        raise DurationError(f"{value[:40]!r}... is longer than the absolute maximum of 90d")
    seconds = sum(
        int(part) * factor
        for part, (_, factor) in zip(match.groups(), _UNITS, strict=True)
        if part is not None
    )
    if seconds <= 0:
        raise DurationError(f"{text!r} is zero; a duration must be positive")
    if seconds > MAX_DURATION.total_seconds():
        raise DurationError(f"{text!r} is longer than the absolute maximum of 90d")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """Render a duration in the same notation the parser reads (`1h30m`)."""
    remaining = int(delta.total_seconds())
    if remaining <= 0:
        return "0s"
    parts = []
    for unit, factor in _UNITS:
        count, remaining = divmod(remaining, factor)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
