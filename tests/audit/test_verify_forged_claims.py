"""Forged claims caught through verify's ports: the record's PR and policy commit, Vault's
token metadata, anchor and CA, and GitHub's PR facts (plain-struct fakes of the Protocols)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from jitflow.core.anchor import LedgerAnchor
from jitflow.core.model import PullCommit, PullRequestFacts, Review, ReviewState
from jitflow.core.verify_report import VerifyReport
from jitflow.reporters.audit_verify import render_verify_text
from jitflow.usecases.audit.verify import VerifyOptions, run_verify
from tests.audit.history_builder import T0, Handle, HistoryBuilder

NOW = T0 + timedelta(minutes=5)


@pytest.fixture
def builder(tmp_path: Path) -> HistoryBuilder:
    return HistoryBuilder(tmp_path / "ledger")


def issued(builder: HistoryBuilder, **grant: object) -> Handle:
    handle = builder.request("alice", at=T0)
    builder.merge(handle, "bob", T0 + timedelta(minutes=2))
    builder.issue(handle, T0 + timedelta(minutes=3), grant=grant or None)
    return handle


def codes(report: VerifyReport) -> set[str]:
    return {v.code for v in report.violations}


def test_record_naming_another_pr_or_policy_commit(builder: HistoryBuilder) -> None:
    issued(builder, pr=99, policy_commit="0" * 40)
    report = run_verify(VerifyOptions(repo=builder.root, now=NOW))
    assert codes(report) == {"pr-mismatch", "policy-commit-mismatch"}


def test_policy_missing_at_the_policy_commit(builder: HistoryBuilder) -> None:
    handle = builder.request("alice", at=T0)
    builder.remove("policies/orders-db-write.yaml")
    builder.commit("admin", "drop policy", T0 + timedelta(minutes=1))
    builder.merge(handle, "bob", T0 + timedelta(minutes=2))
    builder.issue(handle, T0 + timedelta(minutes=3))
    report = run_verify(VerifyOptions(repo=builder.root, now=NOW))
    assert "policy-missing" in codes(report)


def test_record_without_a_grant_block(builder: HistoryBuilder) -> None:
    handle = builder.request("alice", at=T0)
    builder.merge(handle, "bob", T0 + timedelta(minutes=2))
    text = builder.read(f"requests/{handle.id}.yaml")
    builder.remove(f"requests/{handle.id}.yaml")
    builder.write(f"requests/active/{handle.id}.yaml", text)
    builder.runner_commit("issue", handle, T0 + timedelta(minutes=3))
    report = run_verify(VerifyOptions(repo=builder.root, now=NOW))
    assert "grant-record-malformed" in codes(report)


@dataclass(frozen=True)
class Token:
    accessor: str
    request_id: str | None
    expire_time: datetime | None = None


@dataclass
class FakeLedger:
    ca: str
    anchor: str | None
    settings: object = field(default_factory=lambda: type("S", (), {"anchor_path": "kv/x"})())

    def ca_public_key(self) -> str:
        return self.ca

    def read_anchor(self) -> LedgerAnchor | None:
        return LedgerAnchor(self.anchor) if self.anchor else None


@dataclass
class FakeVault:
    tokens: list[Token]
    ledger_port: FakeLedger

    def list_jitflow_tokens(self) -> list[Token]:
        return self.tokens

    def ledger(self, environ: object) -> FakeLedger:
        return self.ledger_port


def test_vault_token_of_another_request_anchor_and_ca(builder: HistoryBuilder) -> None:
    handle = issued(builder)
    options = VerifyOptions(repo=builder.root, now=NOW, vault=True)
    good = FakeVault(
        [Token(f"acc-{handle.id}", handle.id)], FakeLedger(builder.kit.ca_public, builder.head())
    )
    assert run_verify(options, good).ok
    other = FakeVault(
        [Token(f"acc-{handle.id}", "someone-else")],
        FakeLedger(builder.kit.ca_public, "1" * 40),
    )
    report = run_verify(options, other)
    assert codes(report) == {"vault-token-other-request", "ledger-anchor-not-in-history"}
    assert "someone-else" in render_verify_text(report)
    stranger = HistoryBuilder(builder.root.parent / "other").kit  # the same test CA
    assert stranger.ca_public == builder.kit.ca_public
    from tests.audit.history_builder import make_signing_kit

    foreign_ca = make_signing_kit().ca_public
    wrong = FakeVault([Token(f"acc-{handle.id}", handle.id)], FakeLedger(foreign_ca, None))
    assert codes(run_verify(options, wrong)) == {"signers-not-vault-ca", "ledger-anchor-missing"}


@dataclass
class FakeGitHub:
    pulls: dict[int, PullRequestFacts]

    def pull_request(self, number: int) -> PullRequestFacts:
        from jitflow.errors import GitHubError

        if number not in self.pulls:
            raise GitHubError(f"no pull request #{number}")
        return self.pulls[number]


def pull(handle: Handle, **changes: object) -> PullRequestFacts:
    assert handle.merged_at is not None
    base = dict(
        number=handle.pr,
        author=handle.requester,
        title="t",
        state="closed",
        draft=False,
        base_ref="main",
        base_sha=handle.policy_commit,
        head_ref="r",
        head_sha=handle.requested_commit,
        merged=True,
        merged_by="bob",
        merged_at=handle.merged_at,
        merge_commit_sha=handle.merge_commit,
        reviews=(
            Review(
                "bob",
                ReviewState.APPROVED,
                handle.requested_commit,
                handle.merged_at - timedelta(seconds=5),
            ),
        ),
        commits=(PullCommit(handle.requested_commit, handle.requester, handle.requester),),
    )
    base.update(changes)
    return PullRequestFacts(**base)  # type: ignore[arg-type]


def test_github_facts_contradicting_the_record(builder: HistoryBuilder) -> None:
    handle = issued(builder)
    options = VerifyOptions(repo=builder.root, now=NOW, github=True)
    assert run_verify(options, github=FakeGitHub({handle.pr: pull(handle)})).ok
    assert codes(run_verify(options, github=FakeGitHub({}))) == {"github-pr-missing"}
    liar = pull(handle, author="mallory", merge_commit_sha="2" * 40)
    assert codes(run_verify(options, github=FakeGitHub({handle.pr: liar}))) == {
        "github-author-mismatch",
        "github-merge-mismatch",
    }
    assert handle.merged_at is not None
    late = pull(
        handle,
        reviews=(
            Review(
                "bob",
                ReviewState.APPROVED,
                handle.requested_commit,
                handle.merged_at + timedelta(minutes=1),
            ),
        ),
    )
    report = run_verify(options, github=FakeGitHub({handle.pr: late}))
    assert codes(report) == {"github-approvals-insufficient"}
    pushed_by_bob = pull(handle, commits=(PullCommit(handle.requested_commit, "alice", "bob"),))
    assert codes(run_verify(options, github=FakeGitHub({handle.pr: pushed_by_bob}))) == {
        "github-approvals-insufficient"
    }
