"""Learnt record layouts: the plain YAML reader's shortcut for records shaped like earlier ones.

One runner writes its archive records in a few layouts: the same lines in the same order at
the same indents with the same dashes, mostly the same keys, each value written the same way
(quoted, a bare word, other). Once the line reader (`plain_yaml.load_plain`) has read two
records of one structure, their layout becomes one regular expression that matches a whole
record in one call and captures its values (and the keys that differed between the records,
such as the logins under `approved_at`), plus a plan that builds the reader's nested dicts and
lists from them. A record of that structure that the layout does not fit widens it (a key that
differed is captured; a value written another way is typed), so each structure has one layout
and is recompiled at most twice per line.

Exactly as strict as the line reader, by construction:
- a layout spells out each line's indent and dash, and its key or the key pattern of the
  reader's line pattern, so a record it matches splits into the lines the reader would see (a
  value never starts with a space; a `- ` item is never `key: ...`), and the reader's path
  through those lines is the learnt one;
- a value matched as `'text'` (no quote inside) or as a bare word (the reader's own WORDS
  pattern, its keywords excluded) is what the reader makes of it: that very text. Any other
  value is typed by the reader's function (`typer`), and one it leaves to the strict loader
  (flow lists, `{}`, quoting it refuses...) sends the whole record back to the line reader,
  as does a captured key met twice in one mapping;
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
# (Possessive: what follows a word is never one of its characters, so giving some back could
# never make a match; a record a layout does not fit fails at once instead of backtracking.)
WORDS = r"[A-Za-z][A-Za-z0-9_./@+=()-]*+(?: [A-Za-z0-9_./@+=()-]++)*+"
KEYWORDS = ("null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE")
_WORD = re.compile(WORDS + r"\Z")

# How a line's value is written: none (a `key:` line), quoted, a word, anything else.
NONE, QUOTED, WORD, OTHER = range(4)
# A line: indent, dash, key ("" for a `- item`, None once captured), how its value is written.
Shape = tuple[int, str, str | None, int]

_END = r"(?=\n|\Z)"
_KEY = "([A-Za-z0-9_][A-Za-z0-9_.-]*+):"  # the key of the reader's line pattern
_PATTERNS = {
    QUOTED: "'([^'\n]*+)'",
    WORD: "(?!(?:" + "|".join(KEYWORDS) + ")" + _END + ")(" + WORDS + ")",
    OTHER: "([^ \n][^\n]*+)",
}
_NOT_A_KEY = "(?![A-Za-z0-9_][A-Za-z0-9_.-]*:(?: |\n|\\Z))"  # `- key: v` opens a mapping

_PER_LINE_COUNT = 8  # layouts tried for one record (the most recently used first)
_MAX_LAYOUTS = 64  # all of them; past this they are forgotten and learnt again
_MAX_STRUCTURES = 512  # structures seen once (remembered to learn from the second)
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


class KeySlot(NamedTuple):
    """A captured key: its group in a layout's match."""

    group: int


class ValueSlot(NamedTuple):
    """A value: its group in a layout's match."""

    group: int


def slots(shapes: Sequence[Shape]) -> list[tuple[str | KeySlot, ValueSlot | None]]:
    """Each line's key (a literal, or its slot when captured) and value slot (None where it
    has no value), numbered as the layout's expression numbers its groups."""
    result: list[tuple[str | KeySlot, ValueSlot | None]] = []
    group = 0
    for _, _, key, kind in shapes:
        named: str | KeySlot = key if key is not None else KeySlot(group)
        group += key is None
        value = ValueSlot(group) if kind != NONE else None
        group += kind != NONE
        result.append((named, value))
    return result


def _taker(indexes: Sequence[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """The items at `indexes`, always as a tuple."""
    chosen = tuple(indexes)
    if len(chosen) > 1:
        return itemgetter(*chosen)
    if chosen:
        only = chosen[0]
        return lambda items: (items[only],)
    return lambda items: ()


def _keys(named: Sequence[str | KeySlot]) -> Callable[[Sequence[Any]], tuple[Any, ...]] | None:
    """A mapping's keys from the values, None when all are spelled out in the layout."""
    if all(isinstance(key, str) for key in named):
        return None
    if all(isinstance(key, KeySlot) for key in named):
        return _taker([key.group for key in named if isinstance(key, KeySlot)])
    fixed = tuple(named)
    return lambda values: tuple(
        values[key.group] if isinstance(key, KeySlot) else key for key in fixed
    )


Builder = Callable[[Sequence[Any]], Any]  # a record's data from its layout's values


class _Duplicate(Exception):
    """A captured key twice in one mapping: the line reader refuses the record."""


def _builder(node: Any) -> Builder:
    """What builds a skeleton's data (the reader's data with slots for keys and values)."""
    if isinstance(node, list):
        items = [v.group if isinstance(v, ValueSlot) else _builder(v) for v in node]
        if all(isinstance(item, int) for item in items):
            every = _taker([item for item in items if isinstance(item, int)])
            return lambda values: list(every(values))
        parts = [itemgetter(item) if isinstance(item, int) else item for item in items]
        return lambda values: [part(values) for part in parts]
    named = tuple(node)
    take = _taker([v.group if isinstance(v, ValueSlot) else -1 for v in node.values()])
    captured = _keys(named)
    nested = tuple(
        (position, _builder(v))
        for position, v in enumerate(node.values())
        if isinstance(v, dict | list)
    )
    if captured is None and not nested:
        return lambda values: dict(zip(named, take(values), strict=True))

    def build(values: Sequence[Any]) -> dict[str, Any]:
        keys = named if captured is None else captured(values)
        data = dict(zip(keys, take(values), strict=True))
        if len(data) != len(keys):
            raise _Duplicate
        for position, inner in nested:
            data[keys[position]] = inner(values)
        return data

    return build


class _Layout(NamedTuple):
    structure: Structure
    shapes: tuple[Shape, ...]
    pattern: re.Pattern[str]
    typed: tuple[int, ...]  # the groups of values to type (neither quoted nor a word)
    build: Builder


# What the reader's path depends on (indents, dashes, which lines have keys and values), and
# whether the text ends with a newline: records of one structure have one count of newlines.
Structure = tuple[bool, tuple[tuple[int, str, bool, bool], ...]]


def _structure(shapes: Sequence[Shape], final_newline: bool) -> Structure:
    lines = tuple((indent, dash, key != "", kind != NONE) for indent, dash, key, kind in shapes)
    return final_newline, lines


def _widen(learnt: Sequence[Shape], seen: Sequence[Shape]) -> tuple[Shape, ...]:
    """A layout fitting both: keys that differ captured, values written differently typed."""
    return tuple(
        (indent, dash, key if key == other_key else None, kind if kind == other_kind else OTHER)
        for (indent, dash, key, kind), (_, _, other_key, other_kind) in zip(
            learnt, seen, strict=True
        )
    )


class Layouts:
    """The layouts learnt so far (bounded), and the records read through them."""

    def __init__(self, typer: Callable[[str], Any], later: object) -> None:
        self._typer, self._later = typer, later  # `later`: what typer returns to step aside
        self._by_lines: dict[int, list[_Layout]] = {}
        self._learnt: dict[Structure, _Layout] = {}
        self._once: dict[Structure, tuple[Shape, ...]] = {}
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
            for group in layout.typed:
                text = values[group]
                value = known.get(text, known)
                if value is known:
                    value = known[text] = self._typer(text)
                if value is self._later:
                    return None
                values[group] = value
        values.append(None)  # what a `key:` with nothing under it holds
        try:
            data: dict[str, Any] = layout.build(values)
            return data
        except _Duplicate:
            return None

    def learn(
        self,
        text: str,
        shapes: tuple[Shape, ...],
        skeleton: Callable[[tuple[Shape, ...]], dict[Any, Any]],
    ) -> None:
        """Learn from a record the line reader read (its lines' shapes): the second record
        of a structure makes its layout, a later one that did not fit widens it. `skeleton`
        gives the reader's data for the record read with the `slots` of the layout's shapes
        in place of captured keys and values."""
        structure = _structure(shapes, text.endswith("\n"))
        learnt = self._learnt.get(structure)
        before = learnt.shapes if learnt is not None else self._once.pop(structure, None)
        if before is None:
            if len(self._once) >= _MAX_STRUCTURES:
                self._once.clear()
            self._once[structure] = shapes
            return
        widened = _widen(before, shapes)
        if learnt is not None and widened == learnt.shapes:
            return  # it did not fit for a value or a key the layout does not take
        if len(self._learnt) >= _MAX_LAYOUTS and learnt is None:
            self._by_lines.clear()
            self._learnt.clear()
        layout = _Layout(
            structure,
            widened,
            re.compile(_expression(widened, text.endswith("\n"))),
            tuple(
                value.group
                for (_, value), shape in zip(slots(widened), widened, strict=True)
                if value is not None and shape[3] == OTHER
            ),
            _builder(skeleton(widened)),
        )
        self._place(layout, learnt, text.count("\n"))

    def _place(self, layout: _Layout, replaced: _Layout | None, lines: int) -> None:
        same = self._by_lines.setdefault(lines, [])
        if replaced is not None and replaced in same:
            same.remove(replaced)
        same.insert(0, layout)
        self._learnt[layout.structure] = layout
        if len(same) > _PER_LINE_COUNT:
            del self._learnt[same.pop().structure]


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
        if key is None or key:
            line += (_KEY if key is None else re.escape(key) + ":") + (" ++" if kind else "")
        elif kind == OTHER:
            line += _NOT_A_KEY
        lines.append(line + _PATTERNS.get(kind, ""))
    return "\n".join(lines) + ("\n" if final_newline else "")
