"""`jitflow request`: a valid request on a new branch, committed as the requester, work tree
untouched; what the policy refuses is refused with check's own messages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import Result

from jitflow.core.loading import parse_request
from tests.cli.scenarios import NOW, check, make_base, run_cli
from tests.cli.sshkeys import fresh_public_key
from tests.gitrepo import GitRepo

REASON = "read the staging secrets to debug the checkout flow"


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    repo = make_base(tmp_path_factory.mktemp("request") / "access")
    repo.checkout("main")
    return repo


def request(repo: GitRepo, *args: str, env: dict[str, str] | None = None) -> Result:
    return run_cli(["request", *args, "--repo", str(repo.path), "--now", NOW], env=env)


def created_branch(output: str) -> tuple[str, str]:
    match = re.search(r"wrote (requests/\S+\.yaml) on branch (\S+) ", output)
    assert match, output
    return match.group(1), match.group(2)


def test_writes_a_valid_request_on_a_new_branch(work: GitRepo) -> None:
    head_before = work.git.run("rev-parse", "HEAD")
    result = request(work, "staging-readonly", "--for", "2h", "--reason", REASON, "--as", "alice")
    assert result.exit_code == 0, result.output
    path, branch = created_branch(result.stdout)
    request_id = path.removeprefix("requests/").removesuffix(".yaml")
    assert re.fullmatch(r"alice-staging-readonly-20261122-[a-z0-9]{4}", request_id)
    assert branch == f"jitflow/request/{request_id}"

    tip = work.git.run("rev-parse", branch)
    assert work.git.run("rev-parse", f"{tip}^") == work.git.run("rev-parse", "main")
    assert work.git.run("diff", "--name-status", "main", tip) == f"A\t{path}"
    assert work.git.run("log", "-1", "--format=%an|%ae|%cn", tip) == (
        "alice|alice@users.noreply.github.com|alice"
    )
    content = work.read(tip, path)
    assert content is not None
    assert content.startswith(b"# yaml-language-server: $schema=")
    loaded = parse_request(content, path)
    assert loaded.findings == ()
    assert (loaded.value.policy, loaded.value.requester) == ("staging-readonly", "alice")
    assert loaded.value.reason == REASON
    assert loaded.value.duration_text == "2h"

    # The work tree, the index and the current branch are untouched.
    assert work.git.run("rev-parse", "HEAD") == head_before
    assert work.git.run("symbolic-ref", "HEAD") == "refs/heads/main"
    assert work.git.run("status", "--porcelain") == ""
    assert not (work.path / path).exists()

    run = check(work, branch, "alice")
    assert run.exit_code == 0, run.stdout
    assert run.json["requests"][0]["id"] == request_id


def test_each_request_gets_a_fresh_id(work: GitRepo) -> None:
    first = request(work, "k8s-prod-admins", "--reason", "rotate certificates", "--as", "dave")
    second = request(work, "k8s-prod-admins", "--reason", "rotate certificates", "--as", "dave")
    assert first.exit_code == second.exit_code == 0
    assert created_branch(first.stdout)[0] != created_branch(second.stdout)[0]


def test_refuses_what_the_policy_refuses_with_checks_messages(work: GitRepo) -> None:
    branches_before = work.git.run("for-each-ref", "refs/heads")
    result = request(work, "staging-readonly", "--for", "2d", "--reason", REASON, "--as", "alice")
    assert result.exit_code == 1
    assert "[duration-over-max]" in result.stderr
    assert work.git.run("for-each-ref", "refs/heads") == branches_before

    same = f"policy: staging-readonly\nrequester: alice\nduration: 2d\nreason: {REASON}\n"
    work.branch("same-as-refused", {"requests/alice-same.yaml": same})
    message = check(work, "same-as-refused", "alice").finding("duration-over-max")["message"]
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_refuses_an_ineligible_requester(work: GitRepo) -> None:
    result = request(
        work, "orders-db-write", "--reason", REASON, "--ticket", "INC-9", "--as", "dave"
    )
    assert result.exit_code == 1
    assert "[requester-not-eligible]" in result.stderr


def test_refuses_an_unknown_policy(work: GitRepo) -> None:
    result = request(work, "no-such-policy", "--reason", REASON, "--as", "alice")
    assert result.exit_code == 1
    assert "[unknown-policy]" in result.stderr


def test_login_comes_from_git_config_github_user(work: GitRepo, tmp_path: Path) -> None:
    work.git.run("config", "github.user", "carol")
    try:
        result = request(work, "staging-readonly", "--reason", REASON)
    finally:
        work.git.run("config", "--unset", "github.user")
    assert result.exit_code == 0, result.output
    path, branch = created_branch(result.stdout)
    assert path.startswith("requests/carol-staging-readonly-")
    assert work.git.run("log", "-1", "--format=%an", branch) == "carol"


def test_no_login_is_a_usage_error(work: GitRepo, tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    result = request(work, "staging-readonly", "--reason", REASON, env=env)
    assert result.exit_code == 2
    assert "--as LOGIN" in result.stderr


def test_ssh_request_with_a_key_file(work: GitRepo, tmp_path: Path) -> None:
    key_file = tmp_path / "id_ed25519.pub"
    key = fresh_public_key()
    key_file.write_text(key + "\n", encoding="utf-8")
    result = request(
        work,
        "prod-ssh",
        "--reason",
        "restart the stuck payment worker",
        "--ssh-key",
        str(key_file),
        "--as",
        "alice",
    )
    assert result.exit_code == 0, result.output
    path, branch = created_branch(result.stdout)
    loaded = parse_request(work.read(branch, path) or b"", path)
    assert loaded.value.ssh_public_key == key
    assert check(work, branch, "alice").exit_code == 0


def test_start_and_ticket_are_written(work: GitRepo) -> None:
    result = request(
        work,
        "orders-db-write",
        "--reason",
        "fix the stuck refunds in the orders table",
        "--ticket",
        "INC-77",
        "--start",
        "2026-11-23T09:00:00Z",
        "--as",
        "alice",
    )
    assert result.exit_code == 0, result.output
    path, branch = created_branch(result.stdout)
    loaded = parse_request(work.read(branch, path) or b"", path)
    assert loaded.value.ticket == "INC-77"
    assert loaded.value.start is not None and loaded.value.start.day == 23
    assert check(work, branch, "alice").exit_code == 0
