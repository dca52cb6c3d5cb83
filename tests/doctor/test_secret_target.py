"""`doctor` on `secret` grants: the grant token's policies must let it read the path."""

from __future__ import annotations

import pytest

from jitflow.core.doctor_secret import capabilities_on, path_matches, secret_grant_problems
from jitflow.core.model import GrantKind, GrantSpec

PKI = GrantSpec(
    kind=GrantKind.SECRET,
    path="pki/issue/jitflow-client",
    method="POST",
    policies=("jitflow-pki-client",),
)
MOUNTS = {"pki": "pki", "secret": "kv"}


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("pki/issue/jitflow-client", "pki/issue/jitflow-client", True),
        ("pki/issue/*", "pki/issue/jitflow-client", True),
        ("pki/+/jitflow-client", "pki/issue/jitflow-client", True),
        ("pki/+/jitflow-client", "pki/issue/x/jitflow-client", False),
        ("pki/issue/jitflow", "pki/issue/jitflow-client", False),
        ("pki/issue/jitflow*", "pki/issue/jitflow-client", True),
    ],
)
def test_paths_match_as_vault_matches_them(pattern: str, path: str, expected: bool) -> None:
    assert path_matches(pattern, path) is expected


def test_a_policy_that_allows_the_issue_passes() -> None:
    hcl = 'path "pki/issue/jitflow-client" { capabilities = ["create", "update"] }\n'
    assert secret_grant_problems(PKI, MOUNTS, {"jitflow-pki-client": hcl}) == ([], [])


def test_read_only_on_a_post_path_fails_with_the_line_to_add() -> None:
    hcl = 'path "pki/issue/*" { capabilities = ["read"] }\n'
    problems, fixes = secret_grant_problems(PKI, MOUNTS, {"jitflow-pki-client": hcl})
    assert problems == [
        "the grant token's policies (jitflow-pki-client) don't allow 'update' on "
        "pki/issue/jitflow-client (a POST needs it)"
    ]
    assert fixes == [
        'add path "pki/issue/jitflow-client" { capabilities = ["create", "update"] } '
        "to jitflow-pki-client"
    ]


def test_the_most_specific_rule_decides_and_deny_wins() -> None:
    wide = 'path "pki/*" { capabilities = ["update"] }\n'
    narrow = 'path "pki/issue/jitflow-client" { capabilities = ["deny"] }\n'
    assert "update" in capabilities_on(PKI.path, [wide])
    assert capabilities_on(PKI.path, [wide + narrow]) == {"deny"}
    problems, _ = secret_grant_problems(PKI, MOUNTS, {"jitflow-pki-client": wide + narrow})
    assert problems


def test_json_policies_are_read_too() -> None:
    text = '{"path": {"pki/issue/jitflow-client": {"capabilities": ["update"]}}}'
    assert secret_grant_problems(PKI, MOUNTS, {"jitflow-pki-client": text}) == ([], [])


def test_a_path_under_no_mount_fails() -> None:
    hcl = 'path "pki/issue/jitflow-client" { capabilities = ["update"] }\n'
    problems, fixes = secret_grant_problems(PKI, {"secret": "kv"}, {"jitflow-pki-client": hcl})
    assert problems == ["no secrets engine is mounted where pki/issue/jitflow-client lies"]
    assert fixes == ["bao secrets enable -path=pki <engine>"]


def test_a_get_needs_read() -> None:
    grant = GrantSpec(
        kind=GrantKind.SECRET, path="database/creds/readwrite", policies=("db",), method="GET"
    )
    hcl = 'path "database/creds/readwrite" { capabilities = ["read"] }\n'
    mounts = {"database": "database"}
    assert secret_grant_problems(grant, mounts, {"db": hcl}) == ([], [])
    assert secret_grant_problems(grant, mounts, {"db": hcl.replace("read", "update")})[0]
