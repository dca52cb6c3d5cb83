"""The stand-in enforces branch protection and rulesets on pushes over HTTP, as GitHub does,
so a documented setup whose runner can't push to main fails a test (issue 13, blocker 3)."""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jitflow.adapters.git import Git, remote_auth_env
from jitflow.adapters.git.remote import push
from jitflow.errors import GitError
from jitflow.sandbox.github_standin import GitHubStandIn
from tests.standin_helpers import make_bare_repo

IDENTITY = {
    "GIT_AUTHOR_NAME": "jitflow-sync",
    "GIT_AUTHOR_EMAIL": "jitflow-sync@users.noreply.github.com",
    "GIT_COMMITTER_NAME": "jitflow-sync",
    "GIT_COMMITTER_EMAIL": "jitflow-sync@users.noreply.github.com",
    "GIT_TERMINAL_PROMPT": "0",
}
RULESET_RULES = [
    {"type": "deletion"},
    {"type": "non_fast_forward"},
    {"type": "pull_request", "parameters": {"required_approving_review_count": 1}},
    {
        "type": "required_status_checks",
        "parameters": {
            "required_status_checks": [
                {"context": "jitflow/policy"},
                {"context": "jitflow/approval"},
            ]
        },
    },
]


@dataclass
class Remote:
    standin: GitHubStandIn
    bare: Path
    work: Path
    job_token: str
    app_id: int
    app_token: str

    def clone_as(self, token: str) -> Git:
        env = {**IDENTITY, **remote_auth_env(
            {"GITHUB_TOKEN": token, "GITHUB_SERVER_URL": self.standin.api_url}
        )}  # fmt: skip
        directory = self.work / base64.b32encode(os.urandom(5)).decode().lower()
        Git(self.work, env=env).run("clone", "--quiet", self.standin.git_url, str(directory))
        return Git(directory, env=env)


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[Remote]:
    bare = make_bare_repo(tmp_path)
    with GitHubStandIn(bare) as standin:
        job_token = standin.add_user("github-actions[bot]")
        app_id, app_token = standin.add_app("jitflow-runner")
        work = tmp_path / "work"
        work.mkdir()
        yield Remote(standin, bare, work, job_token, app_id, app_token)


def _commit(git: Git, name: str) -> str:
    (git.path / name).write_text(f"{name}\n")
    git.run("add", name)
    git.run("commit", "--quiet", "-m", f"jitflow: {name}")
    return git.rev_parse("HEAD")


def _main(remote: Remote) -> str:
    return Git(remote.bare).rev_parse("refs/heads/main")


def test_anyone_may_fetch_but_a_push_needs_a_token(remote: Remote) -> None:
    env = {**IDENTITY}
    target = remote.work / "anonymous"
    Git(remote.work, env=env).run("clone", "--quiet", remote.standin.git_url, str(target))
    git = Git(target, env=env)
    _commit(git, "a")
    pushed = git.execute(["push", "origin", "HEAD:main"], check=False)
    assert pushed.returncode != 0
    assert "Authentication failed" in pushed.stderr.decode() or "could not read" in (
        pushed.stderr.decode()
    )


def test_an_unprotected_main_takes_the_job_tokens_push(remote: Remote) -> None:
    git = remote.clone_as(remote.job_token)
    tip = _commit(git, "ledger")
    assert push(git, "origin", "main", tip)
    assert _main(remote) == tip


def test_a_ruleset_on_main_refuses_the_job_token_and_takes_its_bypass_app(remote: Remote) -> None:
    remote.standin.add_ruleset(
        "main",
        RULESET_RULES,
        bypass_actors=[{"actor_id": remote.app_id, "actor_type": "Integration"}],
    )
    before = _main(remote)
    job = remote.clone_as(remote.job_token)
    tip = _commit(job, "ledger")
    with pytest.raises(GitError) as refused:
        push(job, "origin", "main", tip)
    message = refused.value.message
    assert "GH013: Repository rule violations found for refs/heads/main." in message
    assert "Changes must be made through a pull request." in message
    assert 'Required status check "jitflow/policy" is expected.' in message
    assert _main(remote) == before

    app = remote.clone_as(remote.app_token)
    tip = _commit(app, "ledger")
    assert push(app, "origin", "main", tip)
    assert _main(remote) == tip
    # other branches stay open to everyone with a token
    feature = _commit(job, "feature")
    assert (
        job.execute(["push", "--quiet", "origin", f"{feature}:refs/heads/feature"]).returncode == 0
    )


def test_a_ruleset_without_the_app_as_bypass_actor_refuses_every_runner_push(
    remote: Remote,
) -> None:
    remote.standin.add_ruleset("main", RULESET_RULES)
    app = remote.clone_as(remote.app_token)
    with pytest.raises(GitError, match="GH013"):
        push(app, "origin", "main", _commit(app, "ledger"))


def test_branch_protection_requiring_pull_requests_refuses_direct_pushes(remote: Remote) -> None:
    remote.standin.set_branch_protection(
        "main",
        {
            "required_pull_request_reviews": {"required_approving_review_count": 1},
            "required_status_checks": {"strict": True, "contexts": ["jitflow/policy"]},
            "enforce_admins": True,
            "restrictions": None,
        },
    )
    app = remote.clone_as(remote.app_token)
    with pytest.raises(GitError) as refused:
        push(app, "origin", "main", _commit(app, "ledger"))
    assert "GH006: Protected branch update failed for refs/heads/main." in refused.value.message
    assert "Changes must be made through a pull request." in refused.value.message


def test_force_pushes_are_refused_under_the_rules(remote: Remote) -> None:
    remote.standin.set_branch_protection("main", {"required_status_checks": None})
    git = remote.clone_as(remote.job_token)
    _commit(git, "one")
    git.run("push", "--quiet", "origin", "HEAD:main")
    git.run("reset", "--quiet", "--hard", "HEAD~1")
    rewritten = _commit(git, "other")
    forced = git.execute(["push", "--force", "origin", f"{rewritten}:main"], check=False)
    assert forced.returncode != 0
    assert "Cannot force-push to this branch" in forced.stderr.decode()
    assert _main(remote) != rewritten


def test_direct_writes_to_the_bare_repository_are_not_judged(remote: Remote) -> None:
    """Tests seed and move branches by writing the bare repository: the hook stays out."""
    remote.standin.add_ruleset("main", RULESET_RULES)
    work = remote.work / "direct"
    subprocess.run(["git", "clone", "--quiet", str(remote.bare), str(work)], check=True)
    git = Git(work, env=IDENTITY)
    git.run("push", "--quiet", "origin", f"{_commit(git, 'seed')}:main")


def test_a_ruleset_refuses_a_merge_without_its_statuses_and_review(remote: Remote) -> None:
    from jitflow.sandbox.github_standin.standin import StandInError
    from tests.standin_helpers import push_branch

    remote.standin.add_user("alice")
    remote.standin.add_user("bob")
    remote.standin.add_ruleset("main", RULESET_RULES)
    alice = remote.clone_as(remote.standin.token_for("alice"))
    push_branch(alice, "change", {"NOTES.md": b"notes\n"})
    number = remote.standin.create_pull("alice", "change")
    with pytest.raises(StandInError, match="At least 1 approving review is required"):
        remote.standin.merge_pull(number, "bob")
    remote.standin.submit_review(number, "bob", "APPROVE")
    with pytest.raises(StandInError, match='Required status check "jitflow/policy" is expected'):
        remote.standin.merge_pull(number, "bob")
    head = remote.standin.pull(number)["head"]["sha"]
    for context in ("jitflow/policy", "jitflow/approval"):
        remote.standin.create_status(head, "github-actions[bot]", "success", context)
    remote.standin.merge_pull(number, "bob")
