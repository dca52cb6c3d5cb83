"""Every workflow's `run:` steps, run for real: the GitHub stand-in, OpenBao, real git.

Each scenario runs a whole job through `tests/workflows/harness.py` (GitHub's environment,
expressions and shells) and then checks what the CLI did: statuses and comments on the
stand-in, grants in OpenBao, ledger commits in the bare repository.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests

from jitflow.adapters.git import Git
from jitflow.core.yamlio import load_yaml
from jitflow.sandbox.github_standin import GitHubStandIn
from jitflow.sandbox.github_standin.events import build_event
from jitflow.usecases.init import workflow_templates
from tests.conftest_servers import TEST_REPOSITORY, JitflowVault, JwtSigner
from tests.port_owners import describe_port, server_threads
from tests.standin_helpers import clone, make_bare_repo, push_branch
from tests.sync.observe import revoke_leftovers
from tests.workflows.github_side import load_workflow
from tests.workflows.harness import (
    JobResult,
    Platform,
    StepFailed,
    StepStatus,
    WorkflowResult,
    run_workflow,
    trigger,
)

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
TEMPLATES = ROOT / "jitflow" / "templates" / "workflows"
SYNC = WORKFLOWS / "sync.yml"
OWNER, REPO = TEST_REPOSITORY.split("/")  # the repository the shared OpenBao's JWT role trusts
BOT = "github-actions[bot]"  # the login of a workflow's GITHUB_TOKEN
ACTION_REPO = "jitflow-org/jitflow"
ACTION_SHA = "0" * 40
# A policy the shared OpenBao can issue: a token with `jitflow-readonly`, approved by a lead.
OPS_READ = b"""\
name: ops-read
description: A read-only Vault token
grant: {kind: vault-token, policies: [jitflow-readonly]}
duration: {default: 30m, max: 2h}
requesters: {groups: [sre]}
approvals:
  rules:
    - {count: 1, from: {groups: [sre-leads]}}
"""
_numbers = itertools.count(1)


def seed_files() -> dict[str, bytes]:
    """The project's own policies and policy tests, plus `ops-read`, and empty ledgers."""
    policies = ROOT / "policies"
    files = {
        f"policies/{p.relative_to(policies)}": p.read_bytes() for p in policies.rglob("*.yaml")
    }
    files["policies/ops-read.yaml"] = OPS_READ
    for folder in ("requests", "requests/active", "requests/archive"):
        files[f"{folder}/.gitkeep"] = b""
    return files


@dataclass
class Access:
    """An access repository on the stand-in, and the GitHub side that runs its workflows."""

    standin: GitHubStandIn
    bare: Path
    author: Git
    scratch: Path
    platform: Platform

    def open_request(self, policy: str = "ops-read") -> tuple[str, int]:
        """alice pushes a request branch and opens its PR; returns (request id, PR number)."""
        request_id = f"alice-{policy}-{next(_numbers)}-{os.getpid()}"
        content = (
            f"policy: {policy}\nrequester: alice\nduration: 30m\n"
            "reason: investigating the orders backlog for the incident\n"
        )
        branch = f"request/{request_id}"
        files = {f"requests/{request_id}.yaml": content.encode()}
        push_branch(self.author, branch, files, f"Request {request_id}")
        return request_id, self.standin.create_pull("alice", branch, title=f"Request {request_id}")

    def approve_and_merge(self, number: int) -> None:
        self.standin.submit_review(number, "bob", "APPROVE")
        self.standin.merge_pull(number, "bob")

    def run(
        self,
        workflow: Path,
        event_name: str,
        payload: Mapping[str, Any],
        inputs: Mapping[str, str] | None = None,
    ) -> WorkflowResult:
        event = trigger(self.platform, event_name, payload)
        try:
            result = run_workflow(workflow, self.platform, event, self.scratch, inputs)
        except StepFailed as exc:
            # What the stand-in itself served: a failure it never saw came from elsewhere.
            raise StepFailed(f"{exc}\n{self._what_the_standin_served(str(exc))}") from exc
        # The job token is a workflow token: GitHub refuses GET /user to it (the stand-in
        # would answer), so a workflow that needs it would fail on GitHub.
        asked = [r for r in self.standin.requests_log if r[:2] == ("GET", "/user")]
        assert not asked, "a step asked GET /user, which GitHub refuses to workflow tokens"
        return result

    def _what_the_standin_served(self, failure: str) -> str:
        """The stand-in's last answers, and whether the failing answer was one of them: an
        error names GitHub's request id, so an answer from another server shows."""
        records = self.standin.requests_served
        ids = {r.request_id for r in records}
        served = [tuple(r) for r in records[-20:]]
        named = re.findall(r"GitHub request id ([0-9A-F]+)", failure)
        whose = [
            f"{i}: {'served by the stand-in' if i in ids else 'NOT the stand-in'}" for i in named
        ]
        port = int(self.platform.api_url.rsplit(":", 1)[1])
        accepted = [client for _, client in self.standin.connections][-20:]
        descriptor, inode = self.standin.listener
        threads = "\n    ".join(server_threads())
        return (
            f"--- stand-in at {self.platform.api_url} served last: {served}\n--- {whose}\n"
            f"--- it accepted connections from ports {accepted}\n--- {describe_port(port)}\n"
            f"--- its accept loop listens on fd {descriptor}, socket inode {inode}\n"
            f"--- threads serving sockets in this process:\n    {threads}\n--- {self._probe()}"
        )

    def _probe(self) -> str:
        """Ask the stand-in's port once more: who answers now?"""
        try:
            answer = requests.get(f"{self.platform.api_url}/zen", timeout=10)
        except requests.RequestException as exc:
            return f"probe: {exc}"
        named = answer.headers.get("X-GitHub-Request-Id", "")
        ids = {r.request_id for r in self.standin.requests_served}
        whose = "the stand-in" if named and named in ids else "NOT it"
        server = answer.headers.get("Server")
        return f"probe GET /zen: {answer.status_code}, Server {server!r}, id {named!r}: {whose}"

    def on_pull(self, workflow: Path, kind: str, number: int) -> WorkflowResult:
        """Run `workflow` for a webhook event of `kind` (e.g. pull_request.opened) on PR #n."""
        return self.run(workflow, kind.partition(".")[0], build_event(kind, self.standin, number))

    def statuses(self, sha: str) -> dict[str, tuple[str, str]]:
        """The latest (state, description) per context on a commit."""
        latest: dict[str, tuple[str, str]] = {}
        for status in self.standin.statuses(sha):
            latest.setdefault(status["context"], (status["state"], status["description"]))
        return latest

    def bot_comments(self, number: int) -> list[str]:
        return [c["body"] for c in self.standin.comments(number) if c["user"]["login"] == BOT]

    def main_file(self, path: str) -> bytes | None:
        return Git(self.bare).show_bytes("main", path)


@pytest.fixture
def access(tmp_path: Path) -> Iterator[Access]:
    bare = make_bare_repo(tmp_path, seed_files())
    key = tmp_path / "alice_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    with GitHubStandIn(bare, owner=OWNER, repo=REPO) as standin:
        standin.add_user("alice", ssh_keys=[key.with_suffix(".pub").read_text().strip()])
        standin.add_user("bob")
        standin.add_user("carol")
        token = standin.add_user(BOT)
        author = clone(bare, tmp_path / "alice", "alice", "alice@users.noreply.github.com")
        platform = Platform(
            bare,
            standin.full_name,
            standin.api_url,
            token,
            actions={ACTION_REPO: ROOT},
            # The stand-in has no secondary rate limits: pacing writes 1 s apart (the
            # default, right for github.com) would only slow the suite down.
            machine_env={"JITFLOW_GITHUB_WRITE_INTERVAL": "0"},
        )
        yield Access(standin, bare, author, tmp_path / "runs", platform)


@pytest.fixture
def vault_access(
    access: Access, jitflow_vault: JitflowVault, jwt_signer: JwtSigner
) -> Iterator[Access]:
    """`access` with the `jitflow` environment's variables and OIDC trusted by OpenBao."""
    assert jitflow_vault.setup.jwt_role and jitflow_vault.setup.repository == TEST_REPOSITORY
    access.platform = replace(
        access.platform,
        variables={
            "VAULT_ADDR": jitflow_vault.addr,
            "JITFLOW_VAULT_ROLE": jitflow_vault.setup.jwt_role,
        },
        sign_id_token=jwt_signer.sign,
    )
    yield access
    revoke_leftovers(jitflow_vault)  # the worker's next test starts with no jitflow token


def assert_install_skipped(job: JobResult) -> None:
    """The install step is machine setup (jitflow is installed editable in this interpreter):
    skipped, and only because it is exactly the expected command (the checkout itself)."""
    install = job.step("Install jitflow")
    assert install.status is StepStatus.SETUP
    assert install.command.strip().endswith("--quiet .")


def generated(tmp_path: Path, name: str) -> Path:
    """What `jitflow init --action ACTION_REPO@ACTION_SHA` writes as `name`."""
    path = tmp_path / "generated" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(workflow_templates(f"{ACTION_REPO}@{ACTION_SHA}")[f".github/workflows/{name}"])
    return path


# -- check.yml ----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("copy", ["own", "template"])
def test_check_on_a_request_pr_opened(access: Access, copy: str, tmp_path: Path) -> None:
    request_id, number = access.open_request()
    workflow = WORKFLOWS / "check.yml" if copy == "own" else generated(tmp_path, "check.yml")
    result = access.on_pull(workflow, "pull_request.opened", number)
    head = access.standin.pull(number)["head"]["sha"]

    check = result.jobs["check"]
    # The first step turns the sparse index on (the archive stays out of the index).
    assert check.steps[0].status is StepStatus.RAN
    if copy == "own":
        assert [s.status for s in check.steps[1:]] == [StepStatus.SETUP] * 3 + [StepStatus.RAN]
        assert_install_skipped(check)
        assert request_id in check.step("Evaluate").stdout
    else:  # no teams App configured: no team token; the pinned action installs and checks
        kinds = [s.status for s in check.steps[1:]]
        assert kinds == [StepStatus.SETUP, StepStatus.SKIPPED, StepStatus.RAN]
        assert check.steps[3].command == f"{ACTION_REPO}@{ACTION_SHA}"
        assert request_id in check.step("Evaluate").stdout
    assert check.summary.startswith("## jitflow check")
    assert f"requests/{request_id}.yaml" in check.summary
    statuses = access.statuses(head)
    assert statuses["jitflow/policy"][0] == "success"
    assert statuses["jitflow/approval"] == ("pending", "waiting: 1 more from group sre-leads")
    (comment,) = access.bot_comments(number)
    assert request_id in comment and "@bob" in comment
    assert result.concurrency_group == f"jitflow-check-{number}"
    assert list(result.jobs) == ["check"]


@pytest.mark.slow
def test_check_on_a_review_submitted(access: Access) -> None:
    request_id, number = access.open_request()
    access.standin.submit_review(number, "bob", "APPROVE")
    result = access.on_pull(WORKFLOWS / "check.yml", "pull_request_review.submitted", number)

    assert result.jobs["check"].step("Evaluate").status is StepStatus.RAN
    head = access.standin.pull(number)["head"]["sha"]
    assert access.statuses(head)["jitflow/approval"][0] == "success"
    (comment,) = access.bot_comments(number)
    assert request_id in comment


@pytest.mark.slow
def test_check_on_a_policy_change_gives_both_statuses(access: Access) -> None:
    """Blocker 2: a PR without request files still gets both required statuses: a policy
    change passes when its policies load and its tests pass, and is approved only by a code
    owner of policies/ on its current head; its impact is in the one comment."""
    earlier, merged = access.open_request()
    access.approve_and_merge(merged)
    owners = b"/policies/ @carol\n"
    push_branch(access.author, "owners", {".github/CODEOWNERS": owners}, "Code owners")
    owned = access.standin.create_pull("alice", "owners", title="Code owners")
    access.standin.submit_review(owned, "bob", "APPROVE")
    access.standin.merge_pull(owned, "bob")
    access.author.run("fetch", "--quiet", "origin")
    access.author.run("switch", "--quiet", "-C", "main", "origin/main")
    stricter = OPS_READ.replace(b"{count: 1, from", b"{count: 2, from")
    push_branch(access.author, "stricter-ops-read", {"policies/ops-read.yaml": stricter})
    number = access.standin.create_pull("alice", "stricter-ops-read", title="Two leads for ops")
    result = access.on_pull(WORKFLOWS / "check.yml", "pull_request.opened", number)

    gate = result.jobs["check"].step("Evaluate")
    assert "asks for no access" in gate.stdout
    head = access.standin.pull(number)["head"]["sha"]
    statuses = access.statuses(head)
    assert statuses["jitflow/policy"][0] == "success"
    assert statuses["jitflow/policy"][1].endswith("policy cases pass")
    assert statuses["jitflow/approval"][0] == "pending"
    assert "@carol" in statuses["jitflow/approval"][1]
    (comment,) = access.bot_comments(number)
    assert earlier in comment  # the impact: a request decided differently

    access.standin.submit_review(number, "bob", "APPROVE")  # not a code owner
    access.on_pull(WORKFLOWS / "check.yml", "pull_request_review.submitted", number)
    assert access.statuses(head)["jitflow/approval"][0] == "pending"
    access.standin.submit_review(number, "carol", "APPROVE")
    access.on_pull(WORKFLOWS / "check.yml", "pull_request_review.submitted", number)
    assert access.statuses(head)["jitflow/approval"] == ("success", "approved by a code owner")
    assert len(access.bot_comments(number)) == 1


@pytest.mark.slow
def test_check_on_a_pr_that_changes_no_request_nor_policy(access: Access) -> None:
    push_branch(access.author, "docs", {"NOTES.md": b"how we work\n"}, "Notes")
    number = access.standin.create_pull("alice", "docs", title="Notes")
    access.on_pull(WORKFLOWS / "check.yml", "pull_request.opened", number)
    head = access.standin.pull(number)["head"]["sha"]
    nothing = "no access request and no policy change: nothing for jitflow to judge"
    assert access.statuses(head) == {
        "jitflow/policy": ("success", nothing),
        "jitflow/approval": ("success", nothing),
    }


@pytest.mark.slow
def test_check_on_merge_group(access: Access) -> None:
    _, number = access.open_request()
    access.standin.submit_review(number, "bob", "APPROVE")
    result = access.on_pull(WORKFLOWS / "check.yml", "merge_group.checks_requested", number)

    head = access.standin.pull(number)["head"]["sha"]
    statuses = access.statuses(head)
    assert statuses["jitflow/policy"] == (
        "success",
        "1 request PR(s) re-checked in the merge queue",
    )
    assert statuses["jitflow/approval"] == ("success", "approvals still hold")
    assert result.jobs["check"].step("Evaluate").status is StepStatus.RAN
    assert result.concurrency_group.startswith("jitflow-check-refs/heads/gh-readonly-queue/main/")


# -- sync.yml -----------------------------------------------------------------------------------


def vault_lookup(vault: JitflowVault, accessor: str) -> requests.Response:
    return requests.post(
        f"{vault.addr}/v1/auth/token/lookup-accessor",
        headers={"X-Vault-Token": vault.root_token},
        json={"accessor": accessor},
        timeout=30,
    )


def active_grant(access: Access, request_id: str) -> dict[str, Any]:
    content = access.main_file(f"requests/active/{request_id}.yaml")
    assert content is not None, f"{request_id} is not active on main"
    grant: dict[str, Any] = load_yaml(content, "active.yaml").data["grant"]
    return grant


def sync_on_push(access: Access, number: int) -> JobResult:
    """sync.yml for the push of PR #number's merge to main."""
    return access.run(SYNC, "push", build_event("push", access.standin, number)).jobs["sync"]


@pytest.mark.slow
def test_sync_on_push_issues_the_merged_request(
    vault_access: Access, jitflow_vault: JitflowVault
) -> None:
    request_id, number = vault_access.open_request()
    vault_access.approve_and_merge(number)
    job = sync_on_push(vault_access, number)

    assert_install_skipped(job)
    assert f"issue: {request_id}" in job.step("Sync").stdout
    grant = active_grant(vault_access, request_id)
    assert grant["pr"] == number and grant["approved_by"] == ["bob"]
    looked_up = vault_lookup(jitflow_vault, grant["vault"]["accessor"])
    assert looked_up.status_code == 200
    assert "jitflow-readonly" in looked_up.json()["data"]["policies"]
    author = Git(vault_access.bare).run("log", "-1", "--format=%an", "main")
    assert author == "jitflow-sync"
    comments = vault_access.bot_comments(number)
    assert any(f"jitflow:credentials:{request_id}" in comment for comment in comments)
    # Vault was reached with the job's OIDC token, with the claims the JWT role binds.
    (claims,) = job.oidc_claims
    assert claims["event_name"] == "push" and claims["aud"] == "vault"
    workflow_ref = f"{TEST_REPOSITORY}/.github/workflows/sync.yml@refs/heads/main"
    assert claims["job_workflow_ref"] == workflow_ref


@pytest.mark.slow
def test_sync_on_schedule_issues_what_is_due_and_dispatch_revokes(
    vault_access: Access, jitflow_vault: JitflowVault
) -> None:
    """Every run on main issues what is due; a manual run also revokes the `revoke` input."""
    issued, first = vault_access.open_request()
    vault_access.approve_and_merge(first)
    sync_on_push(vault_access, first)
    accessor = active_grant(vault_access, issued)["vault"]["accessor"]
    waiting, second = vault_access.open_request()  # issuable like the first one
    vault_access.approve_and_merge(second)

    scheduled = vault_access.run(SYNC, "schedule", {"schedule": "*/5 * * * *"}).jobs["sync"]
    assert scheduled.step("Sync").stdout.startswith(f"issue: {waiting} (until ")
    assert [claims["event_name"] for claims in scheduled.oidc_claims] == ["schedule"]
    assert vault_access.main_file(f"requests/{waiting}.yaml") is None
    assert vault_access.main_file(f"requests/active/{waiting}.yaml") is not None

    inputs = {"revoke": issued}
    payload = build_event("workflow_dispatch", vault_access.standin, first, inputs=inputs)
    payload["workflow"] = ".github/workflows/sync.yml"
    manual = vault_access.run(SYNC, "workflow_dispatch", payload, inputs).jobs["sync"]
    assert manual.step("Sync").stdout.strip() == f"revoke: {issued} (revoked)"
    assert vault_access.main_file(f"requests/active/{issued}.yaml") is None
    archive = Git(vault_access.bare).list_tree("main", "requests/archive/")
    assert any(issued in path for _, _, path in archive)
    assert vault_lookup(jitflow_vault, accessor).status_code == 400


# -- action.yml ---------------------------------------------------------------------------------

CALLER = f"""\
name: access gate through the action
on:
  pull_request:
    types: [opened]
permissions: {{}}
jobs:
  gate:
    runs-on: ubuntu-latest
    permissions: {{contents: read, statuses: write, pull-requests: write}}
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with: {{fetch-depth: 0, persist-credentials: false}}
      - name: check
        uses: {ACTION_REPO}@{ACTION_SHA}
        with: {{command: check}}
      - name: policy tests
        uses: {ACTION_REPO}@{ACTION_SHA}
        with: {{command: policy-test}}
"""


@pytest.mark.slow
def test_action_runs_check_and_policy_tests(access: Access, tmp_path: Path) -> None:
    """The caller sets no JITFLOW_BOT_LOGIN: the action's `bot-login` input (default
    github-actions[bot]) spares jitflow the GET /user that GitHub refuses to the job token."""
    caller = tmp_path / "gate.yml"
    caller.write_text(CALLER)
    request_id, number = access.open_request()
    job = access.on_pull(caller, "pull_request.opened", number).jobs["gate"]

    assert request_id in job.step("check").stdout
    assert job.summary.startswith("## jitflow check")
    head = access.standin.pull(number)["head"]["sha"]
    assert access.statuses(head)["jitflow/approval"][0] == "pending"
    assert len(access.bot_comments(number)) == 1
    assert job.step("policy tests").stdout.rstrip().endswith("policy cases pass")


# -- coverage -----------------------------------------------------------------------------------


def test_every_workflow_has_a_scenario() -> None:
    """A new workflow needs scenarios here (or, like tests.yml, a reason it has none)."""
    assert sorted(p.name for p in WORKFLOWS.iterdir()) == ["check.yml", "sync.yml", "tests.yml"]
    assert sorted(p.name for p in TEMPLATES.iterdir()) == ["check.yml", "sync.yml"]


# -- tests.yml ----------------------------------------------------------------------------------


def test_tests_workflow_only_runs_the_ci_script() -> None:
    """tests.yml's one `run:` step is `bash .ci/run`, the whole CI, whose last command runs
    this very suite: running it from here would recurse, so its shape is checked instead."""
    (job,) = load_workflow(WORKFLOWS / "tests.yml")["jobs"].values()
    runs = [step["run"] for step in job["steps"] if "run" in step]
    uses = [step["uses"].partition("@")[0] for step in job["steps"] if "uses" in step]
    assert runs == ["bash .ci/run"]
    assert uses == ["actions/checkout", "actions/setup-python"]
    script = (ROOT / ".ci" / "run").read_text()
    assert script.rstrip().endswith("python3 -m pytest -n 2 -q")
