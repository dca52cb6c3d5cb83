"""Property-based differential tests (Hypothesis) for YAML's two fast paths.

- `plain_yaml.load_plain` (the audit's record reader) either steps aside (None) or returns
  exactly what the strict reader `yamlio.load_yaml` returns, types included.
- `yamlio.dump_block`'s direct writer writes exactly what PyYAML writes, and the strict reader
  reads it back to the same data.

Texts come from two generators: records the runner writes (then mutated a character at a time
where YAML is touchy, or given other values once their layout is learnt), and lines assembled
from YAML's own indicators, so the subset's edges are crossed both ways.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jitflow.core.plain_yaml import load_plain
from jitflow.core.yamlio import YamlError, _block_dumper, dump_block, load_yaml

EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Words close to the edges: YAML 1.1 / 1.2 keywords and numbers, indicators, quotes.
TRICKY = [
    "null", "Null", "~", "true", "False", "yes", "on", "1", "-3", "0x10", "0o7", "1e3", ".5",
    "1.5", ".inf", "-.INF", ".nan", "2026-01-01", "2026-01-01T00:00:00Z", "1:30", "a b",
    "it's", 'say "hi"', "#x", "x#y", "a: b", "-", "- x", "?", ":", "a:", "[x]", "{}", "[]",
    "&a", "*a", "!x", "|", ">", "%", "@x", "`x", "café", "x\ty", "", " x", "x ", "a,b",
]  # fmt: skip
SCALAR_TEXT = st.one_of(
    st.sampled_from(TRICKY),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
    st.from_regex(r"[A-Za-z][A-Za-z0-9_./@+=()-]{0,10}( [A-Za-z0-9_.-]{1,6}){0,2}", fullmatch=True),
)
KEY = st.one_of(st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,8}", fullmatch=True), SCALAR_TEXT)
SCALAR = st.one_of(
    SCALAR_TEXT, st.integers(-(10**6), 10**6), st.booleans(), st.none(), st.floats(-1e6, 1e6)
)
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEY, inner, max_size=4)),
    max_leaves=12,
)
RECORD = st.dictionaries(KEY, VALUE, min_size=1, max_size=5)


def typed(value: Any) -> Any:
    """Data with each scalar's type made visible (1, 1.0 and True compare equal in Python)."""
    if isinstance(value, dict):
        return {("key", typed(k)): typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, value)


def strict(text: bytes) -> Any:
    return load_yaml(text, "requests/archive/x.yaml").data


def assert_agrees(text: bytes) -> None:
    """The fast reader returns None, or what the strict reader returns (which must succeed)."""
    fast = load_plain(text)
    if fast is None:
        return
    try:
        expected = strict(text)
    except YamlError as exc:  # pragma: no cover - a counterexample
        raise AssertionError(
            f"the fast reader accepted what the strict one refuses: {exc}"
        ) from exc
    assert typed(fast) == typed(expected), text


def render(record: dict[str, Any]) -> bytes:
    return yaml.dump(
        record, Dumper=_block_dumper(), default_flow_style=False, sort_keys=False, width=1000,
        allow_unicode=True,
    ).encode()  # fmt: skip


@EXAMPLES
@given(RECORD)
def test_records_the_runner_writes_read_the_same_fast_and_strict(record: dict[str, Any]) -> None:
    assert_agrees(render(record))


MUTATIONS = st.sampled_from(
    [" ", "  ", "\n", "#", " #", ":", ": ", "- ", "'", '"', "\\", "\t", "&a ", "*a", "!x ",
     "[", "]", "{", "}", ",", "|", ">", "?", "---\n", "\r", "\u2028", "x"]
)  # fmt: skip


@EXAMPLES
@given(RECORD, st.lists(st.tuples(st.integers(0, 10**6), MUTATIONS), min_size=1, max_size=3))
def test_mutated_records_read_the_same_fast_and_strict(
    record: dict[str, Any], edits: list[tuple[int, str]]
) -> None:
    text = render(record).decode()
    for where, insert in edits:
        at = where % (len(text) + 1)
        text = text[:at] + insert + text[at:]
    assert_agrees(text.encode())


# A line's key and value, as the fast reader's line pattern splits it.
KEY_AND_VALUE = re.compile(
    r" *(?:- +)?(?:(?P<key>[A-Za-z0-9_][A-Za-z0-9_.-]*):(?: +|$))?(?P<value>.*)"
)
OTHER_VALUE = st.one_of(
    SCALAR_TEXT,
    SCALAR_TEXT.map(lambda text: f"'{text}'"),
    st.sampled_from(["'it''s'", "''", "'", "true", "[a, b]", "{}", "b: c", "x #y", "1_000"]),
)


PLAIN_KEY = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,8}", fullmatch=True)
PLAIN_VALUE = st.recursive(
    st.one_of(SCALAR, st.from_regex(r"[A-Za-z][a-z0-9 _.:'-]{0,12}", fullmatch=True)),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3),
        st.dictionaries(PLAIN_KEY, inner, min_size=1, max_size=3),
    ),
    max_leaves=10,
)


EDIT = st.one_of(
    st.none(),
    st.tuples(st.just("value"), OTHER_VALUE),
    st.tuples(st.just("key"), st.one_of(PLAIN_KEY, st.sampled_from(["a b", "-x", "x:", "'k'"]))),
)


@EXAMPLES
@given(
    st.dictionaries(PLAIN_KEY, PLAIN_VALUE, min_size=1, max_size=6),
    st.lists(st.lists(EDIT, min_size=1, max_size=12), min_size=2, max_size=4),
)
def test_records_of_a_learnt_layout_read_the_same_fast_and_strict(
    record: dict[str, Any], variants: list[list[tuple[str, str] | None]]
) -> None:
    """Records shaped like one read twice (so its layout is learnt) with other values and
    keys, each read after the ones before (which may have widened the layout)."""
    text = render(record)
    for _ in range(3):  # read by line, read by line and learnt, read through the layout
        assert_agrees(text)
    for edits in variants:
        lines = text.decode().split("\n")
        for number, edit in enumerate(edits):
            match = KEY_AND_VALUE.match(lines[number % len(lines)])
            if edit is None or not match or not match[edit[0]]:
                continue
            start, end = match.span(edit[0])
            line = match[0]
            lines[number % len(lines)] = line[:start] + edit[1].replace("\n", " ") + line[end:]
        for _ in range(2):
            assert_agrees("\n".join(lines).encode())


LINE = st.tuples(
    st.sampled_from(["", "", "  ", "    ", " "]),  # indent
    st.sampled_from(["", "", "- ", "-  "]),  # list dash
    st.one_of(st.just(""), KEY.filter(lambda k: "\n" not in k).map(lambda k: f"{k}:")),
    st.sampled_from(["", " ", "  "]),
    st.one_of(st.just(""), SCALAR_TEXT, st.sampled_from(["[a, b]", "[]", "{}", "['x', 1]"])),
)


@EXAMPLES
@given(st.lists(LINE, min_size=1, max_size=8))
def test_lines_built_from_yaml_indicators_read_the_same_fast_and_strict(
    lines: list[tuple[str, str, str, str, str]],
) -> None:
    text = "".join("".join(parts).replace("\n", " ") + "\n" for parts in lines)
    assert_agrees(text.encode())


SIMPLE_TEXT = st.one_of(
    st.sampled_from(TRICKY), st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_./@+:-]{0,12}", fullmatch=True)
)
SIMPLE = st.recursive(
    st.one_of(SIMPLE_TEXT, st.integers(-(10**9), 10**9), st.booleans(), st.none()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(SIMPLE_TEXT, inner, max_size=3)
    ),
    max_leaves=10,
)


@EXAMPLES
@given(SIMPLE_TEXT, st.dictionaries(SIMPLE_TEXT, SIMPLE, max_size=5))
def test_the_direct_block_writer_writes_what_pyyaml_writes(key: str, value: dict[str, Any]) -> None:
    reference = yaml.dump(
        {key: value}, Dumper=_block_dumper(), default_flow_style=False, sort_keys=False,
        width=1000,
    )  # fmt: skip
    written = dump_block(key, value)
    assert written == reference
    assert typed(strict(written.encode())) == typed({key: value})
