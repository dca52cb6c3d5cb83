"""The PR gate can't be fooled: each way of sneaking something past `jitflow check` is denied."""

from __future__ import annotations

import re

import pytest

from tests.cli.scenarios import ACTIVE_CAROL, ARCHIVED, GOOD_REQUEST, PENDING, check
from tests.gitrepo import GitRepo, example_policy_files, executable, symlink

LONG_REQUEST = GOOD_REQUEST.replace("duration: 2h", "duration: 10d")


def _forbidden_paths(run_json: dict) -> list[str]:
    return [f["path"] for f in run_json["findings"] if f["code"] == "forbidden-change"]


def test_editing_a_policy_to_allow_itself_is_denied_and_the_head_policy_is_ignored(
    repo: GitRepo,
) -> None:
    base_policy = example_policy_files()["policies/staging-readonly.yaml"].decode()
    widened = base_policy.replace("max: 1d", "max: 30d")
    assert widened != base_policy
    repo.branch(
        "widen-policy",
        {"policies/staging-readonly.yaml": widened, "requests/alice-widen.yaml": LONG_REQUEST},
    )
    run = check(repo, "widen-policy")
    assert run.exit_code == 1
    assert _forbidden_paths(run.json) == ["policies/staging-readonly.yaml"]
    over = run.finding("duration-over-max")
    assert "maximum of 1d" in over["message"]  # the base policy decided, not the head one
    assert over["line"] == 3


def test_a_policy_added_by_the_branch_does_not_exist_for_its_request(repo: GitRepo) -> None:
    own_policy = (
        example_policy_files()["policies/staging-readonly.yaml"]
        .decode()
        .replace("name: staging-readonly", "name: alice-anything")
    )
    repo.branch(
        "own-policy",
        {
            "policies/alice-anything.yaml": own_policy,
            "requests/alice-own.yaml": GOOD_REQUEST.replace("staging-readonly", "alice-anything"),
        },
    )
    run = check(repo, "own-policy")
    assert run.exit_code == 1
    assert _forbidden_paths(run.json) == ["policies/alice-anything.yaml"]
    assert run.finding("unknown-policy")["line"] == 1


def test_adding_oneself_to_a_group_is_denied_and_the_base_groups_decide(repo: GitRepo) -> None:
    groups = example_policy_files()["policies/groups.yaml"].decode()
    repo.branch(
        "join-group",
        {
            "policies/groups.yaml": groups.replace(
                "sre: [alice, carol]", "sre: [alice, carol, mallory]"
            ),
            "requests/mallory-join.yaml": GOOD_REQUEST.replace("alice", "mallory"),
        },
        author="mallory",
    )
    run = check(repo, "join-group", "mallory")
    assert run.exit_code == 1
    assert _forbidden_paths(run.json) == ["policies/groups.yaml"]
    assert "requester-not-eligible" in run.codes()


def test_requesting_for_someone_else_is_denied(repo: GitRepo) -> None:
    repo.branch("for-bob", {"requests/alice-for-bob.yaml": GOOD_REQUEST.replace("alice", "carol")})
    run = check(repo, "for-bob", "alice")
    assert run.exit_code == 1
    finding = run.finding("requester-mismatch")
    assert (finding["line"], finding["column"]) == (2, 12)


def test_author_defaults_to_the_head_commit_author(repo: GitRepo) -> None:
    repo.branch(
        "implicit-author",
        {"requests/alice-implicit.yaml": GOOD_REQUEST.replace("alice", "carol")},
        author="alice",
    )
    run = check(repo, "implicit-author", author="")
    assert run.exit_code == 1
    assert run.json["author"] == "alice"
    assert "requester-mismatch" in run.codes()


def test_renaming_an_archived_request_is_forbidden(repo: GitRepo) -> None:
    archived = repo.read("main", f"requests/archive/2026/10/{ARCHIVED}.yaml")
    assert archived is not None
    repo.branch(
        "rename-archive",
        {f"requests/archive/2026/10/{ARCHIVED}.yaml": None, "requests/alice-reborn.yaml": archived},
    )
    run = check(repo, "rename-archive")
    assert run.exit_code == 1
    finding = run.finding("forbidden-change")
    assert "renames" in finding["message"]
    assert finding["path"] == "requests/alice-reborn.yaml"
    assert run.json["requests"] == []


@pytest.mark.parametrize(
    "smuggled",
    [".github/workflows/x.yml", "jitflow/cli/__init__.py", "README", "policies/new.yaml"],
)
def test_a_second_file_elsewhere_is_forbidden(repo: GitRepo, smuggled: str) -> None:
    name = "smuggle-" + re.sub(r"[^a-z0-9]+", "-", smuggled.lower()).strip("-")
    repo.branch(name, {f"requests/alice-{name}.yaml": GOOD_REQUEST, smuggled: "payload\n"})
    run = check(repo, name)
    assert run.exit_code == 1
    assert _forbidden_paths(run.json) == [smuggled]
    assert run.json["requests"][0]["allowed"] is True  # the request alone is fine; the PR is not


def test_a_symlink_under_requests_is_forbidden(repo: GitRepo) -> None:
    repo.branch(
        "symlink", {"requests/alice-link.yaml": symlink("../policies/staging-readonly.yaml")}
    )
    run = check(repo, "symlink")
    assert run.exit_code == 1
    finding = run.finding("forbidden-change")
    assert "symbolic link" in finding["message"]
    assert finding["path"] == "requests/alice-link.yaml"
    assert run.json["requests"] == []


def test_an_executable_request_file_is_forbidden(repo: GitRepo) -> None:
    repo.branch("exec", {"requests/alice-exec.yaml": executable(GOOD_REQUEST)})
    run = check(repo, "exec")
    assert run.exit_code == 1
    assert "100755" in run.finding("forbidden-change")["message"]


def test_a_request_in_a_subfolder_is_forbidden(repo: GitRepo) -> None:
    repo.branch("subfolder", {"requests/sub/alice-sub.yaml": GOOD_REQUEST})
    run = check(repo, "subfolder")
    assert run.exit_code == 1
    assert _forbidden_paths(run.json) == ["requests/sub/alice-sub.yaml"]


def test_modifying_an_existing_request_is_forbidden(repo: GitRepo) -> None:
    repo.branch(
        "modify-pending",
        {
            f"requests/{PENDING}.yaml": "policy: k8s-prod-admins\nrequester: dave\n"
            "duration: 8h\nreason: rotate the ingress certificates\n"
        },
        author="dave",
    )
    run = check(repo, "modify-pending", "dave")
    assert run.exit_code == 1
    finding = run.finding("forbidden-change")
    assert "modifies" in finding["message"]
    assert finding["path"] == f"requests/{PENDING}.yaml"


def test_deleting_an_active_grant_together_with_a_request_is_forbidden(repo: GitRepo) -> None:
    repo.branch(
        "delete-and-request",
        {f"requests/active/{ACTIVE_CAROL}.yaml": None, "requests/alice-more.yaml": GOOD_REQUEST},
    )
    run = check(repo, "delete-and-request")
    assert run.exit_code == 1
    finding = run.finding("forbidden-change")
    assert "deletes" in finding["message"]
    assert finding["path"] == f"requests/active/{ACTIVE_CAROL}.yaml"


def test_a_yml_extension_is_forbidden(repo: GitRepo) -> None:
    repo.branch("yml", {"requests/alice-short.yml": GOOD_REQUEST})
    run = check(repo, "yml")
    assert run.exit_code == 1
    finding = run.finding("forbidden-change")
    assert "end in .yaml" in finding["message"]
    assert finding["path"] == "requests/alice-short.yml"


def test_a_second_commit_that_rewrites_the_request_is_judged_at_the_head(repo: GitRepo) -> None:
    first = repo.branch("two-commits", {"requests/alice-two.yaml": GOOD_REQUEST})
    repo.commit(
        {"requests/alice-two.yaml": LONG_REQUEST},
        parent=first,
        branch="two-commits",
        author="alice",
    )
    run = check(repo, "two-commits")
    assert run.exit_code == 1
    assert run.codes() == {"duration-over-max"}
