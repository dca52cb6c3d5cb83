"""Reading README.md: its fenced blocks, the `readme-test` markers, and its sections.

A block is executable when the line just before its opening fence is

    <!-- readme-test: SCENARIO STEP -->

(GitHub renders HTML comments invisibly). SCENARIO names the world the block runs in, STEP
names the block within it (hooks in the tests attach to steps, so inserting a block elsewhere
in the README can't shift them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

_FENCE = re.compile(r"^```(\S*)\s*$")
_MARKER = re.compile(r"^<!-- readme-test: (?P<scenario>[a-z0-9-]+) (?P<step>[a-z0-9-]+) -->$")
_ANY_MARKER = re.compile(r"readme-test")


@dataclass(frozen=True)
class Block:
    """One fenced block: its language, text, the line of its opening fence, its marker."""

    language: str
    text: str
    line: int
    scenario: str | None = None
    step: str | None = None

    @property
    def where(self) -> str:
        return f"README.md:{self.line}"


def readme_text() -> str:
    return README.read_text(encoding="utf-8")


def blocks(text: str | None = None) -> list[Block]:
    """Every fenced block in README order; markers that are malformed raise."""
    lines = (text if text is not None else readme_text()).splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if end == len(lines):
            raise AssertionError(f"README.md:{index + 1}: a fenced block is never closed")
        before = lines[index - 1] if index > 0 else ""
        marker = _MARKER.match(before)
        if marker is None and _ANY_MARKER.search(before):
            raise AssertionError(
                f"README.md:{index}: malformed marker {before!r}; "
                "write <!-- readme-test: SCENARIO STEP -->"
            )
        found.append(
            Block(
                language=opening.group(1),
                text="\n".join(lines[index + 1 : end]) + "\n",
                line=index + 1,
                scenario=marker.group("scenario") if marker else None,
                step=marker.group("step") if marker else None,
            )
        )
        index = end + 1
    return found


def shell_blocks() -> list[Block]:
    return [b for b in blocks() if b.language == "sh"]


def marked(scenario: str) -> list[Block]:
    """The executable blocks of one scenario, in README order."""
    return [b for b in blocks() if b.scenario == scenario]


def section(heading: str, text: str | None = None) -> str:
    """The text under a markdown heading (exact heading line), up to the next heading of the
    same or a higher level."""
    source = text if text is not None else readme_text()
    lines = source.splitlines()
    level = len(heading) - len(heading.lstrip("#"))
    try:
        start = lines.index(heading)
    except ValueError:
        raise AssertionError(f"README.md has no heading {heading!r}") from None
    body: list[str] = []
    in_fence = False
    for line in lines[start + 1 :]:
        if line.startswith("```"):
            in_fence = not in_fence
        if not in_fence and line.startswith("#"):
            depth = len(line) - len(line.lstrip("#"))
            if depth <= level:
                break
        body.append(line)
    return "\n".join(body)
