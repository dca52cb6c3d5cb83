"""A code owner *team* in CODEOWNERS: counted when its members approve, and failing closed,
saying what to configure, when the token can't read it (never left pending)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jitflow.adapters.git import Git
from jitflow.core.model import (
    ChangedFile,
    ChangeStatus,
    PullRequestFacts,
    Review,
    ReviewState,
)
from jitflow.errors import GitHubError
from jitflow.reporters.pr_comment import PULL_REQUEST_FEEDBACK
from jitflow.usecases.policy_gate import (
    ChangeGateGitHub,
    ChangePull,
    judge_change,
    run_change_gate,
)
from tests.gitrepo import GitRepo

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CODEOWNERS = b"/docs/ @acme/access-admins\n"
TEAM_MISSING = (
    "GitHub refused checking whether @alice is in team acme/access-admins (HTTP 403): the "
    "token lacks Members: read ... set the variable JITFLOW_TEAMS_APP_ID"
)


@dataclass
class FakeGitHub:
    """The change gate's port: answers from plain data."""

    pr: PullRequestFacts
    members: set[str] = field(default_factory=set)
    readable: bool = True
    statuses: dict[str, tuple[str, str]] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)

    def pull_request(self, number: int) -> PullRequestFacts:
        return self.pr

    def is_team_member(self, org: str, slug: str, login: str) -> bool:
        if not self.readable:
            raise GitHubError(TEAM_MISSING)
        return (org, slug) == ("acme", "access-admins") and login in self.members

    def set_status(
        self, sha: str, context: str, state: str, description: str, target_url: str | None
    ) -> None:
        self.statuses[context] = (state, description)

    def upsert_comment(self, number: int, marker: str, body: str) -> int:
        self.comments.append(body)
        return len(self.comments)


def _port(fake: FakeGitHub) -> ChangeGateGitHub:
    return fake  # checked by mypy: the fake answers the port's questions


@pytest.fixture
def docs_pr(tmp_path: Path) -> PullRequestFacts:
    """alice's PR changing docs/, which the access-admins team owns."""
    repo = GitRepo.create(tmp_path / "repo")
    base = repo.commit({".github/CODEOWNERS": CODEOWNERS}, branch="main")
    head = repo.branch("docs", {"docs/how.md": b"how we work\n"})
    return PullRequestFacts(
        number=7, author="alice", title="docs", state="open", draft=False,
        base_ref="main", base_sha=base, head_ref="docs", head_sha=head,
        files=(ChangedFile("docs/how.md", ChangeStatus.ADDED),),
    )  # fmt: skip


def _approved_by(pr: PullRequestFacts, *logins: str) -> PullRequestFacts:
    reviews = tuple(Review(who, ReviewState.APPROVED, pr.head_sha, NOW) for who in logins)
    return PullRequestFacts(**{**pr.__dict__, "reviews": reviews})


@pytest.mark.parametrize(
    ("approvers", "members", "readable", "state", "says"),
    [
        ((), {"dana"}, True, "pending", "waiting for a code owner (@acme/access-admins)"),
        (("carol",), {"dana"}, True, "pending", "waiting for a code owner"),
        (("dana",), {"dana"}, True, "success", "nothing for jitflow to judge"),  # owner approved
        ((), {"dana"}, False, "failure", "JITFLOW_TEAMS_APP_ID and JITFLOW_TEAMS_APP_PRIVATE_KEY"),
        (("dana",), {"dana"}, False, "failure", "can't read code owner team @acme/access-admins"),
    ],
)
def test_code_owner_team_verdicts(
    tmp_path: Path,
    docs_pr: PullRequestFacts,
    approvers: tuple[str, ...],
    members: set[str],
    readable: bool,
    state: str,
    says: str,
) -> None:
    pr = _approved_by(docs_pr, *approvers)
    fake = FakeGitHub(pr, members, readable)
    report = judge_change(Git(tmp_path / "repo"), _port(fake), pr, tmp_path / "repo", NOW)
    assert report.approval.state == state
    assert says in report.approval.description
    assert len(report.approval.description) <= 140  # GitHub's limit for a status description


def test_an_unreadable_team_fails_the_run_and_the_comment_says_why(
    tmp_path: Path, docs_pr: PullRequestFacts
) -> None:
    fake = FakeGitHub(_approved_by(docs_pr, "dana"), {"dana"}, readable=False)
    pull = ChangePull(7, tmp_path, NOW)
    _, passed = run_change_gate(Git(tmp_path / "repo"), _port(fake), pull, PULL_REQUEST_FEEDBACK)
    assert passed is False
    assert fake.statuses["jitflow/approval"][0] == "failure"
    (comment,) = fake.comments
    assert "no approval counts" in comment and "Members: read" in comment
    assert "@alice" not in comment  # a login in GitHub's words never pings anyone


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (".github/CODEOWNERS", "notes/CODEOWNERS.old"),  # drops every code owner after it
        ("policies/orders.yaml", "notes/orders.yaml"),  # drops a policy
    ],
)
def test_moving_an_owned_file_out_needs_its_owners_approval(
    tmp_path: Path, old: str, new: str
) -> None:
    """GitHub lists a rename under its new path only (`previous_filename` holds the old):
    the old path's owners must approve, or a move would delete owned files unreviewed."""
    repo = GitRepo.create(tmp_path / "repo")
    owners = b"/.github/ @acme/access-admins\n/policies/ @acme/access-admins\n"
    files = {".github/CODEOWNERS": owners, "policies/orders.yaml": b"name: orders\n"}
    base = repo.commit(files, branch="main")
    head = repo.branch("move", {old: None, new: files[old]})
    pr = PullRequestFacts(
        number=8, author="alice", title="tidy", state="open", draft=False,
        base_ref="main", base_sha=base, head_ref="move", head_sha=head,
        files=(ChangedFile(new, ChangeStatus.RENAMED, previous_path=old),),
    )  # fmt: skip
    fake = FakeGitHub(pr, {"dana"})
    report = judge_change(Git(tmp_path / "repo"), _port(fake), pr, tmp_path / "repo", NOW)
    assert report.approval.state == "pending"
    assert f"to approve {old}" in report.approval.description


def test_a_code_owner_approval_before_the_base_branch_changed_counts_for_nothing(
    tmp_path: Path, docs_pr: PullRequestFacts
) -> None:
    """It saw the diff against another branch (GitHub's `base_ref_changed` issue event)."""
    pr = _approved_by(docs_pr, "dana")
    for changed, state in ((NOW, "pending"), (NOW - timedelta(seconds=1), "success")):
        retargeted = PullRequestFacts(**{**pr.__dict__, "base_changed_at": changed})
        fake = FakeGitHub(retargeted, {"dana"})
        report = judge_change(
            Git(tmp_path / "repo"), _port(fake), retargeted, tmp_path / "repo", NOW
        )
        assert report.approval.state == state


@pytest.mark.parametrize(
    ("groups", "reviewer_id", "state"),
    [
        (b"github_ids: {bob: 2}\n", 2, "success"),  # the pinned account
        (b"github_ids: {bob: 2}\n", 77, "pending"),  # a stranger who took the login @bob
        (b"github_ids: {alice: 1}\n", 2, "pending"),  # pins exist but not for @bob
        (b"sre: [alice]\n", 77, "success"),  # pins nobody yet: GitHub's own review decides
    ],
)
def test_a_code_owner_login_counts_only_as_its_pinned_account(
    tmp_path: Path, groups: bytes, reviewer_id: int, state: str
) -> None:
    repo = GitRepo.create(tmp_path / "repo")
    files = {".github/CODEOWNERS": b"/docs/ @bob\n", "policies/groups.yaml": groups}
    base = repo.commit(files, branch="main")
    head = repo.branch("docs", {"docs/how.md": b"how we work\n"})
    pr = PullRequestFacts(
        number=7, author="alice", title="docs", state="open", draft=False,
        base_ref="main", base_sha=base, head_ref="docs", head_sha=head,
        files=(ChangedFile("docs/how.md", ChangeStatus.ADDED),),
        reviews=(Review("bob", ReviewState.APPROVED, head, NOW, reviewer_id),),
    )  # fmt: skip
    report = judge_change(Git(repo.path), _port(FakeGitHub(pr)), pr, repo.path, NOW)
    assert report.approval.state == state, report.approval.description
