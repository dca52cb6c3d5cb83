"""Every finding code of `jitflow check`, each produced by a real git scenario and located at
the right path and line."""

from __future__ import annotations

import pytest

from tests.cli.scenarios import (
    ACTIVE_CAROL,
    ARCHIVED,
    GOOD_REQUEST,
    PENDING,
    check,
)
from tests.cli.sshkeys import fresh_public_key
from tests.gitrepo import GitRepo


def test_valid_request_passes_with_approvals_pending(repo: GitRepo) -> None:
    content = (
        "policy: k8s-prod-admins\nrequester: dave\nduration: 1h\nreason: rotate the ingress certs\n"
    )
    repo.branch("valid", {"requests/dave-ok-1.yaml": content}, author="dave")
    run = check(repo, "valid", "dave")
    assert run.exit_code == 0, run.stdout
    data = run.json
    assert data["allowed"] is True
    assert data["approved"] is False
    assert data["findings"] == []
    (item,) = data["requests"]
    assert item["path"] == "requests/dave-ok-1.yaml"
    assert item["id"] == "dave-ok-1"
    assert item["policy"] == "k8s-prod-admins"
    assert item["allowed"] is True
    assert item["findings"] == []
    assert item["duration_seconds"] == 3600
    (rule,) = item["approvals_required"]
    assert rule["count"] == 1
    assert rule["from"]["groups"] == ["platform"]
    assert rule["may_approve"] == ["erin"]
    assert rule["excluded"] == ["dave"]
    assert rule["satisfied"] is False


def test_self_approval_policy_is_approved_offline(repo: GitRepo) -> None:
    repo.branch("self-ok", {"requests/alice-ok-1.yaml": GOOD_REQUEST})
    run = check(repo, "self-ok")
    assert run.exit_code == 0, run.stdout
    (rule,) = run.json["requests"][0]["approvals_required"]
    assert rule["self_approved"] is True
    assert rule["approved_by"] == ["alice"]


def _single(repo: GitRepo, name: str, content: str | bytes, author: str = "alice") -> dict:
    path = f"requests/{name}.yaml"
    repo.branch(name, {path: content}, author=author)
    run = check(repo, name, author)
    assert run.exit_code == 1, run.stdout + run.stderr
    assert run.json["allowed"] is False
    return {"run": run, "path": path}


# (code, request content, author, expected line, expected column or None)
CASES = [
    (
        "schema",
        "policy: staging-readonly\nrequester: alice\nreason: debugging checkout\ncolour: blue\n",
        "alice",
        4,
        1,  # the unknown key itself, not its value
    ),
    (
        "yaml",
        "policy: staging-readonly\nrequester: alice\npolicy: prod-ssh\nreason: debugging\n",
        "alice",
        3,
        1,
    ),
    (
        "unknown-policy",
        "policy: no-such-policy\nrequester: alice\nreason: debugging checkout\n",
        "alice",
        1,
        9,
    ),
    (
        "requester-mismatch",
        "policy: staging-readonly\nrequester: bob\nreason: debugging checkout\n",
        "alice",
        2,
        12,
    ),
    (
        "requester-not-eligible",
        "policy: staging-readonly\nrequester: frank\nreason: debugging checkout\n",
        "frank",
        2,
        12,
    ),
    (
        "duration-over-max",
        "policy: staging-readonly\nrequester: alice\nduration: 2d\nreason: debugging checkout\n",
        "alice",
        3,
        11,
    ),
    (
        "duration-invalid",
        "policy: staging-readonly\nrequester: alice\nduration: 90x\nreason: debugging checkout\n",
        "alice",
        3,
        11,
    ),
    (
        "start-in-past",
        "policy: staging-readonly\nrequester: alice\nreason: debugging checkout\n"
        "start: '2026-11-21T10:00:00Z'\n",
        "alice",
        4,
        8,
    ),
    (
        "start-too-far",
        "policy: staging-readonly\nrequester: alice\nreason: debugging checkout\n"
        "start: '2026-12-10T10:00:00Z'\n",
        "alice",
        4,
        8,
    ),
    (
        "reason-too-short",
        "policy: orders-db-write\nrequester: alice\nreason: fix it\nticket: INC-42\n",
        "alice",
        3,
        9,
    ),
    (
        "ticket-required",
        "policy: orders-db-write\nrequester: alice\nreason: fix the stuck refunds in the orders table\n",
        "alice",
        1,
        1,
    ),
    (
        "ticket-pattern",
        "policy: orders-db-write\nrequester: alice\n"
        "reason: fix the stuck refunds in the orders table\nticket: JIRA-42\n",
        "alice",
        4,
        9,
    ),
    (
        "ssh-key-required",
        "policy: prod-ssh\nrequester: alice\nreason: restart the stuck payment worker\n",
        "alice",
        1,
        1,
    ),
    (
        "ssh-key-invalid",
        "policy: prod-ssh\nrequester: alice\nreason: restart the stuck payment worker\n"
        "ssh_public_key: ssh-ed25519 bm90IGEga2V5 alice@laptop\n",
        "alice",
        4,
        17,
    ),
    (
        "active-limit",
        "policy: orders-db-write\nrequester: carol\n"
        "reason: fix the stuck refunds in the orders table\nticket: INC-43\n",
        "carol",
        1,
        9,
    ),
    (
        "break-glass-not-allowed",
        "policy: orders-db-write\nrequester: alice\n"
        "reason: fix the stuck refunds in the orders table\nticket: INC-44\nbreak_glass: true\n",
        "alice",
        5,
        14,
    ),
]


@pytest.mark.parametrize(
    ("code", "content", "author", "line", "column"), CASES, ids=[c[0] for c in CASES]
)
def test_finding_code_and_location(
    repo: GitRepo, code: str, content: str, author: str, line: int, column: int
) -> None:
    outcome = _single(repo, f"{author}-case-{code}", content, author)
    run = outcome["run"]
    finding = run.finding(code)
    assert finding["path"] == outcome["path"]
    assert (finding["line"], finding["column"]) == (line, column), finding
    assert finding["severity"] == "error"
    (item,) = run.json["requests"]
    assert item["allowed"] is False
    assert finding in item["findings"]


def test_active_limit_names_the_held_grant(repo: GitRepo) -> None:
    outcome = _single(
        repo,
        "carol-limit-named",
        "policy: orders-db-write\nrequester: carol\n"
        "reason: fix the stuck refunds in the orders table\nticket: INC-43\n",
        "carol",
    )
    assert ACTIVE_CAROL in outcome["run"].finding("active-limit")["message"]


def test_active_grant_of_someone_else_does_not_count(repo: GitRepo) -> None:
    repo.branch(
        "alice-orders-ok",
        {
            "requests/alice-orders-ok.yaml": "policy: orders-db-write\nrequester: alice\n"
            "reason: fix the stuck refunds in the orders table\nticket: INC-43\n"
        },
    )
    run = check(repo, "alice-orders-ok")
    assert run.exit_code == 0, run.stdout


def test_valid_ssh_key_passes(repo: GitRepo) -> None:
    key = fresh_public_key()
    content = (
        "policy: prod-ssh\nrequester: alice\nreason: restart the stuck payment worker\n"
        f"ssh_public_key: {key}\n"
    )
    repo.branch("alice-ssh-ok", {"requests/alice-ssh-ok.yaml": content})
    run = check(repo, "alice-ssh-ok")
    assert run.exit_code == 0, run.stdout


def test_private_key_pasted_is_refused_without_echoing_it(repo: GitRepo) -> None:
    secret_body = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ" + "x" * 20
    content = (
        "policy: prod-ssh\nrequester: alice\nreason: restart the stuck payment worker\n"
        "ssh_public_key: |\n  -----BEGIN OPENSSH PRIVATE KEY-----\n"
        f"  {secret_body}\n  -----END OPENSSH PRIVATE KEY-----\n"
    )
    outcome = _single(repo, "alice-private-key", content)
    finding = outcome["run"].finding("ssh-key-invalid")
    assert "PRIVATE key" in finding["message"]
    assert secret_body not in outcome["run"].stdout


def test_ssh_key_on_a_non_ssh_policy_is_refused(repo: GitRepo) -> None:
    content = GOOD_REQUEST + f"ssh_public_key: {fresh_public_key()}\n"
    outcome = _single(repo, "alice-key-not-ssh", content)
    assert outcome["run"].finding("ssh-key-invalid")["line"] == 5


@pytest.mark.parametrize("existing", [ACTIVE_CAROL, ARCHIVED], ids=["active", "archived"])
def test_duplicate_id(repo: GitRepo, existing: str) -> None:
    repo.branch(f"dup-{existing}", {f"requests/{existing}.yaml": GOOD_REQUEST})
    run = check(repo, f"dup-{existing}")
    assert run.exit_code == 1
    finding = run.finding("duplicate-id")
    assert finding["path"] == f"requests/{existing}.yaml"
    assert finding["line"] == 1


def test_duplicate_id_of_a_pending_request_merged_after_the_branch(repo: GitRepo) -> None:
    # Someone else's request with the same id was merged to the base after this branch began.
    repo.commit(
        {f"requests/{PENDING}-x.yaml": "policy: k8s-prod-admins\nrequester: dave\nreason: other\n"},
        parent="main",
        branch="base-with-pending",
    )
    repo.branch("dup-pending", {f"requests/{PENDING}-x.yaml": GOOD_REQUEST})
    run = check(repo, "dup-pending", base="base-with-pending")
    assert run.exit_code == 1
    finding = run.finding("duplicate-id")
    assert finding["path"] == f"requests/{PENDING}-x.yaml"
    assert run.codes() == {"duplicate-id"}


def test_no_request(repo: GitRepo) -> None:
    repo.branch("docs-only", {"docs/notes.md": "notes\n"})
    run = check(repo, "docs-only")
    assert run.exit_code == 1
    assert run.json["allowed"] is False
    assert run.json["requests"] == []
    assert [f["code"] for f in run.json["findings"]] == ["no-request"]


def test_forbidden_change(repo: GitRepo) -> None:
    repo.branch(
        "with-readme", {"requests/alice-readme.yaml": GOOD_REQUEST, "README.md": "# hacked\n"}
    )
    run = check(repo, "with-readme")
    assert run.exit_code == 1
    finding = run.finding("forbidden-change")
    assert finding["path"] == "README.md"
    assert finding in run.json["findings"]  # a change-level finding denies the whole PR


def test_invalid_id(repo: GitRepo) -> None:
    repo.branch("bad-id", {"requests/Alice_Request.yaml": GOOD_REQUEST})
    run = check(repo, "bad-id")
    assert run.exit_code == 1
    finding = run.finding("invalid-id")
    assert finding["path"] == "requests/Alice_Request.yaml"
    assert finding["line"] == 1


def test_policy_invalid_at_base_denies(repo: GitRepo) -> None:
    broken = (
        "name: loose\ndescription: a policy with a typo\ngrant: {kind: vault-token, policies: [x]}\n"
        "duration: {max: 1h}\nrequesters: {groups: [sre]}\n"
        "approvals:\n  rules:\n    - {count: 1, from: {groups: [sre-leads]}}\n"
        "ticket: {required: true, patern: '^INC-[0-9]+$'}\n"
    )
    repo.commit({"policies/loose.yaml": broken}, parent="main", branch="base-broken-policy")
    repo.branch(
        "loose-request",
        {"requests/alice-loose.yaml": "policy: loose\nrequester: alice\nreason: anything\n"},
        base="base-broken-policy",
    )
    run = check(repo, "loose-request", base="base-broken-policy")
    assert run.exit_code == 1
    finding = run.finding("policy-invalid")
    assert finding["path"] == "requests/alice-loose.yaml"
    assert finding["line"] == 1
    assert run.json["requests"][0]["approvals_required"] == []


def test_groups_invalid_at_base_denies(repo: GitRepo) -> None:
    repo.commit(
        {"policies/groups.yaml": "sre: alice\nsre-leads: [bob]\nplatform: [dave]\n"},
        parent="main",
        branch="base-broken-groups",
    )
    repo.branch(
        "groups-request", {"requests/alice-groups.yaml": GOOD_REQUEST}, base="base-broken-groups"
    )
    run = check(repo, "groups-request", base="base-broken-groups")
    assert run.exit_code == 1
    codes = run.codes()
    assert "groups-invalid" in codes
    schema_problem = next(f for f in run.json["findings"] if f["path"] == "policies/groups.yaml")
    assert schema_problem["line"] == 1
