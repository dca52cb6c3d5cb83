"""`jitflow sync --no-issue`: a scheduled run that only ends grants."""

from __future__ import annotations

from jitflow.adapters.git import Git
from tests.sync.conftest import World
from tests.sync.observe import active_grant, archived, events, vault_tokens


def test_no_issue_expires_due_grants_and_leaves_merged_requests_pending(world: World) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    expiring, _ = world.approved_merge()
    world.sync()
    expires_at = (active_grant(world, expiring) or {})["expires_at"]
    waiting, number = world.approved_merge(duration="2h")
    comments_before = world.standin.comments(number)

    ran = world.sync("--no-issue", "--now", expires_at)

    assert f"expire: {expiring}" in ran.stdout and waiting not in ran.stdout
    assert active_grant(world, expiring) is None
    assert [r["ended"]["reason"] for r in archived(world, expiring)] == ["expired"]
    assert expiring not in vault_tokens(world.vault)
    assert waiting not in vault_tokens(world.vault)  # no Vault token created
    assert world.main_file(f"requests/{waiting}.yaml") is not None  # still pending
    assert active_grant(world, waiting) is None and events(world, waiting) == []
    assert world.standin.comments(number) == comments_before  # nothing delivered

    tip = Git(world.bare).rev_parse("main")
    assert "nothing to do" in world.sync("--no-issue").stdout  # only the pending one is left
    assert Git(world.bare).rev_parse("main") == tip
    assert waiting not in vault_tokens(world.vault)

    world.sync()
    grant = active_grant(world, waiting)
    assert grant is not None and events(world, waiting) == ["issue"]
    assert vault_tokens(world.vault)[waiting] == [grant["vault"]["accessor"]]
    assert world.main_file(f"requests/{waiting}.yaml") is None
