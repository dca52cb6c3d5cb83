"""`jitflow audit verify`: a clean history passes; each forged violation is caught."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from jitflow.core.verify_report import VerifyReport
from jitflow.reporters.audit_verify import render_verify_text
from jitflow.usecases.audit.verify import VerifyOptions, run_verify
from tests.audit.conftest import StandardHistory
from tests.audit.history_builder import (
    GROUPS,
    POLICY_ORDERS,
    RUNNER_EMAIL,
    RUNNER_NAME,
    T0,
    Handle,
    HistoryBuilder,
)


def verify(builder: HistoryBuilder, now: datetime, **kwargs: object) -> VerifyReport:
    return run_verify(VerifyOptions(repo=builder.root, now=now, **kwargs))  # type: ignore[arg-type]


def codes(report: VerifyReport) -> set[str]:
    return {v.code for v in report.violations}


@pytest.fixture
def builder(tmp_path: Path) -> HistoryBuilder:
    return HistoryBuilder(tmp_path / "ledger")


def issued(builder: HistoryBuilder, requester: str = "alice", **kwargs: object) -> Handle:
    handle = builder.request(requester, at=T0, **kwargs)  # type: ignore[arg-type]
    builder.merge(handle, "bob", T0 + timedelta(minutes=2))
    builder.issue(handle, T0 + timedelta(minutes=3))
    return handle


def test_clean_history_passes(standard: StandardHistory) -> None:
    report = run_verify(VerifyOptions(repo=standard.path, now=standard.now))
    assert report.ok, render_verify_text(report)
    assert report.requests_checked == 7
    assert "all invariants hold" in render_verify_text(report)


def test_hand_made_active_file_by_someone_else_is_caught(builder: HistoryBuilder) -> None:
    builder.write("requests/active/mallory-sneaky.yaml", "policy: orders-db-write\n")
    sha = builder.commit("mallory", "add access", T0)
    report = verify(builder, T0 + timedelta(minutes=1))
    found = {(v.code, v.request_id, v.commit) for v in report.violations}
    assert ("ledger-written-by-other", "mallory-sneaky", sha) in found
    assert ("grant-without-merged-request", "mallory-sneaky", sha) in found


def test_runner_name_with_another_email_is_not_the_runner(builder: HistoryBuilder) -> None:
    handle = builder.request("alice", at=T0)
    builder.merge(handle, "bob", T0 + timedelta(minutes=2))
    builder.write(f"requests/active/{handle.id}.yaml", builder.read(f"requests/{handle.id}.yaml"))
    builder.remove(f"requests/{handle.id}.yaml")
    builder.commit(
        "jitflow-sync",
        "jitflow: issue",
        T0 + timedelta(minutes=3),
        email="jitflow-sync@evil.example",
    )
    assert "ledger-written-by-other" in codes(verify(builder, T0 + timedelta(minutes=4)))


def test_grant_without_enough_approvals_is_caught(builder: HistoryBuilder) -> None:
    handle = builder.request("alice", at=T0)
    builder.merge(handle, "carol", T0 + timedelta(minutes=2), approved_by=("carol",))
    builder.issue(handle, T0 + timedelta(minutes=3))
    report = verify(builder, T0 + timedelta(minutes=5))
    assert codes(report) == {"approvals-insufficient"}
    assert report.violations[0].commit == handle.merge_commit
    assert "sre-leads" in report.violations[0].message


def test_approvals_are_checked_against_the_policy_as_it_was(builder: HistoryBuilder) -> None:
    """Relaxing the policy after the fact does not make an unapproved grant legal."""
    handle = builder.request("alice", at=T0)
    builder.merge(handle, "bob", T0 + timedelta(minutes=2), approved_by=())
    builder.issue(handle, T0 + timedelta(minutes=3))
    builder.write("policies/orders-db-write.yaml", POLICY_ORDERS.replace("count: 1", "count: 0"))
    builder.commit("admin", "Relax policy", T0 + timedelta(minutes=4))
    assert codes(verify(builder, T0 + timedelta(minutes=5))) == {"approvals-insufficient"}


def test_requester_approving_their_own_request_does_not_count(builder: HistoryBuilder) -> None:
    builder.write("policies/groups.yaml", GROUPS.replace("[bob, erin]", "[alice, bob, erin]"))
    builder.commit("admin", "alice joins sre-leads", T0 - timedelta(hours=1))
    handle = builder.request("alice", at=T0)
    builder.merge(handle, "alice", T0 + timedelta(minutes=2), approved_by=("alice",))
    builder.issue(handle, T0 + timedelta(minutes=3))
    assert codes(verify(builder, T0 + timedelta(minutes=5))) == {"approvals-insufficient"}


def test_request_added_by_someone_else_is_caught(builder: HistoryBuilder) -> None:
    handle = builder.request("alice", at=T0)
    # rewrite the branch commit's author to mallory
    builder.git.run("checkout", "-q", f"request/{handle.id}")
    builder.git.run(
        "commit",
        "-q",
        "--amend",
        "--no-edit",
        "--reset-author",
        env=builder._identity("mallory", T0),
    )
    builder.git.run("checkout", "-q", "main")
    builder.merge(handle, "bob", T0 + timedelta(minutes=2))
    builder.issue(handle, T0 + timedelta(minutes=3))
    assert codes(verify(builder, T0 + timedelta(minutes=5))) == {"request-not-by-requester"}


def test_overdue_grant_is_caught_only_after_the_tolerance(builder: HistoryBuilder) -> None:
    handle = issued(builder)
    assert handle.expires_at is not None
    assert verify(builder, handle.expires_at + timedelta(minutes=14)).ok
    report = verify(builder, handle.expires_at + timedelta(minutes=16))
    assert codes(report) == {"grant-overdue"}
    assert report.violations[0].commit == handle.issue_commit
    wider = verify(builder, handle.expires_at + timedelta(minutes=16), tolerance=timedelta(hours=1))
    assert wider.ok


def test_overdue_message_names_times_in_utc_whatever_zone_now_is_given_in(
    builder: HistoryBuilder,
) -> None:
    handle = issued(builder)
    assert handle.expires_at is not None
    now = (handle.expires_at + timedelta(minutes=16)).astimezone(timezone(timedelta(hours=2)))
    [violation] = verify(builder, now).violations
    utc_now = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f"still active at {utc_now}," in violation.message


def test_grant_ended_late_is_caught(builder: HistoryBuilder) -> None:
    handle = issued(builder)
    assert handle.expires_at is not None
    builder.end(handle, handle.expires_at + timedelta(hours=2))
    report = verify(builder, handle.expires_at + timedelta(hours=3))
    assert codes(report) == {"ended-late"}
    assert report.violations[0].commit == handle.end_commit


def test_request_rewritten_in_the_active_record_is_caught(builder: HistoryBuilder) -> None:
    handle = issued(builder)
    path = f"requests/active/{handle.id}.yaml"
    builder.write(path, builder.read(path).replace("duration: 30m", "duration: 4h"))
    builder.commit("jitflow-sync", "jitflow: touch", T0 + timedelta(minutes=4), email=RUNNER_EMAIL)
    assert codes(verify(builder, T0 + timedelta(minutes=5))) == {
        "request-rewritten",
        "ledger-record-rewritten",
        "ledger-unsigned",
    }


def test_request_modified_on_main_after_merge_is_caught(builder: HistoryBuilder) -> None:
    handle = builder.request("alice", at=T0)
    builder.merge(handle, "bob", T0 + timedelta(minutes=2))
    path = f"requests/{handle.id}.yaml"
    builder.write(path, builder.read(path).replace("duration: 30m", "duration: 4h"))
    sha = builder.commit("alice", "longer please", T0 + timedelta(minutes=3))
    builder.issue(handle, T0 + timedelta(minutes=4))
    report = verify(builder, T0 + timedelta(minutes=5))
    assert ("request-modified-after-merge", sha) in {(v.code, v.commit) for v in report.violations}


def test_merge_commit_outside_history_is_caught(builder: HistoryBuilder) -> None:
    handle = builder.request("alice", at=T0)
    builder.merge(handle, "bob", T0 + timedelta(minutes=2))
    tree = builder.git.run("rev-parse", "HEAD^{tree}")
    orphan = builder.git.run(
        "commit-tree", tree, "-m", "rewritten merge", env=builder._identity("bob", T0)
    )
    builder.issue(handle, T0 + timedelta(minutes=3), grant={"merge_commit": orphan})
    report = verify(builder, T0 + timedelta(minutes=5))
    assert codes(report) == {"merge-commit-mismatch", "merge-commit-not-in-history"}
    assert orphan in {v.commit for v in report.violations}


def _runner_list(builder: HistoryBuilder, at: datetime, listed: str) -> str:
    """An empty runner commit with the trailers where sync stops reading."""
    message = f"jitflow: sync\n\nJitflow-Unsettled: none\nJitflow-Awaiting-Review: {listed}"
    return builder.commit(
        RUNNER_NAME, message, at, email=RUNNER_EMAIL, allow_empty=True, signer=builder.kit
    )


def test_a_runner_list_hiding_a_grant_awaiting_review(builder: HistoryBuilder) -> None:
    """Sync reads only the break-glass records the newest runner commit lists as awaiting
    review: a list that leaves out an unreviewed grant of the last 30 days is a lie."""
    handle = issued(builder, break_glass=True)
    builder.end(handle, T0 + timedelta(minutes=33))
    _runner_list(builder, T0 + timedelta(minutes=34), handle.id)
    forged = _runner_list(builder, T0 + timedelta(minutes=35), "none")
    report = verify(builder, T0 + timedelta(hours=1))
    assert [(v.code, v.commit, v.request_id) for v in report.violations] == [
        ("review-trailer-hides-grant", forged, handle.id)
    ]


def test_break_glass_needs_a_timely_post_review(builder: HistoryBuilder) -> None:
    handle = issued(builder, break_glass=True)
    assert handle.issued_at is not None
    builder.end(handle, T0 + timedelta(minutes=33))
    # within the 24h window nothing is due yet
    assert verify(builder, handle.issued_at + timedelta(hours=23)).ok
    late = verify(builder, handle.issued_at + timedelta(hours=25))
    assert codes(late) == {"break-glass-unreviewed"}
    # a review by the requester doesn't count; one by an approver of the policy does
    message = (
        "Review\n\nJitflow-Event: post-review\nJitflow-Request: {id}\nJitflow-Reviewed-By: {who}"
    )
    builder.commit(
        "alice",
        message.format(id=handle.id, who="alice"),
        handle.issued_at + timedelta(hours=2),
        allow_empty=True,
    )
    assert codes(verify(builder, handle.issued_at + timedelta(hours=25))) == {
        "break-glass-unreviewed"
    }
    # nor does one by someone who is not an approver of the policy (carol is no sre-lead)
    builder.commit(
        "carol",
        message.format(id=handle.id, who="carol"),
        handle.issued_at + timedelta(hours=2, minutes=30),
        allow_empty=True,
    )
    # and evidence naming an approver counts only from the runner (which records the approver's
    # review on GitHub): mallory can't vouch for bob, nor claim to be him -- a commit's author
    # is free text, and a rebase merge keeps it on main as written
    builder.commit(
        "mallory",
        message.format(id=handle.id, who="bob"),
        handle.issued_at + timedelta(hours=2, minutes=45),
        allow_empty=True,
    )
    builder.commit(
        "bob",  # as far as the commit says
        message.format(id=handle.id, who="bob"),
        handle.issued_at + timedelta(hours=2, minutes=50),
        allow_empty=True,
    )
    unapproved = verify(builder, handle.issued_at + timedelta(hours=25))
    assert codes(unapproved) == {"break-glass-unreviewed"}
    assert "reviews by" not in unapproved.violations[0].message  # claims aren't even listed
    builder.commit(
        RUNNER_NAME,
        message.format(id=handle.id, who="bob"),
        handle.issued_at + timedelta(hours=3),
        email=RUNNER_EMAIL,
        allow_empty=True,
        signer=builder.kit,
    )
    assert verify(builder, handle.issued_at + timedelta(hours=25)).ok


def test_revocation_pr_may_delete_an_active_file(builder: HistoryBuilder) -> None:
    handle = issued(builder)
    builder.revoke(handle, "erin", "bob", T0 + timedelta(minutes=10))
    assert verify(builder, T0 + timedelta(hours=2)).ok


def test_other_changes_in_a_deleting_pr_are_not_a_revocation(builder: HistoryBuilder) -> None:
    handle = issued(builder)
    builder.remove(f"requests/active/{handle.id}.yaml")
    builder.write(f"requests/active/{handle.id}-copy.yaml", "policy: orders-db-write\n")
    builder.commit("mallory", "shuffle", T0 + timedelta(minutes=10))
    report = verify(builder, T0 + timedelta(minutes=11))
    writers = {v.request_id for v in report.violations if v.code == "ledger-written-by-other"}
    assert writers == {handle.id, f"{handle.id}-copy"}


@dataclass(frozen=True)
class FakeToken:
    accessor: str
    request_id: str | None
    expire_time: datetime | None = None


class FakeTokens:
    """Stands in for the Vault adapter's `list_jitflow_tokens` (the Protocol only)."""

    def __init__(self, *tokens: FakeToken) -> None:
        self.tokens = list(tokens)

    def list_jitflow_tokens(self) -> list[FakeToken]:
        return self.tokens


def test_vault_tokens_must_equal_active_grants(builder: HistoryBuilder) -> None:
    handle = issued(builder)
    now = T0 + timedelta(minutes=5)
    options = VerifyOptions(repo=builder.root, now=now, vault=True)
    live = FakeToken(f"acc-{handle.id}", handle.id)
    assert run_verify(options, FakeTokens(live)).ok
    stray = FakeToken("acc-stray", "someone-else")
    report = run_verify(options, FakeTokens(live, stray))
    assert {(v.code, v.request_id) for v in report.violations} == {
        ("vault-token-without-grant", "someone-else")
    }
    report = run_verify(options, FakeTokens())
    assert {(v.code, v.request_id) for v in report.violations} == {
        ("grant-without-vault-token", handle.id)
    }


def test_vault_must_end_a_token_grant_when_the_ledger_says(builder: HistoryBuilder) -> None:
    handle = builder.request("alice", at=T0)
    builder.merge(handle, "bob", T0 + timedelta(minutes=2))
    builder.issue(handle, T0 + timedelta(minutes=3), grant={"kind": "identity-group"})
    assert handle.expires_at is not None
    options = VerifyOptions(repo=builder.root, now=T0 + timedelta(minutes=5), vault=True)
    on_time = FakeToken(f"acc-{handle.id}", handle.id, handle.expires_at)
    assert run_verify(options, FakeTokens(on_time)).ok
    # renewed past the ledger's end (by hand, or an extension nobody recorded)
    later = FakeToken(f"acc-{handle.id}", handle.id, handle.expires_at + timedelta(hours=1))
    report = run_verify(options, FakeTokens(later))
    assert [(v.code, v.request_id) for v in report.violations] == [("vault-end-differs", handle.id)]
