"""The README's `secret` grant example in the lifecycle world: alice's client certificate is
requested, approved, merged and issued, and the orders API (a real mTLS endpoint trusting the
PKI engine's CA) listens for the README's `curl`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.mtls import MtlsServer


def issue_alice_certificate(lifecycle: Any) -> str:
    """alice asks for `orders-api-cert`; bob approves and merges; the sync issues. Its id."""
    from jitflow.usecases.publish import pull_request_text
    from jitflow.usecases.request import RequestOptions, create_request

    world = lifecycle.world
    world.alice.run("fetch", "--quiet", "origin")
    created = create_request(
        RequestOptions(
            repo=world.alice.path,
            policy="orders-api-cert",
            duration="1h",
            reason="Replay the failed orders webhooks for INC-4211 by hand",
            now=datetime.now(UTC),
            login="alice",
            base="origin/main",
        )
    )
    ref = f"refs/heads/{created.branch}"
    world.alice.run("push", "--quiet", "origin", f"{ref}:{ref}")
    title, body = pull_request_text(created)
    number = world.standin.create_pull("alice", created.branch, "main", title, body)
    world.standin.submit_review(number, "bob", "APPROVE")
    lifecycle._ci_check(number)
    world.standin.merge_pull(number, "bob")
    assert ("issue", created.id) in lifecycle._sync()
    return str(created.id)


def orders_api(lifecycle: Any) -> MtlsServer:
    server = MtlsServer(lifecycle.world.setup.pki_ca_pem, lifecycle.world.workdir, http=True)
    server.start()
    return server
