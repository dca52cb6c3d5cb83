"""`audit verify --github`: grants checked against GitHub's record, through PyGithub and the
GitHub stand-in, on a history the real sync wrote (signed with Vault's ledger CA)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from jitflow.adapters.git import Git
from jitflow.core.yamlio import dump_block
from tests.sync.conftest import World


def _verify(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    now = (datetime.now(UTC) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return subprocess.run(
        [
            *(sys.executable, "-m", "jitflow", "audit", "verify"),
            *("--repo", str(world.runner.path), "--ref", "origin/main", "--now", now, *args),
        ],
        env=world.env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _forge_issue(world: World, request_id: str, number: int, merge: str) -> str:
    """What an admin with push rights could write: an issue record claiming bob approved."""
    git = world.requester
    git.run("fetch", "--quiet", "origin")
    git.run("checkout", "--quiet", "-B", "forge", "origin/main")
    text = (git.path / f"requests/{request_id}.yaml").read_text()
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = (datetime.now(UTC) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    block = {
        "kind": "vault-token",
        "issued_at": now,
        "expires_at": later,
        "requested_seconds": 1800,
        "granted_seconds": 1800,
        "approved_by": ["bob"],
        "merged_by": "bob",
        "merged_at": now,
        "pr": number,
        "merge_commit": merge,
        "policy_commit": Git(world.bare).run("rev-parse", f"{merge}^"),
        "break_glass": False,
        "vault": {"accessor": "forged"},
    }
    (git.path / f"requests/{request_id}.yaml").unlink()
    active = git.path / f"requests/active/{request_id}.yaml"
    active.write_text(text + dump_block("grant", block))
    git.run("add", "--all")
    env = {
        "GIT_AUTHOR_NAME": "jitflow-sync",
        "GIT_AUTHOR_EMAIL": "jitflow-sync@users.noreply.github.com",
        "GIT_COMMITTER_NAME": "jitflow-sync",
        "GIT_COMMITTER_EMAIL": "jitflow-sync@users.noreply.github.com",
    }
    git.run("commit", "--quiet", "-m", f"jitflow: issue {request_id}", env=env)
    git.run("push", "--quiet", "origin", "forge:main")
    world.runner.run("fetch", "--quiet", "origin")
    return git.run("rev-parse", "HEAD")


def test_synced_history_verifies_with_github_and_a_forged_approval_does_not(
    world: World,
) -> None:
    granted, _ = world.approved_merge()
    world.sync()
    world.runner.run("fetch", "--quiet", "origin")
    clean = _verify(world, "--github")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "--github" not in clean.stdout  # nothing left unchecked about GitHub

    request_id, number = world.request()
    merge = world.standin.merge_pull(number, "bob")  # merged with no review at all
    forged = _forge_issue(world, request_id, number, merge)
    result = _verify(world, "--github")
    assert result.returncode == 1
    assert f"github-approvals-insufficient: {request_id} at {merge[:12]}" in result.stdout
    assert f"ledger-unsigned: {request_id} at {forged[:12]}" in result.stdout
    offline = _verify(world)
    assert "github-approvals-insufficient" not in offline.stdout
    assert "not checked: approvals" in offline.stdout
    assert granted not in {
        line.split(": ")[1]
        for line in result.stdout.splitlines()
        if ": " in line and line.startswith("github-")
    }


def test_an_approval_given_before_the_pr_was_retargeted_to_main_is_not_believed(
    world: World,
) -> None:
    """bob approved while the PR targeted `release` (its diff hid what was already there);
    a record claiming his approval for what landed on main is refused."""
    from tests.sync.merge_paths import commit_steps, new_id, request_body

    request_id = new_id()
    steps = [{f"requests/{request_id}.yaml": request_body()}]
    commit_steps(world, "release", [{"README.md": b"release notes\n"}])
    commit_steps(world, f"req/{request_id}", steps, base="origin/release")
    number = world.standin.create_pull("alice", f"req/{request_id}", base="release")
    world.standin.submit_review(number, "bob", "APPROVE")
    world.standin.change_base(number, "main", "alice")
    merge = world.standin.merge_pull(number, "bob")
    _forge_issue(world, request_id, number, merge)
    result = _verify(world, "--github")
    assert f"github-approvals-insufficient: {request_id} at {merge[:12]}" in result.stdout


def test_an_approval_by_someone_who_pushed_to_the_pr_is_not_believed(world: World) -> None:
    """bob pushed a commit (claiming alice as author and committer) to alice's PR, then
    approved it: GitHub's push record makes him a contributor, whatever the commit says."""
    request_id, number = world.request("ops-read")
    bob = Git(world.bare.parent / "bob-clone")
    Git(world.bare.parent).run("clone", "--quiet", str(world.bare), str(bob.path))
    bob.run("checkout", "--quiet", f"req/{request_id}")
    path = bob.path / f"requests/{request_id}.yaml"
    path.write_text(path.read_text().replace("duration: 30m", "duration: 1h"))
    alice = {
        f"GIT_{role}_{part}": value
        for role in ("AUTHOR", "COMMITTER")
        for part, value in (("NAME", "alice"), ("EMAIL", "alice@users.noreply.github.com"))
    }
    bob.run("commit", "--quiet", "-am", "longer", env=alice)
    world.standin.push(bob.path, f"req/{request_id}", "bob")
    world.standin.submit_review(number, "bob", "APPROVE")
    merge = world.standin.merge_pull(number, "bob")
    _forge_issue(world, request_id, number, merge)
    result = _verify(world, "--github")
    assert f"github-approvals-insufficient: {request_id} at {merge[:12]}" in result.stdout


def test_an_approval_by_a_stranger_holding_the_approvers_old_login_is_not_believed(
    world: World,
) -> None:
    """bob renamed his account and a stranger registered `bob` and approved: GitHub reports
    the review under `bob`, but not from the account groups.yaml pins for bob."""
    world.standin.rename_user("bob", "bob-at-acme")
    world.standin.add_user("bob")
    request_id, number = world.request("ops-read")
    world.standin.submit_review(number, "bob", "APPROVE")
    merge = world.standin.merge_pull(number, "alice")
    _forge_issue(world, request_id, number, merge)
    result = _verify(world, "--github")
    assert f"github-approvals-insufficient: {request_id} at {merge[:12]}" in result.stdout
