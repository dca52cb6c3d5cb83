"""`extends:` requests at the gate: an extension of one's own active grant is checked like a
request (same policy, the policy's `extension` rule, its total maximum), and every way it can
be wrong is a finding at the right file and line."""

from __future__ import annotations

from tests.cli.scenarios import ACTIVE_CAROL, ARCHIVED, check
from tests.gitrepo import GitRepo

# carol's active grant (scenarios.base_files): issued 09:50, expires 10:20; now is 10:00.
# orders-db-write: duration max 2h, extension {total_max: 4h, self_approve_up_to: 30m}.


def _extension(grant: str = ACTIVE_CAROL, duration: str = "30m", **extra: str) -> str:
    lines = [
        "policy: orders-db-write",
        "requester: carol",
        f"duration: {duration}",
        "reason: the refund fix needs another run over the orders table",
        "ticket: INC-1",
        f"extends: {grant}",
    ]
    lines += [f"{key}: {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def _run(repo: GitRepo, name: str, content: str, author: str = "carol"):  # type: ignore[no-untyped-def]
    repo.branch(name, {f"requests/{name}.yaml": content}, author=author)
    return check(repo, name, author)


def test_short_extension_of_own_grant_is_self_approved(repo: GitRepo) -> None:
    run = _run(repo, "carol-ext-ok", _extension())
    assert run.exit_code == 0, run.stdout + run.stderr
    data = run.json
    assert data["allowed"] is True
    assert data["approved"] is True  # 30m <= self_approve_up_to: no approval needed
    # the grant it extends does not count against limits.active_per_requester (1)
    assert data["requests"][0]["findings"] == []


def test_longer_extension_needs_the_policy_approvals(repo: GitRepo) -> None:
    run = _run(repo, "carol-ext-long", _extension(duration="1h"))
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.json["allowed"] is True
    assert run.json["approved"] is False
    (rule,) = run.json["requests"][0]["approvals_required"]
    assert rule["from"]["groups"] == ["sre-leads"]


def _denied(run, code: str, line: int) -> dict:  # type: ignore[no-untyped-def]
    assert run.exit_code == 1, run.stdout + run.stderr
    finding = run.finding(code)
    assert finding["line"] == line, finding
    assert finding["path"].startswith("requests/")
    return finding


def test_extension_over_total_max_says_how_much_is_left(repo: GitRepo) -> None:
    # the grant was first issued at 07:00 (an earlier extension): 3h20m used of 4h at 10:20
    record = (
        "policy: orders-db-write\nrequester: carol\nduration: 30m\n"
        "reason: fix the stuck refunds in the orders table\nticket: INC-1\n"
        "grant:\n  kind: database\n  issued_at: '2026-11-22T09:50:00Z'\n"
        "  started_at: '2026-11-22T07:00:00Z'\n  expires_at: '2026-11-22T10:20:00Z'\n"
    )
    repo.commit({f"requests/active/{ACTIVE_CAROL}.yaml": record}, parent="main", branch="main")
    finding = _denied(
        _run(repo, "carol-ext-over", _extension(duration="1h")), "extension-over-total-max", 3
    )
    assert "at most 40m can still be added" in finding["message"], finding
    assert _run(repo, "carol-ext-fits", _extension(duration="40m")).exit_code == 0


def test_policy_without_extension_rule_refuses(repo: GitRepo) -> None:
    content = _extension().replace("policy: orders-db-write", "policy: k8s-prod-admins")
    content = content.replace("ticket: INC-1\n", "")
    run = _run(repo, "carol-ext-k8s", content)
    _denied(run, "extension-not-allowed", 5)
    _denied(run, "extends-other-policy", 1)


def test_unknown_and_ended_grants_are_refused(repo: GitRepo) -> None:
    run = _run(repo, "carol-ext-unknown", _extension("no-such-grant"))
    finding = _denied(run, "extends-unknown-grant", 6)
    assert "no-such-grant" in finding["message"]
    _denied(_run(repo, "carol-ext-archived", _extension(ARCHIVED)), "extends-unknown-grant", 6)


def test_other_persons_grant_is_refused(repo: GitRepo) -> None:
    content = _extension().replace("requester: carol", "requester: alice")
    run = _run(repo, "alice-ext-carol", content, "alice")
    finding = _denied(run, "extends-other-requester", 6)
    assert "carol" in finding["message"]


def test_start_is_refused_on_an_extension(repo: GitRepo) -> None:
    run = _run(repo, "carol-ext-start", _extension(start="'2026-11-22T11:00:00Z'"))
    _denied(run, "extends-with-start", 7)


def test_pr_comment_tells_reviewers_which_grant_is_extended(repo: GitRepo) -> None:
    from jitflow.core.times import parse_time
    from jitflow.reporters.pr_comment import render_pr_comment
    from jitflow.usecases.check import CheckOptions, run_check
    from tests.cli.scenarios import NOW

    repo.branch(
        "carol-ext-comment", {"requests/carol-ext-comment.yaml": _extension()}, author="carol"
    )
    options = CheckOptions(repo.path, "main", "carol-ext-comment", parse_time(NOW), "carol")
    body = render_pr_comment(run_check(options), "https://github.com/acme/access/blob/x")
    row = f"| **Extends** | `{ACTIVE_CAROL}`: runs on from its current end (at most 4h in all) |"
    assert row in body, body
