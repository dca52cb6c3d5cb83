"""Sync records the post-hoc review of break-glass grants; `audit verify` judges it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jitflow.adapters.git import Git
from jitflow.core.times import parse_time
from jitflow.core.yamlio import load_yaml
from jitflow.usecases.audit.verify import VerifyOptions, run_verify
from tests.sync.conftest import World
from tests.sync.helpers_feat import main_trailers, push_to_main
from tests.sync.test_recent import RUNNER


def _policy(name: str, window: str) -> bytes:
    return f"""\
name: {name}
description: Emergency read-only Vault token
grant: {{kind: vault-token, policies: [jitflow-readonly]}}
duration: {{default: 30m, max: 2h}}
requesters: {{groups: [sre]}}
approvals:
  rules:
    - {{count: 1, from: {{groups: [leads]}}}}
break_glass: {{allowed: true, post_review_within: {window}}}
""".encode()


def _break_glass(world: World, policy: str) -> tuple[str, int]:
    """alice merges her own break-glass request with nobody's approval."""
    body = (
        f"policy: {policy}\nrequester: alice\nduration: 30m\nbreak_glass: true\n"
        "reason: the orders database is down and the on-call lead is unreachable\n"
    )
    request_id, number = world.request(policy, body=body)
    world.standin.merge_pull(number, "alice")
    return request_id, number


def _post_reviews(world: World) -> dict[str, dict[str, str]]:
    out = Git(world.bare).run("log", "--format=%H", "main").split()
    found = {}
    for trailers in main_trailers(world, len(out)):
        if trailers.get("jitflow-event") == "post-review":
            found[trailers["jitflow-request"]] = trailers
    return found


def _unreviewed(world: World, now: datetime) -> set[str]:
    report = run_verify(VerifyOptions(repo=world.bare, ref="main", now=now))
    return {v.request_id for v in report.violations if v.code == "break-glass-unreviewed"}


def test_eligible_post_merge_approval_is_recorded_once(world: World) -> None:
    push_to_main(world, {"policies/ops-emergency.yaml": _policy("ops-emergency", "24h")}, "bg")
    reviewed, number = _break_glass(world, "ops-emergency")
    unreviewed, other = _break_glass(world, "ops-emergency")
    world.sync()
    active = load_yaml(world.main_file(f"requests/active/{reviewed}.yaml") or b"", "a").data
    assert active["grant"]["break_glass"] is True and active["grant"]["approved_by"] == []

    # An ineligible approval (carol is a requester, not a lead) comes first on both PRs.
    world.standin.submit_review(number, "carol", "APPROVE")
    world.standin.submit_review(other, "carol", "APPROVE")
    world.standin.submit_review(number, "bob", "APPROVE")
    result = world.sync()
    assert f"post-review: {reviewed} (by bob at" in result.stdout
    recorded = _post_reviews(world)
    assert set(recorded) == {reviewed}
    trailers = recorded[reviewed]
    assert trailers["jitflow-reviewed-by"] == "bob"
    assert trailers["jitflow-policy"] == "ops-emergency"
    assert trailers["jitflow-requester"] == "alice"
    assert [trailers["jitflow-reviewed-at"]] == _reviews(world, number)
    author = Git(world.bare).run("log", "-1", "--format=%an <%ae>", "main")
    assert author == "jitflow-sync <jitflow-sync@users.noreply.github.com>"
    assert Git(world.bare).run("diff", "--name-only", "main~1", "main") == ""  # empty commit

    tip = Git(world.bare).rev_parse("main")
    assert "nothing to do" in world.sync().stdout  # idempotent
    assert Git(world.bare).rev_parse("main") == tip

    later = datetime.now(UTC) + timedelta(hours=25)
    assert _unreviewed(world, later) == {unreviewed}  # carol's approval is no evidence


def _reviews(world: World, number: int) -> list[str]:
    """submitted_at of bob's approvals on PR `number`, as GitHub reports them."""
    from jitflow.adapters.github import GitHubGateway

    with GitHubGateway.from_env(world.env) as github:
        pr = github.pull_request(number)
    return [
        r.submitted_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        for r in pr.reviews
        if r.reviewer == "bob" and r.state.value == "APPROVED"
    ]


def test_verify_judges_by_review_time_not_record_time(world: World) -> None:
    push_to_main(world, {"policies/ops-urgent.yaml": _policy("ops-urgent", "30s")}, "bg")
    prompt, prompt_pr = _break_glass(world, "ops-urgent")
    late, late_pr = _break_glass(world, "ops-urgent")
    world.sync()
    record = load_yaml(world.main_file(f"requests/active/{prompt}.yaml") or b"", "a").data
    issued_at = parse_time(record["grant"]["issued_at"])
    # GitHub's review times, not the clock, decide: one inside the 30s window, one after it
    in_window, after_window = issued_at + timedelta(seconds=10), issued_at + timedelta(seconds=35)
    world.standin.submit_review(prompt_pr, "bob", "APPROVE", submitted_at=in_window)
    world.standin.submit_review(late_pr, "bob", "APPROVE", submitted_at=after_window)
    later = (issued_at + timedelta(seconds=40)).isoformat().replace("+00:00", "Z")
    world.sync("--now", later)  # records both, more than 30s after issue

    recorded = _post_reviews(world)
    assert set(recorded) == {prompt, late}
    assert parse_time(recorded[prompt]["jitflow-reviewed-at"]) <= issued_at + timedelta(seconds=30)
    assert parse_time(recorded[late]["jitflow-reviewed-at"]) > issued_at + timedelta(seconds=30)
    assert _unreviewed(world, datetime.now(UTC) + timedelta(minutes=1)) == {late}


def test_an_unreadable_review_is_a_warning_and_is_retried(world: World) -> None:
    push_to_main(world, {"policies/ops-emergency.yaml": _policy("ops-emergency", "24h")}, "bg")
    request_id, number = _break_glass(world, "ops-emergency")
    world.sync()
    world.standin.submit_review(number, "bob", "APPROVE")
    world.standin.fail_next("GET", rf"/pulls/{number}/reviews$", 404, times=10)
    result = world.sync()  # exit 0: a missing review is audit verify's to judge, not a failure
    assert f"warning: could not read the post-hoc review of {request_id}" in result.stderr
    assert request_id not in _post_reviews(world)
    world.standin.clear_faults()  # GitHub answers again
    assert f"post-review: {request_id} (by bob at" in world.sync().stdout
    assert request_id in _post_reviews(world)


def _awaiting(world: World) -> str:
    """The list of grants awaiting review on main's newest commit."""
    return main_trailers(world, 1)[0].get("jitflow-awaiting-review", "")


def test_sync_follows_the_runner_list_and_verify_catches_a_forged_one(world: World) -> None:
    push_to_main(world, {"policies/ops-emergency.yaml": _policy("ops-emergency", "24h")}, "bg")
    request_id, number = _break_glass(world, "ops-emergency")
    world.sync()
    assert _awaiting(world) == request_id  # the issue commit lists the grant it issued
    expired = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    world.sync("--now", expired)  # archived, still awaiting its review
    assert world.main_file(f"requests/active/{request_id}.yaml") is None
    assert _awaiting(world) == request_id

    # A runner commit forged on main claims nothing awaits review: sync reads the archive
    # records that list names only, so the review is never recorded; audit verify says why.
    bare = Git(world.bare)
    message = "jitflow: expire x\n\nJitflow-Event: expire\nJitflow-Unsettled: none\n"
    message += "Jitflow-Awaiting-Review: none\n"
    forged = bare.run(
        "commit-tree", "main^{tree}", "-p", "main", input=message.encode(), env=RUNNER
    )
    bare.run("update-ref", "refs/heads/main", forged)
    world.standin.submit_review(number, "bob", "APPROVE")
    world.sync("--now", expired)
    assert request_id not in _post_reviews(world)
    report = run_verify(VerifyOptions(repo=world.bare, ref="main"))
    hidden = [v for v in report.violations if v.code == "review-trailer-hides-grant"]
    assert [(v.commit, v.request_id) for v in hidden] == [(forged, request_id)]
