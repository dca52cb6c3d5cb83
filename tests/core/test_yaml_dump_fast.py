"""Ledger blocks are written directly (fast) exactly as PyYAML writes them, and read back
identically; what the direct writer does not handle still goes through PyYAML."""

from __future__ import annotations

import random
import re
import string
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from jitflow.core.ledger import (
    EndedBlock,
    EndReason,
    GrantBlock,
    render_ended,
    render_grant,
)
from jitflow.core.model import Finding, GrantKind
from jitflow.core.yamlio import dump, dump_block, load_yaml

WHEN = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


class Yaml12Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper that also quotes what YAML 1.2 reads as a number (1e10, 095)."""


Yaml12Dumper.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)


def pyyaml(key: str, value: dict[str, Any], dumper: type = yaml.SafeDumper) -> str:
    """The reference: what dump_block wrote before it had a direct path."""
    return str(
        yaml.dump(
            {key: value}, Dumper=dumper, default_flow_style=False, sort_keys=False, width=1000
        )
    )


def reads_back(text: str) -> Any:
    return load_yaml(text.encode(), "requests/active/x.yaml").data


def test_ledger_blocks_are_written_as_pyyaml_writes_them() -> None:
    grant = GrantBlock(
        kind=GrantKind.DATABASE,
        mount="database",
        role="readwrite",
        issued_at=WHEN,
        expires_at=WHEN + timedelta(hours=1),
        requested_seconds=3600,
        granted_seconds=1800,
        approved_by=("bob", "carol"),
        merged_by="bob",
        merged_at=WHEN,
        pr=42,
        merge_commit="0" * 40,
        policy_commit="1234567",  # digits only: must stay a (quoted) string
        vault={"accessor": "hmac-abc.DEF_1", "lease_id": "database/creds/readwrite/Xy9"},
    )
    text = render_grant(grant)
    assert text == pyyaml("grant", reads_back(text)["grant"])
    assert "policy_commit: '1234567'" in text
    assert reads_back(text)["grant"]["policy_commit"] == "1234567"
    ended = EndedBlock(WHEN, EndReason.EXPIRED, "jitflow-sync", pr=7, merge_commit="a" * 40)
    text = render_ended(ended)
    assert text == (
        "ended:\n  at: '2026-11-22T09:30:00Z'\n  reason: expired\n  by: jitflow-sync\n"
        f"  pr: 7\n  merge_commit: {'a' * 40}\n"
    )


def test_values_outside_the_direct_path_still_go_through_pyyaml() -> None:
    findings = (Finding("no-approval", "needs one approval: from bob's team", "p", 1, 1),)
    text = render_ended(EndedBlock(WHEN, EndReason.DENIED, "jitflow-sync", findings=findings))
    data = reads_back(text)["ended"]
    assert text == pyyaml("ended", data)
    assert data["findings"] == [{"code": "no-approval", "message": findings[0].message}]
    for odd in ("two words", "café", "line\nbreak", "", " lead", "a: b", "it's", 1.5):
        value = {"v": odd, "n": 1}
        assert dump_block("x", value) == pyyaml("x", value)
        assert reads_back(dump_block("x", value)) == {"x": value}


@pytest.mark.parametrize("word", ["1e10", "1E5", "12e3"])
def test_numbers_only_yaml_1_2_sees_are_quoted_so_they_stay_strings(word: str) -> None:
    # PyYAML (YAML 1.1) writes these bare, and a YAML 1.2 reader takes them for floats.
    assert reads_back(pyyaml("grant", {"merge_commit": word})) != {"grant": {"merge_commit": word}}
    text = dump_block("grant", {"merge_commit": word})
    assert text == f"grant:\n  merge_commit: '{word}'\n"
    assert reads_back(text) == {"grant": {"merge_commit": word}}
    slow = dump_block("ended", {"message": "two words", "sha": word})  # through PyYAML
    assert reads_back(slow) == {"ended": {"message": "two words", "sha": word}}
    assert reads_back(dump({"sha": word})) == {"sha": word}


_WORDS = [
    "yes", "No", "on", "OFF", "null", "Null", "true", "False", "y", "n", "1.5", "0x1F", "0o17",
    "012", "12", "-3", "+4", "1_000", "1:30", "2026-11-22", "2026-11-22T09:30:00Z", "a:b",
    "1.2.3", "e", "E5", "0b101", "a-", "x@y", "a/b.c", "_x", "inf", "nan", "Y", "~", ".inf",
]  # fmt: skip
_CHARS = string.ascii_letters + string.digits + "_./@+:-"


def _random_value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth < 3 and roll < 0.12:
        return {_random_text(rng) or "k": _random_value(rng, depth + 1) for _ in range(3)}
    if depth < 3 and roll < 0.25:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if roll < 0.35:
        return rng.choice([True, False, None, rng.randint(-(10**9), 10**9)])
    return _random_text(rng)


def _random_text(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(_WORDS)
    return "".join(rng.choice(_CHARS) for _ in range(rng.randint(1, 12)))


def test_random_simple_blocks_match_pyyaml_and_read_back_identically() -> None:
    rng = random.Random(20261122)
    for _ in range(1000):
        value = {_random_text(rng): _random_value(rng, 0) for _ in range(rng.randint(0, 5))}
        text = dump_block("block", value)
        assert reads_back(text) == {"block": value}, text
        assert text == pyyaml("block", value, Yaml12Dumper), text
