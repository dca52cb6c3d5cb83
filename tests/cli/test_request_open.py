"""`jitflow request --open` checks everything it needs before its first side effect, and a
failure after the push leaves no branch behind, so a retry starts clean."""

from __future__ import annotations

import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import Result

from tests.cli.scenarios import NOW, make_base, run_cli
from tests.gitrepo import GitRepo

REASON = "read the staging secrets to debug the checkout flow"


@pytest.fixture
def work(tmp_path: Path) -> tuple[GitRepo, Path]:
    repo = make_base(tmp_path / "access")
    repo.checkout("main")
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
    repo.git.run("remote", "add", "origin", str(remote))
    repo.git.run("push", "--quiet", "origin", "main")
    return repo, remote


def _open(repo: GitRepo, env: dict[str, str], *extra: str) -> Result:
    return run_cli(
        [
            *("request", "staging-readonly", "--reason", REASON, "--as", "alice", "--open"),
            *("--repo", str(repo.path), "--now", NOW, *extra),
        ],
        env=env,
    )


def _branches(path: Path) -> list[str]:
    out = subprocess.run(
        ["git", "-C", str(path), "for-each-ref", "--format=%(refname)", "refs/heads/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


def test_without_a_token_nothing_is_written_or_pushed(work: tuple[GitRepo, Path]) -> None:
    repo, remote = work
    result = _open(repo, {"GITHUB_TOKEN": "", "GITHUB_REPOSITORY": ""})
    assert result.exit_code == 2
    assert "--open needs a GitHub token" in result.output
    assert "gh auth token" in result.output and "In a workflow" not in result.output
    assert _branches(repo.path) == ["refs/heads/main"]
    assert _branches(remote) == ["refs/heads/main"]


def test_an_unknown_remote_is_named_before_anything_is_written(
    work: tuple[GitRepo, Path],
) -> None:
    repo, _ = work
    result = _open(
        repo, {"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": "acme/access"}, "--remote", "up"
    )
    assert result.exit_code == 2
    assert "git remote 'up'" in result.output
    assert _branches(repo.path) == ["refs/heads/main"]


class _Refusing(BaseHTTPRequestHandler):
    """A GitHub API that refuses every call as GitHub does for a token without access."""

    def _refuse(self) -> None:
        body = b'{"message": "Not Found", "documentation_url": "https://docs.github.com"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _refuse

    def log_message(self, *args: object) -> None:
        pass


def test_a_failed_pull_request_leaves_no_branch_behind(work: tuple[GitRepo, Path]) -> None:
    repo, remote = work
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {
            "GITHUB_TOKEN": "t",
            "GITHUB_REPOSITORY": "acme/access",
            "GITHUB_API_URL": f"http://127.0.0.1:{server.server_address[1]}",
            "JITFLOW_GITHUB_WRITE_INTERVAL": "0",
        }
        result = _open(repo, env)
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code != 0
    assert _branches(repo.path) == ["refs/heads/main"]
    assert _branches(remote) == ["refs/heads/main"]
