"""An approver who pushes into the requester's PR, under the requester's name, gets nothing
issued: through PyGithub, the stand-in (which records who pushed), OpenBao and audit verify."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jitflow.adapters.git import Git
from jitflow.usecases.audit.verify import VerifyOptions, run_verify
from tests.sync.conftest import World
from tests.sync.observe import active_grant, archived

ALICE = {
    "GIT_AUTHOR_NAME": "alice",
    "GIT_AUTHOR_EMAIL": "alice@users.noreply.github.com",
    "GIT_COMMITTER_NAME": "alice",
    "GIT_COMMITTER_EMAIL": "alice@users.noreply.github.com",
}


def test_forged_commit_pushed_by_the_approver_is_denied_at_issue(world: World) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    request_id, number = world.request("ops-read")
    branch = f"req/{request_id}"
    # bob, an approver, raises the duration in a commit that claims to be alice's, pushes it
    # with his own account, approves, and merges.
    bob = Git(world.bare.parent / "bob")
    Git(world.bare.parent).run("clone", "--quiet", str(world.bare), str(bob.path))
    bob.run("checkout", "--quiet", branch)
    path = bob.path / f"requests/{request_id}.yaml"
    path.write_text(path.read_text().replace("duration: 30m", "duration: 2h"))
    bob.run("commit", "--quiet", "-am", "fix duration", env=ALICE)
    world.standin.push(bob.path, branch, "bob")
    world.standin.submit_review(number, "bob", "APPROVE")
    world.standin.merge_pull(number, "bob")

    world.sync()
    assert active_grant(world, request_id) is None
    [record] = archived(world, request_id)
    assert record["ended"]["reason"] == "denied"
    assert "pushed-by-other" in {f["code"] for f in record["ended"]["findings"]}
    now = datetime.now(UTC) + timedelta(minutes=1)
    assert run_verify(VerifyOptions(repo=world.bare, ref="main", now=now)).violations == ()
