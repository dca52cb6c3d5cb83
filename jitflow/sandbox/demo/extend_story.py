"""The demo's extension chapter: the expiry warning on the PR, then alice extends her grant
by an `extends:` request, and the sync renews the same token in place, 20 minutes longer.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from jitflow.sandbox.demo.progress import Narrator, StepFailed
from jitflow.sandbox.demo.steps import (
    OpenedRequest,
    alice_opens_pull,
    gate_statuses,
    run_demo_sync,
)
from jitflow.sandbox.demo.world import DemoWorld

EXTRA = "20m"


def warn(world: DemoWorld, narrator: Narrator, opened: list[OpenedRequest], now: datetime) -> None:
    """The sync, 9 minutes before the grants end, warns alice once on each PR."""
    with narrator.step("time jumps to 9 minutes before the expiry; sync warns") as step:
        done = run_demo_sync(world, now)
        warned = {request_id for event, request_id, _ in done if event == "warn"}
        missing = [r.request_id for r in opened if r.request_id not in warned]
        if missing:
            raise StepFailed(f"sync did not warn about {', '.join(missing)}")
        again = run_demo_sync(world, now)
        if any(event == "warn" for event, _, _ in again):
            raise StepFailed("a second sync warned again")
        first = opened[0]
        marker = f"`{first.request_id}` expires at"
        bodies = [c["body"] for c in world.standin.comments(first.number) if marker in c["body"]]
        if len(bodies) != 1 or "@alice" not in bodies[0] or "--extends" not in bodies[0]:
            raise StepFailed(f"PR #{first.number}: no single warning with the command to extend")
        step.done(
            f"now = {now:%Y-%m-%dT%H:%M:%SZ}; sync comments on "
            + ", ".join(f"#{r.number}" for r in opened)
            + ": @alice, your grant ends soon, with `jitflow request ... --extends <id>` "
            "(recorded once: a second sync stays quiet)"
        )


def extend(
    world: DemoWorld, narrator: Narrator, request: OpenedRequest, warned_at: datetime
) -> OpenedRequest:
    """alice extends `request` by 20 minutes; the sync renews the grant's token in place. The
    sync runs no earlier than the warning's (the clock jumped there): a runner commit dated
    before the commits below it on main is refused by `audit verify`."""
    from jitflow.usecases.request import RequestOptions

    now = datetime.now(UTC).replace(microsecond=0)
    ask = request.ask
    with narrator.step(f"alice extends {ask.policy}") as step:
        created, number = alice_opens_pull(
            world,
            RequestOptions(
                repo=world.alice.path,
                policy=ask.policy,
                duration=EXTRA,
                reason=f"{ask.reason}: it takes longer than planned",
                now=now,
                login="alice",
                ticket=ask.ticket,
                base="origin/main",
                extends=request.request_id,
            ),
        )
        world.standin.submit_review(number, ask.approver, "APPROVE")
        if gate_statuses(world, number, "submitted", now).get("jitflow/approval") != "success":
            raise StepFailed(f"the extension PR #{number} is not approved")
        world.standin.merge_pull(number, ask.approver)
        done = run_demo_sync(world, max(warned_at, datetime.now(UTC).replace(microsecond=0)))
        if (
            "issue",
            created.id,
        ) not in {(e, r) for e, r, _ in done}:
            raise StepFailed(f"sync did not issue the extension {created.id}")
        if ("extend", request.request_id) not in {(e, r) for e, r, _ in done}:
            raise StepFailed(f"sync did not end {request.request_id} as extended")
        step.done(
            f"alice opens PR #{number} (extends: {request.request_id}, for {EXTRA}); "
            f"{ask.approver} approves and merges; sync renews the same token in place until "
            f"the old end + {EXTRA} (the old record archived as extended in place)"
        )
    return replace(request, request_id=created.id, number=number, head_sha=created.commit)
