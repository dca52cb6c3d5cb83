"""Hidden markers that let jitflow find its own PR comments again.

A marker is an HTML comment (`<!-- jitflow:<name> -->`) GitHub does not render, so one
comment per purpose can be edited in place instead of piling up new ones.
"""

from __future__ import annotations

import re

from jitflow.errors import UsageError

_MARKER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$")


def marker_tag(marker: str) -> str:
    """The hidden tag for `marker`; refuses names that could break out of the HTML comment."""
    if not _MARKER_NAME.fullmatch(marker):
        raise UsageError(
            f"invalid comment marker {marker!r}: use 1-100 letters, digits, '.', '_', ':', '/' "
            "or '-', starting with a letter or digit"
        )
    return f"<!-- jitflow:{marker} -->"


def with_marker(marker: str, body: str) -> str:
    """`body` with the marker tag on its first line (an existing tag for it is not repeated)."""
    tag = marker_tag(marker)
    if has_marker(body, marker):
        return body
    return f"{tag}\n{body}"


def has_marker(body: str, marker: str) -> bool:
    """Whether `body` carries the tag of exactly this marker (not of one it is a prefix of)."""
    return marker_tag(marker) in body
