"""Learnt record layouts: the plain YAML reader's shortcut for records shaped like earlier ones.

One runner writes its archive records in a few layouts: the same lines in the same order, the
same indents, dashes and keys, each value written the same way (quoted, a bare word, other);
only the values differ. Once the line reader (`plain_yaml.load_plain`) has read two records of
a layout, the layout becomes one regular expression that matches a whole record in one call and
captures its values, plus a plan that builds the reader's nested dicts and lists from them.

Exactly as strict as the line reader, by construction:
- a layout spells out each line's indent, dash and key, so a record it matches splits into the
  lines the reader would see (a value never starts with a space; a `- ` item is never
  `key: ...`), and the reader's path through those lines is the learnt one;
- a value matched as `'text'` (no quote inside) or as a bare word (the reader's own WORDS
  pattern, its keywords excluded) is what the reader makes of it: that very text. Any other
  value is typed by the reader's function (`typer`), and one it leaves to the strict loader
  (flow lists, `{}`, quoting it refuses...) sends the whole record back to the line reader;
- the checks on the whole text (size, encoding, unprintable characters, trailing spaces) run
  before any layout is tried.
tests/core/test_yaml_differential.py reads records of learnt layouts against the strict loader.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any, NamedTuple

# Words separated by single spaces, starting with a letter: never a number, only maybe a
# keyword of the core schema (null, true, false and their capitalisations).
WORDS = r"[A-Za-z][A-Za-z0-9_./@+=()-]*(?: [A-Za-z0-9_./@+=()-]+)*"
KEYWORDS = ("null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE")
_WORD = re.compile(WORDS + r"\Z")

# How a line's value is written: none (a `key:` line), quoted, a word, anything else.
NONE, QUOTED, WORD, OTHER = range(4)
# A line of a layout: indent, dash, key ("" for a `- item`), how its value is written.
Shape = tuple[int, str, str, int]

_END = r"(?=\n|\Z)"
_PATTERNS = {
    QUOTED: "'([^'\n]*)'",
    WORD: "(?!(?:" + "|".join(KEYWORDS) + ")" + _END + ")(" + WORDS + ")",
    OTHER: "([^ \n][^\n]*)",
}
_NOT_A_KEY = "(?![A-Za-z0-9_][A-Za-z0-9_.-]*:(?: |\n|\\Z))"  # `- key: v` opens a mapping

_PER_LINE_COUNT = 8  # layouts tried for one record (the most recently used first)
_MAX_LAYOUTS = 64  # all of them; past this they are forgotten and learnt again
_MAX_SIGHTINGS = 4096
_MAX_TYPED = 2048


def written_as(value: str) -> int:
    """How a value is written (the kinds a layout reads without typing)."""
    if not value:
        return NONE
    if len(value) > 1 and value[0] == value[-1] == "'" and "'" not in value[1:-1]:
        return QUOTED
    if value not in KEYWORDS and _WORD.match(value):
        return WORD
    return OTHER


class ValueSlot(NamedTuple):
    """Where a value sits among a layout's values (the learning record's data holds these)."""

    number: int


def _taker(indexes: Sequence[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """The items at `indexes`, always as a tuple."""
    chosen = tuple(indexes)
    if len(chosen) > 1:
        return itemgetter(*chosen)
    if chosen:
        only = chosen[0]
        return lambda items: (items[only],)
    return lambda items: ()


class _Map(NamedTuple):
    keys: tuple[str, ...]
    values: Callable[[Sequence[Any]], tuple[Any, ...]]  # from the values (None at -1)
    nested: tuple[tuple[str, _Map | _List], ...]  # each nested block's key and plan


class _List(NamedTuple):
    values: Callable[[Sequence[Any]], tuple[Any, ...]] | None  # when every item is a value
    items: tuple[int | _Map, ...]


def _plan(node: Any) -> Any:
    """The building plan of a skeleton (the reader's data with slots for values)."""
    if isinstance(node, dict):
        values = [v.number if isinstance(v, ValueSlot) else -1 for v in node.values()]
        nested = tuple((key, _plan(v)) for key, v in node.items() if isinstance(v, dict | list))
        return _Map(tuple(node), _taker(values), nested)
    items = tuple(v.number if isinstance(v, ValueSlot) else _plan(v) for v in node)
    if all(isinstance(item, int) for item in items):
        return _List(_taker(items), ())
    return _List(None, items)


def _build(plan: _Map, values: Sequence[Any]) -> dict[str, Any]:
    data = dict(zip(plan.keys, plan.values(values), strict=True))
    for key, inner in plan.nested:
        if isinstance(inner, _Map):
            data[key] = _build(inner, values)
        elif inner.values is not None:
            data[key] = list(inner.values(values))
        else:
            data[key] = [
                values[item] if isinstance(item, int) else _build(item, values)
                for item in inner.items
            ]
    return data


class _Layout(NamedTuple):
    pattern: re.Pattern[str]
    typed: tuple[int, ...]  # the values to type (written neither quoted nor as a word)
    plan: _Map


class Layouts:
    """The layouts learnt so far (bounded), and the records read through them."""

    def __init__(self, typer: Callable[[str], Any], later: object) -> None:
        self._typer, self._later = typer, later  # `later`: what typer returns to step aside
        self._by_lines: dict[int, list[_Layout]] = {}
        self._count = 0
        self._sightings: dict[tuple[Shape, ...], int] = {}
        self._typed: dict[str, Any] = {}

    def read(self, text: str) -> dict[str, Any] | None:
        """The record's data through a learnt layout; None when none fits (read it by line)."""
        fit = _fit(self._by_lines.get(text.count("\n"), []), text)
        if fit is None:
            return None
        layout, match = fit
        values: list[Any] = list(match.groups())
        if layout.typed:
            known = self._typed
            if len(known) > _MAX_TYPED:
                known.clear()
            for index in layout.typed:
                text = values[index]
                value = known.get(text, known)
                if value is known:
                    value = known[text] = self._typer(text)
                if value is self._later:
                    return None
                values[index] = value
        values.append(None)  # what a `key:` with nothing under it holds
        return _build(layout.plan, values)

    def seen_before(self, shapes: tuple[Shape, ...]) -> bool:
        """Count a sighting of a layout the line reader read; True from the second on."""
        seen = self._sightings.get(shapes, 0)
        if len(self._sightings) > _MAX_SIGHTINGS:
            self._sightings.clear()
        self._sightings[shapes] = seen + 1
        return seen > 0

    def learn(self, text: str, shapes: tuple[Shape, ...], skeleton: dict[str, Any]) -> None:
        """Remember the layout of `text`: its lines' shapes, and the line reader's data for
        it read with `ValueSlot`s (numbered in line order) in place of its values."""
        if self._count >= _MAX_LAYOUTS:
            self._by_lines.clear()
            self._count = 0
        kinds = [kind for _, _, _, kind in shapes if kind != NONE]
        layout = _Layout(
            re.compile(_expression(shapes, text.endswith("\n"))),
            tuple(index for index, kind in enumerate(kinds) if kind == OTHER),
            _plan(skeleton),
        )
        same = self._by_lines.setdefault(text.count("\n"), [])
        same.insert(0, layout)
        self._count += 1
        if len(same) > _PER_LINE_COUNT:
            same.pop()
            self._count -= 1


def _fit(layouts: list[_Layout], text: str) -> tuple[_Layout, re.Match[str]] | None:
    """The first layout matching `text`, moved to the front (the most recently used first)."""
    for position, layout in enumerate(layouts):
        match = layout.pattern.fullmatch(text)
        if match is not None:
            if position:
                layouts.insert(0, layouts.pop(position))
            return layout, match
    return None


def _expression(shapes: Sequence[Shape], final_newline: bool) -> str:
    lines = []
    for indent, dash, key, kind in shapes:
        line = " " * indent + re.escape(dash)
        if key:
            line += re.escape(key) + ":" + (" +" if kind != NONE else "")
        elif kind == OTHER:
            line += _NOT_A_KEY
        lines.append(line + _PATTERNS.get(kind, ""))
    return "\n".join(lines) + ("\n" if final_newline else "")
