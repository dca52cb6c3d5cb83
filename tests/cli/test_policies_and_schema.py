"""`jitflow policies [--for LOGIN]` and `jitflow schema NAME`."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.cli.scenarios import run_cli
from tests.gitrepo import GitRepo

ALL = [
    "k8s-prod-admins",
    "orders-api-cert",
    "orders-db-write",
    "prod-ssh",
    "staging-readonly",
    "vault-ops-admin",
]


def policies(repo: GitRepo, *args: str) -> list[str]:
    result = run_cli(
        ["policies", "--repo", str(repo.path), "--ref", "main", "--format", "json", *args]
    )
    assert result.exit_code == 0, result.output
    return [p["name"] for p in json.loads(result.stdout)]


def test_lists_every_policy(repo: GitRepo) -> None:
    assert policies(repo) == ALL


@pytest.mark.parametrize(
    ("login", "expected"),
    [
        ("alice", ["orders-api-cert", "orders-db-write", "prod-ssh", "staging-readonly"]),
        ("dave", ["k8s-prod-admins", "prod-ssh", "staging-readonly", "vault-ops-admin"]),
        ("frank", []),
    ],
)
def test_for_login_lists_what_they_may_request(
    repo: GitRepo, login: str, expected: list[str]
) -> None:
    assert policies(repo, "--for", login) == expected


def test_text_listing(repo: GitRepo) -> None:
    result = run_cli(["policies", "--repo", str(repo.path), "--ref", "main", "--for", "alice"])
    assert result.exit_code == 0
    assert "orders-db-write  - Write access to the production orders database" in result.stdout
    assert "duration   default 30m, max 2h" in result.stdout
    none = run_cli(["policies", "--repo", str(repo.path), "--ref", "main", "--for", "frank"])
    assert none.exit_code == 0
    assert "frank may request none of these policies" in none.stderr


def test_a_broken_policy_is_reported_not_listed(repo: GitRepo) -> None:
    repo.commit(
        {"policies/broken.yaml": "name: broken\nnonsense: 1\n"}, parent="main", branch="with-broken"
    )
    result = run_cli(["policies", "--repo", str(repo.path), "--ref", "with-broken"])
    assert result.exit_code == 2  # a broken policy is never dropped silently
    assert "jitflow: error: policies/broken.yaml:2:1: unknown key 'nonsense'" in result.stderr
    assert "broken  -" not in result.stdout


@pytest.mark.parametrize("name", ["request", "policy", "groups", "policy-test"])
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    result = run_cli(["schema", name])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"].endswith(f"/{name}.schema.json")
    jsonschema.Draft202012Validator.check_schema(document)


def test_unknown_schema_name_is_a_usage_error() -> None:
    result = run_cli(["schema", "nope"])
    assert result.exit_code == 2


def test_the_command_offers_every_schema_jitflow_ships() -> None:
    from jitflow.cli.schema_cmd import NAMES
    from jitflow.core.schemas import SCHEMA_NAMES

    assert NAMES == SCHEMA_NAMES
