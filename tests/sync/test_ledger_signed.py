"""The real sync signs every ledger commit with a key Vault certified (git verifies it), anchors
its tip in Vault, and never lets one record overwrite another (issue #10, hole 8)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from jitflow.adapters.git import Git
from jitflow.core.yamlio import load_yaml
from tests.sync.conftest import World


def _runner_commits(world: World) -> list[str]:
    out = Git(world.bare).run("log", "--format=%H", "--author=jitflow-sync", "main")
    return out.split()


def _verify(world: World, now: datetime, *args: str) -> subprocess.CompletedProcess[str]:
    world.runner.run("fetch", "--quiet", "origin")
    return subprocess.run(
        [
            *(sys.executable, "-m", "jitflow", "audit", "verify", "--ref", "origin/main"),
            *("--repo", str(world.runner.path), "--now", now.strftime("%Y-%m-%dT%H:%M:%SZ")),
            *args,
        ],
        env=world.env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_sync_commits_are_signed_and_git_verifies_them(world: World) -> None:
    world.approved_merge()
    world.approved_merge()
    world.sync()
    commits = _runner_commits(world)
    assert len(commits) == 2, Git(world.bare).run("log", "--format=%an %s%n%b", "main")
    world.runner.run("fetch", "--quiet", "origin")
    for sha in commits:
        result = subprocess.run(
            [
                *("git", "-c", "gpg.ssh.allowedSignersFile=.jitflow/allowed_signers"),
                *("verify-commit", sha),
            ],
            cwd=world.runner.path,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        assert 'Good "git" signature for jitflow-ledger' in result.stderr
    verified = _verify(world, datetime.now(UTC) + timedelta(minutes=1), "--vault")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_signing_switched_off_is_flagged_by_verify(world: World) -> None:
    world.env["JITFLOW_LEDGER_SIGNING"] = "off"
    request_id, _ = world.approved_merge()
    result = world.sync()
    assert "not signed" in result.stderr
    verified = _verify(world, datetime.now(UTC) + timedelta(minutes=1))
    assert verified.returncode == 1
    assert f"ledger-unsigned: {request_id}" in verified.stdout


def test_a_reused_id_is_denied_without_overwriting_the_original_record(world: World) -> None:
    original, _ = world.approved_merge()
    world.sync()
    active = world.main_file(f"requests/active/{original}.yaml")
    assert active is not None
    expires = load_yaml(active, "a.yaml").data["grant"]["expires_at"]
    world.sync("--now", expires)  # expired and archived this month
    [archived] = [p for p in world.main_paths("requests/archive/") if original in p]
    record = world.main_file(archived)
    # the same id again, in a new PR (the gate would refuse it; an admin merges anyway)
    again = f"policy: ops-read\nrequester: alice\nduration: 30m\nreason: {'x' * 30}\n"
    _, number = world.request(extra={f"requests/{original}.yaml": again.encode()})
    world.standin.submit_review(number, "bob", "APPROVE")
    world.standin.merge_pull(number, "bob")
    world.sync("--now", expires)
    assert world.main_file(archived) == record  # the original record is untouched
    denials = [p for p in world.main_paths("requests/archive/") if ".reused-" in p]
    assert len(denials) == 1 and original in denials[0]
    denial = load_yaml(world.main_file(denials[0]) or b"", "d.yaml").data
    assert denial["ended"]["reason"] == "denied"
    assert "duplicate-id" in str(denial["ended"]["findings"])
    later = datetime.fromisoformat(expires.replace("Z", "+00:00")) + timedelta(hours=2)
    verified = _verify(world, later)
    assert verified.returncode == 0, verified.stdout + verified.stderr
