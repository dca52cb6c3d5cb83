"""The fast record reader agrees with the strict loader, or steps aside for it."""

from __future__ import annotations

import pytest

from jitflow.core import plain_yaml
from jitflow.core.plain_layouts import Layouts
from jitflow.core.plain_yaml import load_plain
from jitflow.core.yamlio import YamlError, dump_block, load_yaml
from jitflow.usecases.audit.gitlog import parse_record
from tests.audit.conftest import StandardHistory

READ_FAST = [
    b"a: 1\nb:\n- x\n- 'y'\nc: [a, b]\nd: {}\ne: []\n",
    b"a: yes\nb: 1.5\nc: 0x10\nd: ~\ne: -3\nf: null\ng: True\nh: 1e3\ni: .5\nj: 2026-01-01\n",
    b"a:\n  b:\n    c: d\n  e: f\n",
    b"# comment\na: x#y\nb: http://x\nc: '#'\n\n\nd: 'it''s'\ne: ''\nf: \"\"\n",
    b"a:\n  - x\n  - y\nb: z\n",
    b"a:\n- k: v\n  j: w\n- k: v2\n",
    b"k:\n  - a: b\n    c: d\n  - e\n",
    b"a: [1, 2.5, null, true]\nb: ['x', \"y\"]\nk:    v\n",
    "k: caf\u00e9 na\u00efve\n".encode(),
    (
        "x: 1\n"
        + dump_block(
            "ended",
            {
                "at": "2026-01-01T00:00:00Z",
                "reason": "denied",
                "findings": [{"code": "a", "message": "it's: bad # x"}, {"code": "b"}],
            },
        )
    ).encode(),
]

LEFT_TO_STRICT = [
    b"a: .inf\n",  # an error for the strict loader
    b"a: b\n  c\n",  # multi-line plain scalar
    b"a: 'x\n  y'\n",
    b"- a\n",
    b"a: b # c\n",
    b"a: 1\na: 2\n",
    b'a: "q\\n"\n',
    b"a: [x, [y]]\n",
    b"a: -\n",
    b"a:\n- x\n  - y\n",
    b"a: b: c\n",
    b"a:b\n",
    b"'a': b\n",
    b"a: !x b\n",
    b"a: &x b\nc: *x\n",
    b"a:\n  b: 1\n c: 2\n",
    b"a: {x: 1}\n",
    b"a: |\n  text\n",
    b"k: a\tb\n",
    b"k: a\r\nb: c\n",
    b"k: v \n",
    b"---\nk: v\n",
    "k: a\u2028b\n".encode(),
    b"k: \xff\n",
]


@pytest.mark.parametrize("content", READ_FAST)
def test_plain_records_read_the_same_as_the_strict_loader(content: bytes) -> None:
    assert load_plain(content) is not None
    assert load_plain(content) == load_yaml(content, "r.yaml").data


@pytest.mark.parametrize("content", LEFT_TO_STRICT)
def test_anything_else_is_left_to_the_strict_loader(content: bytes) -> None:
    assert load_plain(content) is None
    try:
        expected = load_yaml(content, "r.yaml").data
    except YamlError:
        expected = None
    assert parse_record(content, "r") == (expected if isinstance(expected, dict) else None)


def test_every_ledger_record_of_a_history_is_read_fast_and_alike(
    standard: StandardHistory,
) -> None:
    git = standard.builder.git
    listed = git.run("rev-list", "--objects", "--all").splitlines()
    paths = [
        line.split(" ", 1) for line in listed if " requests/" in line and line.endswith(".yaml")
    ]
    blobs = git.cat_blobs([sha for sha, _ in paths])
    assert len(blobs) >= 10
    for (_, path), content in zip(paths, blobs, strict=True):
        assert content is not None
        assert load_plain(content) is not None, path
        assert load_plain(content) == load_yaml(content, path).data, path


LAYOUT = b"a: x\nb:\n- y\n- 'z'\n- k: v\n  j: 2\nc: 1\nd:\n  e: 'f g'\nn:\n"
SAME_LAYOUT = [
    b"a: other words\nb:\n- y2\n- ''\n- k: w\n  j: 3\nc: 7\nd:\n  e: 'h: #'\nn:\n",
    b"a:   x\nb:\n- y\n- 'z'\n- k: v\n  j: 2\nc: 1\nd:\n  e: 'f g'\nn:\n",
    b"a: x\nb:\n- y\n- 'z'\n- k: v\n  j: 2.5\nc: null\nd:\n  e: 'f g'\nn:\n",
]
NEAR_LAYOUT = [
    b"a: true\nb:\n- y\n- 'z'\n- k: v\n  j: 2\nc: 1\nd:\n  e: 'f g'\nn:\n",
    b"a: b # c\nb:\n- y\n- 'z'\n- k: v\n  j: 2\nc: 1\nd:\n  e: 'f g'\nn:\n",
    b"a: x\nb:\n- y: 1\n- 'z'\n- k: v\n  j: 2\nc: 1\nd:\n  e: 'f g'\nn:\n",
    b"a: x\nb:\n- y\n- 'z'\n- k: v\n  j: 2\nc: [1]\nd:\n  e: 'f g'\nn:\n",
    b"a: x\nb:\n- y\n- 'it''s'\n- k: v\n  j: 2\nc: 1\nd:\n  e: 'f g'\nn:\n",
    b"a: x\nb:\n- y\n- 'z'\n- k: v\n  k: 2\nc: 1\nd:\n  e: 'f g'\nn:\n",
    b"a: x\nb:\n- y\n- 'z'\n- k: v\n  j: .inf\nc: 1\nd:\n  e: 'f g'\nn:\n",
    b"a: x\nb:\n- y\n- 'z'\n- k: v\n  j: 2\nc: {}\nd:\n  e: 'f g'\nn:\n",
    b"a: x\nb:\n- y\n- 'z'\n- k: v\n  j: 2\nc: 1\nd:\n  e: 'f g'\nn: \n",
]


def _learn_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        plain_yaml, "_LAYOUTS", Layouts(plain_yaml._scalar_or_later, plain_yaml._LATER)
    )
    for _ in range(2):  # the second reading learns the layout
        assert load_plain(LAYOUT) == load_yaml(LAYOUT, "r.yaml").data


@pytest.mark.parametrize("content", SAME_LAYOUT)
def test_records_of_a_learnt_layout_are_read_without_the_line_reader(
    content: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    _learn_layout(monkeypatch)
    expected = load_yaml(content, "r.yaml").data
    monkeypatch.setattr(plain_yaml, "_Reader", None)  # any reading by line would fail
    assert repr(load_plain(content)) == repr(expected)  # repr: types too (1, 1.0, True)


@pytest.mark.parametrize("content", NEAR_LAYOUT)
def test_records_near_a_learnt_layout_read_as_the_line_reader_reads_them(
    content: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    _learn_layout(monkeypatch)
    after = load_plain(content)
    monkeypatch.setattr(
        plain_yaml, "_LAYOUTS", Layouts(plain_yaml._scalar_or_later, plain_yaml._LATER)
    )
    assert repr(after) == repr(load_plain(content))


# Two records of one structure whose keys differ (the logins under approved_at): the layout
# learnt from them captures those keys.
APPROVALS = [
    b"grant:\n  approved_at:\n    alice: '2026-01-01T00:00:00Z'\n    bob: '2026-01-01T00:01:00Z'\n",
    b"grant:\n  approved_at:\n    carol: '2026-01-02T00:00:00Z'\n    bob: '2026-01-02T00:01:00Z'\n",
]


def test_keys_that_differ_between_records_are_read_from_each_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        plain_yaml, "_LAYOUTS", Layouts(plain_yaml._scalar_or_later, plain_yaml._LATER)
    )
    for content in APPROVALS:
        assert load_plain(content) == load_yaml(content, "r.yaml").data
    third = b"grant:\n  approved_at:\n    dave: '2026-01-03T00:00:00Z'\n    bob: 'x'\n"
    twice = b"grant:\n  approved_at:\n    dave: '2026-01-03T00:00:00Z'\n    dave: x\n"
    with monkeypatch.context() as reading:
        reading.setattr(plain_yaml, "_Reader", None)  # any reading by line would fail
        assert repr(load_plain(third)) == repr(load_yaml(third, "r.yaml").data)
        assert load_plain(APPROVALS[0]) == load_yaml(APPROVALS[0], "r.yaml").data
    assert load_plain(twice) is None  # a key twice: the line reader refuses it
