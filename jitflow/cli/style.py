"""Colour for people at a terminal only: never in a pipe, a file, CI logs or with NO_COLOR.

Renderers stay plain text; the CLI paints a few verdict words and marks on the way out, so
what tools parse is never different from what a person reads.
"""

from __future__ import annotations

import os
import re
from typing import TextIO

import click

_MARKS = re.compile(
    r"(?m)^(\s*)(✓|✗|!|PASS|FAIL)(?=\s)|\b(DENIED|FAILED|ALLOWED|APPROVED|PENDING)\b"
)
_COLOURS = {
    "✓": "green",
    "PASS": "green",
    "ALLOWED": "green",
    "APPROVED": "green",
    "✗": "red",
    "FAIL": "red",
    "FAILED": "red",
    "DENIED": "red",
    "!": "yellow",
    "PENDING": "yellow",
}


def colour_enabled(stream: TextIO) -> bool:
    """A terminal that shows colour, and no NO_COLOR (https://no-color.org)."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, stream: TextIO) -> str:
    """`text` with its verdict marks coloured when `stream` is a colour terminal."""
    if not colour_enabled(stream):
        return text

    def styled(match: re.Match[str]) -> str:
        if match.group(2):
            return match.group(1) + click.style(match.group(2), fg=_COLOURS[match.group(2)])
        word = match.group(3)
        return click.style(word, fg=_COLOURS[word], bold=True)

    return _MARKS.sub(styled, text)
