"""A fast reader for the plain block YAML that ledger records are written in.

An audit reads one record per request, thousands of them, and composing each through libyaml
costs more than reading the whole git history. Records are the request file plus blocks the
runner dumps: `key: value` lines, nested blocks, `- item` lists, one-line quoted strings.
This reader accepts exactly that subset and returns `None` for anything else (flow mappings,
multi-line or escaped strings, anchors, comments after values, duplicate keys...), so the
caller falls back to the strict loader; for the text it accepts it returns the same data as
`yamlio.load_yaml`, scalars typed by the same YAML 1.2 core schema (`yamlio.plain_scalar`).

This is a fast path beside the one strict reader (`yamlio.load_yaml`, on PyYAML), so it is
proven equal to it: tests/core/test_yaml_differential.py is a property-based differential
test (Hypothesis) over records the runner writes, those records mutated where YAML is
touchy, and lines assembled from YAML's indicators; each text must be refused here (None) or
read to exactly the strict reader's data, types included. tests/audit/test_plain_yaml.py
pins the known edges.
"""

from __future__ import annotations

import re
from typing import Any

from jitflow.core.plain_layouts import KEYWORDS, WORDS, Layouts, Shape, slots, written_as
from jitflow.core.yamlio import MAX_BYTES, MAX_DEPTH, plain_scalar

# Characters YAML does not allow in a stream, plus tab and CR (kept out of the subset).
_UNPRINTABLE = re.compile(
    "[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufdcf\ufdf0-\ufefe\uff00-\ufffd"
    "\U00010000-\U0010ffff]"
)
_SPECIAL_START = frozenset("[]{}&*!|>%@`#,'\"")
_WORDS = re.compile(WORDS + r"\Z")
_KEYWORDS = {word: plain_scalar(word) for word in KEYWORDS}


# Every line matches: indent, an optional list dash, an optional `key:`, and the rest.
# (Trailing spaces are left to the strict loader: excluding them here would slow every line.)
_LINE = re.compile(r"( *)(- +)?(?:([A-Za-z0-9_][A-Za-z0-9_.-]*):(?: +|$))?(.*)")

# indent, dash, key, value text, and the value when it is a scalar on its own (else _LATER);
# the key is a str, or a plain_layouts.KeySlot while a layout is learnt
_Line = tuple[int, str, Any, str, Any]
_LATER: Any = object()  # a flow list, `{}` or text outside the subset: read where it is used

# Records repeat most of their lines (`  kind: database`, `  by: jitflow-sync`): each distinct
# line is split and typed once. Bounded, so memory stays flat however long the history is.
_SEEN: dict[str, _Line] = {}
_SEEN_MAX = 2048  # ~1 MiB; the repeated lines are a few dozen


class _NotPlain(Exception):
    """The text leaves the subset; the strict loader must read it."""


def load_plain(content: bytes) -> dict[str, Any] | None:
    """The record as data when it is plain block YAML, else None (use the strict loader)."""
    if len(content) > MAX_BYTES:
        return None
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = text.replace("\n", "").isprintable() if text.isascii() else None
    if printable is False or (printable is None and _UNPRINTABLE.search(text)):
        return None
    if " \n" in text or text.endswith(" "):
        return None
    data = _LAYOUTS.read(text)
    if data is not None:
        return data
    if len(_SEEN) > _SEEN_MAX:
        _SEEN.clear()
    seen = _SEEN.get
    lines: list[_Line] = []
    raws = text.split("\n")
    for raw in raws:
        line = seen(raw) or _read_line(raw)
        if line[1] or line[2] or (line[3] and line[3][0] != "#"):  # skip blanks and comments
            lines.append(line)
    if not lines or lines[0][0]:
        return None
    # Every line holds a key or an item (a final newline aside): a layout to learn.
    whole = len(lines) == len(raws) - (not raws[-1])
    read = list(lines) if whole else lines  # the reader rewrites `- key:` lines in place
    reader = _Reader(read)
    try:
        data = reader.mapping(0, 1)
    except _NotPlain:
        return None
    if reader.position != len(lines):
        return None
    if whole:
        _learn(text, lines)
    return data


def _learn(text: str, lines: list[_Line]) -> None:
    """Show the layouts a record read line by line (learnt when its structure is seen twice)."""
    if any(value and scalar is _LATER for _, _, _, value, scalar in lines):
        return  # a value the reader parses where it is used: not in a layout

    def skeleton(shapes: tuple[Shape, ...]) -> dict[str, Any]:
        marked: list[_Line] = [
            (at, dash, key, value, _LATER if slot is None else slot)
            for (at, dash, _, value, _), (key, slot) in zip(lines, slots(shapes), strict=True)
        ]
        return _Reader(marked).mapping(0, 1)

    shapes = tuple((at, dash, key, written_as(value)) for at, dash, key, value, _ in lines)
    _LAYOUTS.learn(text, shapes, skeleton)


def _read_line(raw: str) -> _Line:
    match = _LINE.match(raw)
    assert match is not None  # every group is optional
    spaces, dash, key, value = match.groups("")
    line = _SEEN[raw] = (len(spaces), dash, key, value, _scalar_or_later(value))
    return line


def _scalar_or_later(value: str) -> Any:
    if not value or value == "{}" or (value[0] == "[" and value[-1] == "]"):
        return _LATER
    try:
        return _scalar(value, flow=False)
    except _NotPlain:
        return _LATER


class _Reader:
    """Recursive descent over the lines, one call per block; _NotPlain outside the subset."""

    def __init__(self, lines: list[_Line]) -> None:
        self.lines = lines
        self.position = 0

    def mapping(self, indent: int, depth: int) -> dict[str, Any]:
        if depth > MAX_DEPTH:
            raise _NotPlain
        result: dict[str, Any] = {}
        lines, count = self.lines, len(self.lines)
        while self.position < count:
            at, dash, key, value, scalar = lines[self.position]
            if at < indent:
                break
            if at > indent or dash or not key or key in result:
                raise _NotPlain  # a stray deeper line, a list or text where keys belong
            self.position += 1
            if not value:
                result[key] = self._nested(indent, depth)
            elif scalar is _LATER or (self.position < count and lines[self.position][0] > indent):
                result[key] = self._value(value, indent)
            else:
                result[key] = scalar
        return result

    def _nested(self, indent: int, depth: int) -> Any:
        """The block under a `key:` line: deeper lines, an indentless list, or null."""
        if self.position >= len(self.lines):
            return None
        at, dash, _, _, _ = self.lines[self.position]
        if at > indent:
            return self.sequence(at, depth + 1) if dash else self.mapping(at, depth + 1)
        if at == indent and dash:
            return self.sequence(at, depth + 1)
        return None

    def sequence(self, indent: int, depth: int) -> list[Any]:
        if depth > MAX_DEPTH:
            raise _NotPlain
        items: list[Any] = []
        lines, count = self.lines, len(self.lines)
        while self.position < count:
            at, dash, key, value, scalar = lines[self.position]
            if at < indent or (at == indent and not dash):
                break
            if at > indent or not (key or value):
                raise _NotPlain  # a continuation line, a nested or an empty item
            if key:  # `- key: value` opens a mapping whose keys sit at the item's column
                column = indent + len(dash)
                lines[self.position] = (column, "", key, value, scalar)
                items.append(self.mapping(column, depth + 1))
            else:
                self.position += 1
                if scalar is _LATER or (self.position < count and lines[self.position][0] > indent):
                    items.append(self._value(value, indent))
                else:
                    items.append(scalar)
        return items

    def _value(self, text: str, indent: int) -> Any:
        """A value written on its key's (or item's) line; it must not continue below."""
        if self.position < len(self.lines) and self.lines[self.position][0] > indent:
            raise _NotPlain  # a multi-line scalar
        if text[0] == "[" and text[-1] == "]":
            inner = text[1:-1].strip(" ")
            if not inner:
                return []
            return [_scalar(part.strip(" "), flow=True) for part in inner.split(",")]
        if text == "{}":
            return {}
        return _scalar(text, flow=False)


def _scalar(text: str, *, flow: bool) -> Any:
    if _WORDS.match(text):  # the common case: names, ids, reasons
        return _KEYWORDS.get(text, text)
    if not text:
        raise _NotPlain
    first = text[0]
    if first == "'":
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != "'" or "'" in inner.replace("''", ""):
            raise _NotPlain
        return inner.replace("''", "'")
    if first == '"':
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != '"' or '"' in inner or "\\" in inner:
            raise _NotPlain
        return inner
    if (
        first in _SPECIAL_START
        or text[:2] in ("- ", "? ", ": ")
        or text in ("-", "?", ":")
        or ": " in text
        or " #" in text
        or text.endswith(":")
        or (flow and (first in "-?:" or any(c in text for c in ",[]{}")))
    ):
        raise _NotPlain
    try:
        return plain_scalar(text)
    except ValueError:
        raise _NotPlain from None


_LAYOUTS = Layouts(_scalar_or_later, _LATER)
