"""The example policies shipped with jitflow load cleanly and show every grant kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from jitflow.core.loading import parse_groups, parse_policy
from jitflow.core.model import GrantKind, Policy
from tests.gitrepo import REPO_ROOT

DIRS = [REPO_ROOT / "policies", REPO_ROOT / "jitflow" / "examples" / "policies"]


def _policies(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.yaml") if p.name != "groups.yaml")


@pytest.mark.parametrize("directory", DIRS, ids=["policies", "packaged-examples"])
def test_examples_load_without_findings_and_cover_every_kind(directory: Path) -> None:
    loaded: list[Policy] = []
    for path in _policies(directory):
        result = parse_policy(path.read_bytes(), f"policies/{path.name}")
        assert result.findings == (), result.findings
        loaded.append(result.value)
    groups = parse_groups((directory / "groups.yaml").read_bytes())
    assert groups.findings == ()
    assert {p.grant.kind for p in loaded} == set(GrantKind)
    named = {g for p in loaded for rule in p.approval_rules for g in rule.approvers.groups}
    named |= {g for p in loaded for g in p.requesters.groups}
    assert named <= set(groups.value.members), "every group a policy names is defined"


@pytest.mark.parametrize("directory", DIRS, ids=["policies", "packaged-examples"])
def test_every_example_starts_with_the_schema_comment(directory: Path) -> None:
    for path in sorted(directory.glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        kind = "groups" if path.name == "groups.yaml" else "policy"
        expected = f"# yaml-language-server: $schema=../.jitflow/schemas/{kind}.schema.json"
        assert first == expected, path
        schema_file = (REPO_ROOT / "policies" / first.split("=", 1)[1]).resolve()
        assert schema_file.is_file()


def test_packaged_examples_match_the_repository_examples() -> None:
    ours = {p.name: p.read_bytes() for p in DIRS[0].glob("*.yaml")}
    packaged = {p.name: p.read_bytes() for p in DIRS[1].glob("*.yaml")}
    assert ours == packaged
