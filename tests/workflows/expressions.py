"""GitHub Actions expressions, as far as the workflows use them, and file-command parsing.

`${{ }}` values are context paths (`github.event.pull_request.number`), literals, `==`, `!=`,
`!`, `&&`, `||` and parentheses, with GitHub's loose equality and case-insensitive property
names. Functions and other operators raise `HarnessError`: a harness that guessed could pass
a workflow GitHub would run differently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any


class HarnessError(Exception):
    """The workflow uses something the harness does not emulate, or a step failed."""


# -- expressions --------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>\d+(?:\.\d+)?)"
    r"|(?P<op>==|!=|&&|\|\||<=|>=|[!().\[\]<>,])|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)
_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_LITERALS = {"true": True, "false": False, "null": None}


def evaluate(text: str, context: Mapping[str, Any]) -> Any:
    """The value of a GitHub expression made of context paths, literals, ==, !=, !, && and ||."""
    tokens, position = [], 0
    while text[position:].strip():
        match = _TOKEN.match(text, position)
        if match is None:
            raise HarnessError(f"expression not emulated: {text!r} (at {text[position:]!r})")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    parser = _Parser(tokens, context, text)
    value = parser.either()
    if parser.tokens:
        raise HarnessError(f"expression not emulated: {text!r} (left over {parser.tokens})")
    return value


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], context: Mapping[str, Any], text: str):
        self.tokens, self.context, self.text = tokens, context, text

    def _take(self, *ops: str) -> str | None:
        if self.tokens and self.tokens[0][0] == "op" and self.tokens[0][1] in ops:
            return self.tokens.pop(0)[1]
        return None

    def either(self) -> Any:
        value = self.both()
        while self._take("||"):
            right = self.both()
            value = value if truthy(value) else right
        return value

    def both(self) -> Any:
        value = self.compare()
        while self._take("&&"):
            right = self.compare()
            value = right if truthy(value) else value
        return value

    def compare(self) -> Any:
        value = self.unary()
        while op := self._take("==", "!="):
            same = _equal(value, self.unary())
            value = same if op == "==" else not same
        return value

    def unary(self) -> Any:
        return not truthy(self.unary()) if self._take("!") else self.primary()

    def primary(self) -> Any:
        if not self.tokens:
            raise HarnessError(f"expression ends too early: {self.text!r}")
        kind, token = self.tokens.pop(0)
        if kind == "op" and token == "(":
            value = self.either()
            if not self._take(")"):
                raise HarnessError(f"unbalanced parentheses in {self.text!r}")
            return value
        if kind == "string":
            return token[1:-1].replace("''", "'")
        if kind == "number":
            return float(token) if "." in token else int(token)
        if kind != "name":
            raise HarnessError(f"operator {token!r} is not emulated in {self.text!r}")
        if token in _LITERALS:
            return _LITERALS[token]
        if self._take("("):
            raise HarnessError(f"function {token}() is not emulated (in {self.text!r})")
        if token not in self.context:
            raise HarnessError(f"unknown context {token!r} in {self.text!r}")
        value = self.context[token]
        while self.tokens:
            if self._take("."):
                value = _property(value, self.tokens.pop(0)[1])
            elif self._take("["):
                value = _property(value, self.either())
                if not self._take("]"):
                    raise HarnessError(f"unbalanced brackets in {self.text!r}")
            else:
                break
        return value


def _property(value: Any, key: Any) -> Any:
    """Property access as GitHub does it: case-insensitive, null when missing."""
    if isinstance(value, list) and isinstance(key, int):
        return value[key] if 0 <= key < len(value) else None
    if not isinstance(value, dict):
        return None
    if key in value:
        return value[key]
    matches = [v for k, v in value.items() if str(k).casefold() == str(key).casefold()]
    return matches[0] if matches else None


def _kind(value: Any) -> str:
    if value is None or isinstance(value, bool | str):
        return type(value).__name__
    return "number" if isinstance(value, int | float) else "object"


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, str):
        try:
            return float(value.strip() or 0)
        except ValueError:
            return float("nan")
    return float(value)


def _equal(left: Any, right: Any) -> bool:
    """GitHub's loose equality: strings ignore case, other kinds meet as numbers."""
    kinds = {_kind(left), _kind(right)}
    if kinds == {"str"}:
        return bool(left.casefold() == right.casefold())
    if "object" in kinds:
        return left is right
    if len(kinds) == 1:
        return bool(left == right)
    return _number(left) == _number(right)


def truthy(value: Any) -> bool:
    if isinstance(value, float) and value != value:
        return False
    return _kind(value) == "object" or value not in (None, False, 0, "")


def render(value: Any) -> str:
    """A value as a string, the way `${{ }}` puts it into text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value) if _kind(value) == "object" else str(value)


def interpolate(value: Any, context: Mapping[str, Any]) -> Any:
    """Resolve `${{ }}` in a string; a string that is one whole expression keeps its type."""
    if not isinstance(value, str):
        return value
    whole = _EXPRESSION.fullmatch(value.strip())
    if whole and "}}" not in whole.group(1):
        return evaluate(whole.group(1), context)
    return _EXPRESSION.sub(lambda m: render(evaluate(m.group(1), context)), value)


def condition_holds(condition: Any, context: Mapping[str, Any]) -> bool:
    """An `if:` (with or without `${{ }}`). GitHub adds `success() &&`; every earlier step
    succeeded here, since the harness stops at the first failure."""
    text = str(condition).strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    return truthy(evaluate(text, context))


def parse_file_command(text: str) -> dict[str, str]:
    """`name=value` lines and `name<<DELIMITER` blocks, as GITHUB_OUTPUT / GITHUB_ENV take."""
    values: dict[str, str] = {}
    lines = iter(text.split("\n"))
    for line in lines:
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            block = []
            for item in lines:
                if item == delimiter:
                    break
                block.append(item)
            values[key] = "\n".join(block)
        elif "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
        else:
            raise HarnessError(f"invalid file command line: {line!r}")
    return values
