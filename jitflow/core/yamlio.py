"""Strict, safe YAML: the one module that imports `yaml`.

Policies and requests are security-relevant, so the loader accepts a small, unambiguous
subset of YAML: no anchors, aliases, merge keys or tags; no duplicate keys; one document;
UTF-8 only; bounded size and depth. Scalars follow the YAML 1.2 core schema, so the YAML 1.1
surprises (`on`/`no` as booleans, `1:30` as 90, bare dates as datetimes) never happen: such
values stay strings and the JSON Schema then says precisely what was expected.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from jitflow.errors import JitflowError

if TYPE_CHECKING:
    import yaml

MAX_BYTES = 64 * 1024
MAX_DEPTH = 32

JsonPath = tuple[str | int, ...]


class YamlError(JitflowError):
    """A file is not acceptable YAML; carries where and what was expected."""

    def __init__(self, path: str, line: int, column: int, problem: str) -> None:
        super().__init__(f"{path}:{line}:{column}: {problem}")
        self.path = path
        self.line = line
        self.column = column
        self.problem = problem


@dataclass(frozen=True)
class Document:
    """Plain data (dicts, lists, str, int, float, bool, None) plus where each value starts."""

    path: str
    data: Any
    positions: Mapping[JsonPath, tuple[int, int]]
    key_positions: Mapping[JsonPath, tuple[int, int]] = field(default_factory=dict)

    def position(self, json_path: JsonPath) -> tuple[int, int]:
        """Line and column of the value at `json_path`, or of its closest ancestor."""
        probe = tuple(json_path)
        while probe:
            if probe in self.positions:
                return self.positions[probe]
            probe = probe[:-1]
        return self.positions.get((), (1, 1))

    def key_position(self, json_path: JsonPath) -> tuple[int, int]:
        """Line and column of the key that names `json_path` (for "unknown key" errors)."""
        return self.key_positions.get(tuple(json_path)) or self.position(json_path)


_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_NONFINITE = re.compile(r"^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$")
_YAML11_BOOL = {"y", "n", "yes", "no", "on", "off"}


def _hint_for(value: str) -> str:
    if value.lower() in _YAML11_BOOL:
        return f" ({value!r} is a string here; write true or false for a boolean)"
    return ""


def load_yaml(content: bytes, path: str) -> Document:
    """Parse one strict YAML document; raise YamlError naming file, line and column."""
    import yaml

    if len(content) > MAX_BYTES:
        raise YamlError(path, 1, 1, f"file is {len(content)} bytes; the limit is {MAX_BYTES}")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        column = exc.start - (content.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlError(path, line, column, "file is not valid UTF-8") from exc
    text = text.removeprefix("\ufeff")
    try:
        node = _compose(text)
    except YamlError as exc:
        raise YamlError(path, exc.line, exc.column, exc.problem) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = _with_context(exc)
        if "expected a single document" in str(exc.context or ""):
            problem = "only one YAML document is allowed per file (remove the '---' separator)"
        raise YamlError(path, line, column, problem) from None
    except yaml.YAMLError as exc:
        raise YamlError(path, 1, 1, f"invalid YAML: {exc}") from None
    if node is None:
        return Document(path, None, {(): (1, 1)})
    positions: dict[JsonPath, tuple[int, int]] = {}
    key_positions: dict[JsonPath, tuple[int, int]] = {}
    data = _construct(node, (), (positions, key_positions), path)
    return Document(path, data, positions, key_positions)


def _with_context(exc: yaml.MarkedYAMLError) -> str:
    """PyYAML's problem with its context, e.g. "while scanning a quoted scalar (started at
    line 3, column 9): found unexpected end of stream": the start is often the real typo."""
    problem = exc.problem or "invalid YAML"
    if not exc.context:
        return problem
    started = exc.context_mark
    if started is not None and started is not exc.problem_mark:
        where = f" (started at line {started.line + 1}, column {started.column + 1})"
    else:
        where = ""
    return f"{exc.context}{where}: {problem}"


def _compose(text: str) -> Any:
    """Compose one document. Text that can't hold an anchor, alias, tag or deep nesting goes
    through libyaml (fast, for audits over thousands of records); the rest through the
    checking composer, which names the offending construct."""
    import yaml

    if _plainly_safe(text) and hasattr(yaml, "CSafeLoader"):
        return yaml.compose(text, Loader=_fast_loader())
    loader = _StrictLoader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


@cache
def _fast_loader() -> type:
    import yaml

    class FastLoader(yaml.CSafeLoader):
        """libyaml's composer; tags are ignored (`_scalar` decides types), so skip resolving."""

        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            return "tag:yaml.org,2002:str"

    return FastLoader


def _plainly_safe(text: str) -> bool:
    if "&" in text or "*" in text or "!" in text:
        return False
    if text.count("[") + text.count("{") >= MAX_DEPTH:
        return False
    deepest = max((len(line) - len(line.lstrip(" ")) for line in text.splitlines()), default=0)
    return deepest < MAX_DEPTH


def _position(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


_Positions = tuple[dict[JsonPath, tuple[int, int]], dict[JsonPath, tuple[int, int]]]


def _construct(node: yaml.Node, at: JsonPath, maps: _Positions, path: str) -> Any:
    import yaml

    positions, key_positions = maps
    positions[at] = _position(node)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError(path, *_position(key_node), "mapping keys must be plain strings")
            key = key_node.value
            if key == "<<" and not key_node.style:
                raise YamlError(path, *_position(key_node), "merge keys (<<) are not allowed")
            if key in result:
                first = positions[(*at, key)]
                raise YamlError(
                    path,
                    *_position(key_node),
                    f"duplicate key {key!r} (first defined at line {first[0]})",
                )
            positions[(*at, key)] = _position(value_node)
            key_positions[(*at, key)] = _position(key_node)
            result[key] = _construct(value_node, (*at, key), maps, path)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*at, i), maps, path) for i, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    return _scalar(node, path)


def _scalar(node: yaml.ScalarNode, path: str) -> Any:
    value: str = node.value
    if node.style:  # quoted or block scalar: always a string (plain is None or "")
        return value
    try:
        return plain_scalar(value)
    except ValueError as exc:
        raise YamlError(path, *_position(node), str(exc)) from None


def plain_scalar(value: str) -> Any:
    """An unquoted scalar's value under the YAML 1.2 core schema (ValueError if not finite)."""
    if value in ("", "~", "null", "Null", "NULL"):
        return None
    if value in ("true", "True", "TRUE"):
        return True
    if value in ("false", "False", "FALSE"):
        return False
    if _NONFINITE.match(value):
        raise ValueError(f"{value} is not a finite number; use a plain number")
    if _INT.match(value):
        return int(value)
    if _FLOAT.match(value):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{value} is too large a number")
        return number
    return value


def _make_loader() -> type:
    import yaml

    class StrictLoader(yaml.SafeLoader):
        """SafeLoader that refuses anchors, aliases, tags and deep nesting while composing."""

        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self._depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()  # type: ignore[no-untyped-call]
            if isinstance(event, yaml.AliasEvent):
                raise _marked(event, "aliases (*name) are not allowed; write the value out")
            anchor = getattr(event, "anchor", None)
            if anchor is not None:
                raise _marked(event, f"anchors (&{anchor}) are not allowed; write values out")
            tag = getattr(event, "tag", None)
            if tag is not None and tag != "!" and not getattr(event, "implicit", (True,))[0]:
                raise _marked(event, f"explicit tags ({tag}) are not allowed")
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                if event.tag is not None:
                    raise _marked(event, f"explicit tags ({event.tag}) are not allowed")
                self._depth += 1
                if self._depth > MAX_DEPTH:
                    raise _marked(event, f"nesting is deeper than {MAX_DEPTH} levels")
                try:
                    return super().compose_node(parent, index)
                finally:
                    self._depth -= 1
            return super().compose_node(parent, index)

    return StrictLoader


def _marked(event: Any, problem: str) -> YamlError:
    mark = event.start_mark
    return YamlError("", mark.line + 1, mark.column + 1, problem)


@cache
def _loader_class() -> type:
    return _make_loader()


def _StrictLoader(text: str) -> Any:
    return _loader_class()(text)


def hint_for_string(value: object) -> str:
    """Extra advice when a value that was meant as a boolean stayed a string."""
    return _hint_for(value) if isinstance(value, str) else ""


def dump_block(key: str, value: Mapping[str, Any]) -> str:
    """Render one top-level `key:` block to append to a ledger file (block style, quoted dates).

    A sync writes a block per transition, thousands at once: simple blocks (identifiers,
    times, numbers, flags, lists and mappings of those) are written directly, as PyYAML
    would write them; anything else goes through PyYAML. That direct path is proven equal to
    PyYAML's output (and read back by `load_yaml` to the same data) by a property-based
    differential test (Hypothesis), tests/core/test_yaml_differential.py.
    """
    try:
        return "".join(_block_lines({key: dict(value)}, 0, []))
    except _NotSimple:
        pass
    import yaml

    return str(
        yaml.dump(
            {key: dict(value)},
            Dumper=_block_dumper(),
            default_flow_style=False,
            sort_keys=False,
            width=1000,
        )
    )


class _NotSimple(Exception):
    """A value outside what the direct writer handles; PyYAML writes the block instead."""


# Plain-safe: no indicator first, no space, colon, hash, quote or flow character anywhere.
_PLAIN_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./@+-]*\Z")
# Times and the like: safe inside single quotes, and PyYAML quotes them (they resolve to
# timestamps, numbers or booleans under YAML 1.1).
_QUOTABLE_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./@+:-]*\Z")


def _block_lines(mapping: dict[str, Any], indent: int, lines: list[str]) -> list[str]:
    pad = " " * indent
    for key, value in mapping.items():
        head = f"{pad}{_scalar_text(key)}:"
        if type(value) is dict:
            if not value:
                lines.append(head + " {}\n")
            else:
                lines.append(head + "\n")
                _block_lines(value, indent + 2, lines)
        elif type(value) is list:
            if not value:
                lines.append(head + " []\n")
            else:
                lines.append(head + "\n")
                _sequence_lines(value, indent, lines)
        else:
            lines.append(f"{head} {_scalar_text(value)}\n")
    return lines


def _sequence_lines(items: list[Any], indent: int, lines: list[str]) -> None:
    """A block sequence under a mapping key, indented like the key (as PyYAML does)."""
    pad = " " * indent
    for item in items:
        if type(item) is dict and item:
            entry = _block_lines(item, indent + 2, [])
            entry[0] = f"{pad}- {entry[0][indent + 2 :]}"
            lines.extend(entry)
        elif type(item) in (dict, list):
            raise _NotSimple
        else:
            lines.append(f"{pad}- {_scalar_text(item)}\n")


def _scalar_text(value: object) -> str:
    if value is None:
        return "null"
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is int:
        return str(value)
    if type(value) is not str:
        raise _NotSimple
    text: str = value
    if _PLAIN_WORD.match(text) is not None:
        if _reads_as_string(text) and _core_string(text):
            return text
        return f"'{text}'"
    if _QUOTABLE_WORD.match(text) is not None and not _reads_as_string(text):
        return f"'{text}'"
    raise _NotSimple


def _core_string(text: str) -> bool:
    try:
        return isinstance(plain_scalar(text), str)
    except ValueError:
        return False


def _reads_as_string(text: str) -> bool:
    """Whether the block dumper would write `text` unquoted (it resolves as a string)."""
    return bool(_block_resolver().resolve(_scalar_node_class(), text, (True, False)) == _STR_TAG)


_STR_TAG = "tag:yaml.org,2002:str"


@cache
def _block_dumper() -> type:
    """PyYAML's safe dumper, also quoting strings YAML 1.2 reads as numbers (1e10, 3E7):
    PyYAML resolves by YAML 1.1 and would write them bare, and `load_yaml` reads 1.2."""
    import yaml

    class BlockDumper(yaml.SafeDumper):
        pass

    BlockDumper.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))
    return BlockDumper


@cache
def _block_resolver() -> Any:
    return _block_dumper()(None)


@cache
def _scalar_node_class() -> type:
    import yaml

    return yaml.ScalarNode


def dump(data: Mapping[str, Any]) -> str:
    """Render a mapping as block-style YAML that `load_yaml` reads back to the same data."""
    import yaml

    return str(
        yaml.dump(
            dict(data),
            Dumper=_block_dumper(),
            default_flow_style=False,
            sort_keys=False,
            width=100,
            allow_unicode=True,
        )
    )
