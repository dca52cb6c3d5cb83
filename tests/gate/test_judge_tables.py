"""The one decision (`usecases.pull_decision.judge_pull`) table by table, one table per rule, in the
style of policy-bot's predicate tests: each row fills the plain-struct port fake
(tests/port_fake.py) with what GitHub would answer, over a real git repository holding the
policies and the request commits; no server.

Rows: (name, what changes from a clean approved PR, approved?, finding codes expected).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jitflow.adapters.git import Git
from jitflow.core.model import (
    ChangedFile,
    ChangeStatus,
    PullCommit,
    PullRequestFacts,
    Push,
    Review,
    ReviewState,
)
from jitflow.sandbox.github_standin.accounts import first_id
from jitflow.usecases.check import ChangeSet
from jitflow.usecases.pull_decision import Judged, judge_pull
from tests.port_fake import FakePullFacts, as_port
from tests.standin_helpers import github_ids

POLICIES = Path(__file__).resolve().parents[2] / "policies"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
T0 = NOW - timedelta(hours=1)
REQ = "requests/alice-orders-1.yaml"
SSH_REQ = "requests/alice-ssh-1.yaml"
GROUPS = (
    b"sre: [alice, carol]\nsre-leads: [bob, github-team:acme/leads]\nplatform: [dave]\n"
    + github_ids("alice", "bob", "carol", "dave").encode()
)
ZERO = "0" * 40


def _request(**extra: str) -> bytes:
    fields = {
        "policy": "orders-db-write",
        "requester": "alice",
        "duration": "30m",
        "reason": "Fix stuck rows in orders.status for INC-4211",
        "ticket": "INC-4211",
        **extra,
    }
    return "".join(f"{k}: {json.dumps(v)}\n" for k, v in fields.items()).encode()


@dataclass(frozen=True)
class Repo:
    git: Git
    base: str
    first: str  # adds the request (30m)
    widened: str  # on `first`: the request now asks 2h
    empty: str  # on `widened`: no change to any request file
    ssh: str  # from base: an ssh request naming `key`
    key: str
    other_key: str


def _commit(git: Git, files: dict[str, bytes], message: str) -> str:
    for path, content in files.items():
        (git.path / path).parent.mkdir(parents=True, exist_ok=True)
        (git.path / path).write_bytes(content)
        git.run("add", path)
    git.run("commit", "--quiet", "--allow-empty", "-m", message)
    return git.rev_parse("HEAD")


def _key(tmp: Path, name: str) -> str:
    path = tmp / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return " ".join(path.with_name(name + ".pub").read_text().split()[:2])


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    root = tmp_path_factory.mktemp("judge")
    env = {
        "GIT_AUTHOR_NAME": "alice",
        "GIT_AUTHOR_EMAIL": "alice@example.test",
        "GIT_COMMITTER_NAME": "alice",
        "GIT_COMMITTER_EMAIL": "alice@example.test",
    }
    git = Git(root / "repo", env=env)
    git.path.mkdir()
    git.run("init", "--quiet", "-b", "main")
    seed = {f"policies/{p.name}": p.read_bytes() for p in POLICIES.glob("*.yaml")}
    seed["policies/groups.yaml"] = GROUPS
    seed["requests/.gitkeep"] = b""
    base = _commit(git, seed, "policies")
    first = _commit(git, {REQ: _request()}, "request")
    widened = _commit(git, {REQ: _request(duration="2h")}, "widen")
    empty = _commit(git, {}, "nothing")
    key, other = _key(root, "alice"), _key(root, "bob")
    git.run("checkout", "--quiet", "-b", "ssh", base)
    ssh_request = _request(policy="prod-ssh", ssh_public_key=key + " laptop")
    ssh = _commit(git, {SSH_REQ: ssh_request}, "ssh request")
    return Repo(git, base, first, widened, empty, ssh, key, other)


def _pr(head: str, *reviews: Review, path: str = REQ, **changes: object) -> PullRequestFacts:
    facts = PullRequestFacts(
        number=7,
        author="alice",
        author_id=first_id("alice"),
        title="request",
        state="open",
        draft=False,
        base_ref="main",
        base_sha="",
        head_ref="req",
        head_sha=head,
        files=(ChangedFile(path, ChangeStatus.ADDED),),
        reviews=reviews,
        commits=(PullCommit(head, "alice", "alice"),),
        pushes=(Push("alice", ZERO, head, "branch_creation"),),
    )
    return replace(facts, **changes)  # type: ignore[arg-type]


def _review(who: str, state: ReviewState, commit: str, minute: int = 0) -> Review:
    return Review(who, state, commit, T0 + timedelta(minutes=minute), first_id(who))


def _judge(repo: Repo, pr: PullRequestFacts, fake: FakePullFacts | None = None) -> Judged:
    port = as_port(fake or FakePullFacts())
    pr = replace(pr, base_sha=repo.base)
    return judge_pull(repo.git, port, pr, ChangeSet(pr.files, repo.base, pr.head_sha), NOW)


def _codes(judged: Judged) -> set[str]:
    findings = judged.report.decision.all_findings()
    return {f.code for f in findings} | {f.code for f in judged.team_findings}


def _approved(judged: Judged) -> bool:
    return judged.report.decision.approved


A, CR, DISMISSED = ReviewState.APPROVED, ReviewState.CHANGES_REQUESTED, ReviewState.DISMISSED


# -- approvals: who counts, on which content, in which order -------------------------------

APPROVALS = [
    # (name, head commit, reviews as (reviewer, state, reviewed commit, minute), approved?)
    ("an eligible approval on the head", "first", [("bob", A, "first", 0)], True),
    ("no review", "first", [], False),
    ("approver not in the group", "first", [("carol", A, "first", 0)], False),
    ("the author approving", "first", [("alice", A, "first", 0)], False),
    ("dismissed approval", "first", [("bob", DISMISSED, "first", 0)], False),
    (
        "changes requested after the approval",
        "first",
        [("bob", A, "first", 0), ("bob", CR, "first", 1)],
        False,
    ),
    (
        "approval after a change request",
        "first",
        [("bob", CR, "first", 0), ("bob", A, "first", 1)],
        True,
    ),
    ("approval of the request before it was widened", "widened", [("bob", A, "first", 0)], False),
    ("approval of an older commit, same request bytes", "empty", [("bob", A, "widened", 0)], True),
    ("approval of a commit GitHub can't find", "first", [("bob", A, "missing", 0)], False),
]


def _sha(repo: Repo, name: str) -> str:
    return str(getattr(repo, name)) if name != "missing" else "f" * 40


@pytest.mark.parametrize(
    ("name", "head", "reviews", "approved"), APPROVALS, ids=[a[0] for a in APPROVALS]
)
def test_approvals(
    repo: Repo,
    name: str,
    head: str,
    reviews: list[tuple[str, ReviewState, str, int]],
    approved: bool,
) -> None:
    sha = _sha(repo, head)
    given = [
        _review(who, state, _sha(repo, commit), minute) for who, state, commit, minute in reviews
    ]
    commits = tuple(PullCommit(c, "alice", "alice") for c in dict.fromkeys([repo.first, sha]))
    judged = _judge(repo, _pr(sha, *given, commits=commits))
    assert _approved(judged) is approved, (name, _codes(judged))


@pytest.mark.parametrize(
    ("changed_minute", "approved"),
    [(1, False), (0, False), (-1, True)],
    ids=["retargeted after the approval", "in the same second", "retargeted before it"],
)
def test_an_approval_before_the_base_branch_changed_counts_for_nothing(
    repo: Repo, changed_minute: int, approved: bool
) -> None:
    """It saw the PR's diff against another branch: request files already there were not
    shown (GitHub's `base_ref_changed` issue event dates the change)."""
    base_changed = T0 + timedelta(minutes=changed_minute)
    pr = replace(_pr(repo.first, _review("bob", A, repo.first)), base_changed_at=base_changed)
    judged = _judge(repo, pr)
    assert _approved(judged) is approved, _codes(judged)
    if not approved:
        [outcome] = judged.report.decision.requests[0].approvals.reviews  # type: ignore[union-attr]
        assert "base branch changed" in outcome.note


# -- contributors: the PR is the author's own, as GitHub vouches for it ---------------------

IDENTITY = [
    ("own commit, own push", PullCommit("H", "alice", "alice"), ("alice",), True, set()),
    (
        "committer is the approver",
        PullCommit("H", "alice", "bob"),
        ("alice",),
        False,
        {"commit-not-by-author"},
    ),
    (
        "author email linked to no account",
        PullCommit("H", None, "alice"),
        ("alice",),
        False,
        {"commit-identity-unlinked"},
    ),
    (
        "web-flow committer, signature verified by GitHub",
        PullCommit("H", "alice", "web-flow", verified=True),
        ("alice",),
        True,
        set(),
    ),
    (
        "web-flow committer, unsigned (a claim)",
        PullCommit("H", "alice", "web-flow"),
        ("alice",),
        False,
        {"commit-not-by-author"},
    ),
    (
        "co-author trailer naming the approver",
        PullCommit("H", "alice", "alice", co_authors=("Bob <bob@users.noreply.github.com>",)),
        ("alice",),
        False,
        {"co-author"},
    ),
    (
        "co-author trailer, odd case and spacing",
        PullCommit("H", "alice", "alice", co_authors=("  BOB   <Bob@Users.NoReply.GitHub.com> ",)),
        ("alice",),
        False,
        {"co-author"},
    ),
    (
        "co-author trailer naming the author herself, odd case",
        PullCommit(
            "H", "alice", "alice", co_authors=("ALICE <1234+Alice@users.noreply.github.com>",)
        ),
        ("alice",),
        True,
        set(),
    ),
    (
        "the approver pushed the author's commit",
        PullCommit("H", "alice", "alice"),
        ("bob",),
        False,
        {"pushed-by-other"},
    ),
    (
        "a push by an account GitHub no longer knows",
        PullCommit("H", "alice", "alice"),
        (None,),
        False,
        {"pushed-by-other"},
    ),
    (
        "no push of the head recorded (a fork)",
        PullCommit("H", "alice", "alice"),
        (),
        False,
        {"push-unattributed"},
    ),
]


@pytest.mark.parametrize(
    ("name", "commit", "pushers", "approved", "codes"), IDENTITY, ids=[i[0] for i in IDENTITY]
)
def test_contributors(
    repo: Repo,
    name: str,
    commit: PullCommit,
    pushers: tuple[str | None, ...],
    approved: bool,
    codes: set[str],
) -> None:
    head = repo.first
    pushes = tuple(Push(p, ZERO, head, "push") for p in pushers)
    pr = _pr(head, _review("bob", A, head), commits=(replace(commit, sha=head),), pushes=pushes)
    judged = _judge(repo, pr)
    assert _approved(judged) is approved, (name, _codes(judged))
    assert codes <= _codes(judged), name
    named = " ".join([str(commit.committer_login), *commit.co_authors, *map(str, pushers)])
    if "bob" in named.lower():  # whoever changed the PR is never counted as its approver
        (request,) = judged.report.decision.requests
        assert request.approvals is not None
        assert request.approvals.rules[0].approved_by == (), name


# -- the SSH key must be one the requester publishes on GitHub ------------------------------

SSH_KEYS = [
    ("the requester publishes it", lambda r: {"alice": [r.key]}, True, set()),
    ("published with another comment", lambda r: {"alice": [r.key + " work"]}, True, set()),
    (
        "only another user publishes it",
        lambda r: {"bob": [r.key]},
        False,
        {"ssh-key-not-published"},
    ),
    (
        "the requester publishes another key",
        lambda r: {"alice": [r.other_key]},
        False,
        {"ssh-key-not-published"},
    ),
    ("the requester publishes no key", lambda r: {}, False, {"ssh-key-not-published"}),
]


@pytest.mark.parametrize(
    ("name", "keys", "approved", "codes"), SSH_KEYS, ids=[s[0] for s in SSH_KEYS]
)
def test_ssh_key_binding(
    repo: Repo, name: str, keys: object, approved: bool, codes: set[str]
) -> None:
    pr = _pr(repo.ssh, _review("bob", A, repo.ssh), path=SSH_REQ)
    judged = _judge(repo, pr, FakePullFacts(keys=keys(repo)))  # type: ignore[operator]
    assert _approved(judged) is approved, (name, _codes(judged))
    assert codes <= _codes(judged), name


# -- team members as GitHub answers them --------------------------------------------------

TEAMS = [
    ("a member of the team approves", {("acme", "leads"): {"dana"}}, set(), True, set()),
    ("not a member", {("acme", "leads"): {"erin"}}, set(), False, set()),
    ("the team can't be read", {}, {("acme", "leads")}, False, {"team-membership-unavailable"}),
]


@pytest.mark.parametrize(
    ("name", "teams", "unreadable", "approved", "codes"), TEAMS, ids=[t[0] for t in TEAMS]
)
def test_team_approvers(
    repo: Repo,
    name: str,
    teams: dict[tuple[str, str], set[str]],
    unreadable: set[tuple[str, str]],
    approved: bool,
    codes: set[str],
) -> None:
    pr = _pr(repo.first, _review("dana", A, repo.first))
    judged = _judge(repo, pr, FakePullFacts(teams=teams, unreadable_teams=unreadable))
    assert _approved(judged) is approved, (name, _codes(judged))
    assert codes <= _codes(judged), name


# -- accounts: a login counts only as the account groups.yaml pins for it ------------------

STRANGER = 100_000_001  # an account that registered a login freed by a rename


def test_an_approval_by_another_account_holding_the_approvers_login_does_not_count(
    repo: Repo,
) -> None:
    review = replace(_review("bob", A, repo.first), reviewer_id=STRANGER)
    judged = _judge(repo, _pr(repo.first, review))
    assert not _approved(judged)
    assert judged.report.decision.requests[0].approvals is not None
    [(login, why)] = judged.report.decision.requests[0].approvals.unproven
    assert login == "bob" and f"@bob is now GitHub account {STRANGER}" in why


def test_a_pr_by_another_account_holding_the_requesters_login_is_not_eligible(
    repo: Repo,
) -> None:
    judged = _judge(repo, replace(_pr(repo.first, _review("bob", A, repo.first)), author_id=None))
    assert "requester-not-eligible" in _codes(judged)
    judged = _judge(repo, _pr(repo.first, _review("bob", A, repo.first), author_id=STRANGER))
    [finding] = [f for f in judged.report.decision.all_findings() if f.code != "approvals-missing"]
    assert finding.code == "requester-not-eligible"
    assert f"not account {first_id('alice')} that policies/groups.yaml pins" in finding.message


def test_a_team_member_needs_no_pin_github_answers_for_the_team(repo: Repo) -> None:
    review = replace(_review("dana", A, repo.first), reviewer_id=STRANGER)
    judged = _judge(
        repo, _pr(repo.first, review), FakePullFacts(teams={("acme", "leads"): {"dana"}})
    )
    assert _approved(judged)
