"""GitHub's `commit.verification`, as the stand-in reports it through PyGithub: pushed commits
are unsigned; what GitHub makes itself (merge, squash, rebase) is signed by web-flow, with a
signature `git verify-commit` accepts; a signature GitHub can't tie to a key is not verified."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from jitflow.adapters.git import Git
from tests.github.http_repo import Repo
from tests.standin_helpers import pygithub, write_files


def _verification(repo: Repo, sha: str) -> dict[str, Any]:
    commit = pygithub(repo.standin, "carol").get_repo("acme/access").get_commit(sha)
    verification: dict[str, Any] = commit.raw_data["commit"]["verification"]
    return verification


def _branch(repo: Repo, login: str, branch: str, files: dict[str, bytes]) -> Git:
    git = repo.clone_as(login)
    git.run("checkout", "--quiet", "-b", branch)
    write_files(git.path, files)
    git.run("add", "--all")
    git.run("commit", "--quiet", "-m", f"{branch} by {login}")
    git.run("push", "--quiet", "origin", branch)
    return git


def _verify_commit(git: Git, sha: str, public_key: str, tmp: Path) -> bool:
    signers = tmp / "allowed_signers"
    signers.write_text(f"noreply@github.com {public_key}\n")
    result = git.execute(
        [
            "-c",
            "gpg.format=ssh",
            "-c",
            f"gpg.ssh.allowedSignersFile={signers}",
            "verify-commit",
            sha,
        ],
        check=False,
    )
    return result.returncode == 0


def test_a_pushed_commit_is_unsigned(repo: Repo) -> None:
    git = _branch(repo, "alice", "req/a", {"requests/a.yaml": b"a: 1\n"})
    assert _verification(repo, git.rev_parse("HEAD")) == {
        "verified": False,
        "reason": "unsigned",
        "signature": None,
        "payload": None,
        "verified_at": None,
    }


@pytest.mark.parametrize("method", ["merge", "squash", "rebase"])
def test_what_github_merges_is_signed_by_web_flow(repo: Repo, method: str, tmp_path: Path) -> None:
    git = _branch(repo, "alice", f"req/{method}", {f"requests/{method}.yaml": b"a: 1\n"})
    number = repo.standin.create_pull("alice", f"req/{method}")
    merged = repo.pr("bob", number).merge(merge_method=method)
    assert merged.merged
    verification = _verification(repo, merged.sha)
    assert verification["verified"] is True and verification["reason"] == "valid"
    assert verification["signature"].startswith("-----BEGIN SSH SIGNATURE-----")
    assert "committer GitHub <noreply@github.com>" in verification["payload"]
    assert "gpgsig" not in verification["payload"]
    commit = pygithub(repo.standin, "carol").get_repo("acme/access").get_commit(merged.sha)
    assert commit.committer.login == "web-flow"
    git.run("fetch", "--quiet", "origin")
    assert _verify_commit(git, merged.sha, repo.standin.web_flow_public_key, tmp_path)


def test_a_commit_that_only_claims_github_as_committer_is_not_verified(repo: Repo) -> None:
    """Anyone can type `GitHub <noreply@github.com>`; only GitHub's signature verifies."""
    git = repo.clone_as("alice")
    git.run("checkout", "--quiet", "-b", "req/forged")
    write_files(git.path, {"requests/f.yaml": b"a: 1\n"})
    git.run("add", "--all")
    forged = {"GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com"}
    git.run("commit", "--quiet", "-m", "looks like GitHub's", env=forged)
    git.run("push", "--quiet", "origin", "req/forged")
    sha = git.rev_parse("HEAD")
    commit = pygithub(repo.standin, "carol").get_repo("acme/access").get_commit(sha)
    assert commit.committer.login == "web-flow"
    assert _verification(repo, sha)["reason"] == "unsigned"


def test_a_signature_lifted_from_a_github_commit_does_not_verify(repo: Repo) -> None:
    """alice copies the web-flow signature of a real merge commit onto her own commit."""
    git = _branch(repo, "alice", "req/first", {"requests/first.yaml": b"a: 1\n"})
    number = repo.standin.create_pull("alice", "req/first")
    merged = repo.pr("bob", number).merge(merge_method="squash")
    git.run("fetch", "--quiet", "origin")
    genuine = git.execute(["cat-file", "commit", merged.sha]).stdout
    head, _, message = genuine.partition(b"\n\n")
    tampered = head + b"\n\n" + message.replace(b"req/first", b"req/other") + b"more\n"
    fake = git.run("hash-object", "-t", "commit", "-w", "--stdin", input=tampered)
    git.run("push", "--quiet", "origin", f"{fake}:refs/heads/req/lifted")
    verification = _verification(repo, fake)
    assert verification["verified"] is False and verification["reason"] == "invalid"


def test_a_users_own_signature_is_an_unknown_key(repo: Repo, tmp_path: Path) -> None:
    key = tmp_path / "alice_signing"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    git = repo.clone_as("alice")
    git.run("checkout", "--quiet", "-b", "req/signed")
    write_files(git.path, {"requests/s.yaml": b"a: 1\n"})
    git.run("add", "--all")
    git.run(
        "-c", "gpg.format=ssh", "-c", f"user.signingkey={key}", "commit", "-S", "--quiet", "-m", "s"
    )
    git.run("push", "--quiet", "origin", "req/signed")
    verification = _verification(repo, git.rev_parse("HEAD"))
    assert verification["verified"] is False and verification["reason"] == "unknown_key"
    assert verification["signature"].startswith("-----BEGIN SSH SIGNATURE-----")
