"""The JSON Schemas (draft 2020-12) that define jitflow's file formats, and validation
that reports each problem at the file's line and column."""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

from jitflow.core.model import Finding
from jitflow.core.yamlio import Document, hint_for_string

SCHEMA_NAMES = ("request", "policy", "groups", "oncall", "policy-test", "outbound")


@cache
def schema_text(name: str) -> str:
    if name not in SCHEMA_NAMES:
        raise KeyError(name)
    return resources.files("jitflow.core").joinpath(f"schemas/{name}.schema.json").read_text()


@cache
def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_text(name))
    return loaded


@cache
def _validator(name: str) -> Any:
    # jsonschema's optional IRI checker builds a parser grammar at import time (seconds);
    # jitflow's schemas use only date-time and regex, so keep it from loading.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    import jsonschema

    cls = jsonschema.Draft202012Validator
    return cls(schema(name), format_checker=cls.FORMAT_CHECKER)


def validate(document: Document, name: str) -> list[Finding]:
    """Every schema violation as a `schema` finding at the offending value's position."""
    errors = sorted(
        _validator(name).iter_errors(document.data), key=lambda e: list(map(str, e.path))
    )
    findings = []
    for error in _leaves(errors):
        json_path = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            # Point at the first unknown key itself, not at the mapping that holds it.
            known = error.schema.get("properties", {})
            unknown = [(*json_path, key) for key in error.instance if key not in known]
            if unknown:
                first = min(unknown, key=document.key_position)
                line, column = document.key_position(first)
                findings.append(
                    Finding("schema", _describe(error, name), document.path, line, column)
                )
                continue
        if _names_a_key(error):
            line, column = document.key_position((*json_path, error.instance))
        else:
            line, column = document.position(json_path)
        findings.append(
            Finding(
                code="schema",
                message=_describe(error, name),
                path=document.path,
                line=line,
                column=column,
            )
        )
    return findings


def _leaves(errors: Iterable[Any]) -> Iterable[Any]:
    """Prefer the precise sub-errors of `allOf`/`if` wrappers over the wrapper itself."""
    for error in errors:
        if error.validator in ("allOf", "anyOf", "oneOf") and error.context:
            yield from _leaves(error.context)
        else:
            yield error


def _where(error: Any, name: str) -> str:
    """`approvals.rules[0].count`: the path as people write it, not JSON Pointer parts."""
    text = ""
    for part in error.absolute_path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or f"the {name} file"


# JSON Schema's type names, in the words of someone writing YAML.
_TYPE_WORDS = {
    "array": "list",
    "object": "mapping",
    "integer": "whole number",
    "string": "string",
    "boolean": "boolean (true or false)",
    "number": "number",
    "null": "null",
}


def _describe(error: Any, name: str) -> str:
    where = _where(error, name)
    kind = error.validator
    value = error.instance
    if kind == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(value) - set(allowed)) if isinstance(value, dict) else []
        listed = ", ".join(allowed) if allowed else "none"
        close = difflib.get_close_matches(unknown[0], allowed, n=1) if unknown else []
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return (
            f"unknown key {', '.join(map(repr, unknown))} in {where}{hint}; allowed keys: {listed}"
        )
    if kind == "required":
        return f"{where} is missing the required key {error.message.split(' ')[0]}"
    if kind == "type":
        expected = error.validator_value
        names = expected if isinstance(expected, list) else [expected]
        words = [_TYPE_WORDS.get(str(t), str(t)) for t in names]
        expected_text = " or ".join(words)
        got = _json_type(value)
        return f"{where} must be {_article(expected_text)}, got {got} {value!r}" + hint_for_string(
            value
        )
    if kind == "enum":
        options = ", ".join(map(str, error.validator_value))
        return f"{where} is {value!r}; allowed values: {options}"
    if kind == "const":
        return f"{where} must be {error.validator_value!r}"
    if kind == "pattern" and _names_a_key(error):
        expected = error.schema.get("description") or f"pattern {error.validator_value}"
        return f"key {value!r} in {where} is not allowed; expected {expected}"
    if kind == "pattern":
        described = error.schema.get("description")
        suffix = f" ({described})" if described else f" (pattern {error.validator_value})"
        return f"{where} {value!r} is not in the expected form{suffix}"
    if kind == "format":
        if error.validator_value == "date-time":
            return f"{where} {value!r} is not a date-time; write e.g. 2026-11-23T09:00:00Z"
        return f"{where} {value!r} is not a valid {error.validator_value}"
    if kind in ("minLength", "maxLength", "minimum", "maximum", "minItems", "minProperties"):
        return f"{where}: {error.message}"
    if kind == "uniqueItems":
        return f"{where} lists the same entry twice"
    if kind == "propertyNames":
        return f"group name {value!r} is not allowed; use lowercase letters, digits and dashes"
    return f"{where}: {error.message}"


def _names_a_key(error: Any) -> bool:
    """Whether `error` is about a mapping's key (`propertyNames`), not a value."""
    return "propertyNames" in error.absolute_schema_path and isinstance(error.instance, str)


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "nothing (null)"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _article(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"
