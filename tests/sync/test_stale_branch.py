"""A request PR whose branch still holds another request that main has since archived: what
the PR adds is judged, not a file main dropped before the merge (sync, stand-in, OpenBao)."""

from __future__ import annotations

from tests.sync.conftest import World
from tests.sync.observe import active_grant, archived


def test_a_branch_made_while_another_request_was_waiting_is_issued_after_it_was_archived(
    world: World,
) -> None:
    unapproved, first = world.request()
    world.standin.merge_pull(first, "alice")  # on main, not yet synced (it will be denied)
    request_id, number = world.request()  # branched from that main: it holds both files
    world.standin.submit_review(number, "bob", "APPROVE")
    world.sync()  # denies and archives the unapproved one: main no longer has its file
    [denial] = archived(world, unapproved)
    assert denial["ended"]["reason"] == "denied"
    world.standin.merge_pull(number, "bob")  # the merge keeps main's removal
    world.sync()
    assert active_grant(world, request_id) is not None, archived(world, request_id)
