"""The adoption story, from an empty repository to an audited history (issue 13).

An admin runs `jitflow init`, protects main exactly as the README says (its ruleset, through
the REST API, the jitflow App the only bypass actor), sets OpenBao up exactly as
docs/vault-setup.md says (its commands, run), and adapts a policy in a PR its code owner team
approves (CODEOWNERS names a team, as the README's does: the check fails, saying what to
configure, until the admin gives the workflows the teams App; then a member's approval counts). Then a request is approved, merged and issued, and its credentials delivered, by
the GENERATED workflows (run by the workflow harness, pushing over HTTP under the ruleset); a
request with a future start is issued by a scheduled run; a grant expires in a scheduled run;
one is revoked early by a PR; `jitflow audit verify --vault` is green.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from jitflow.adapters.git import Git
from jitflow.sandbox.github_standin import GitHubStandIn
from jitflow.sandbox.github_standin.events import build_event
from jitflow.sandbox.servers.openbao import OpenBaoDevServer
from jitflow.sandbox.servers.postgres import PostgresServer
from tests.adoption.vault_docs import run_vault_setup
from tests.conftest_servers import JwtSigner
from tests.readme.test_readme_commands import readme_ruleset
from tests.workflows.github_side import GitHubApp, Platform
from tests.workflows.harness import StepFailed, run_workflow, trigger

ROOT = Path(__file__).resolve().parents[2]
OWNER, REPO = "acme", "access"
ACTION = "jitflow-org/jitflow@" + "5" * 40  # the pinned jitflow action: this checkout
BOT = "github-actions[bot]"
PEOPLE = ("alice", "carol", "dana")  # requester, approver (sre), in the code owner team
CODE_OWNERS = "access-admins"  # the team the README's CODEOWNERS names (acme/access-admins)


@dataclass
class Org:
    """The organisation's GitHub (stand-in), OpenBao and the people's clones."""

    standin: GitHubStandIn
    bare: Path
    platform: Platform
    scratch: Path
    clones: dict[str, Git]
    tokens: dict[str, str]
    vault: OpenBaoDevServer
    alice_key: Path

    def jitflow(self, who: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "HOME": str(self.scratch / f"home-{who}"),
            "GITHUB_TOKEN": self.tokens[who],
            "GITHUB_REPOSITORY": f"{OWNER}/{REPO}",
            "GITHUB_API_URL": self.standin.api_url,
            "VAULT_ADDR": self.vault.addr,
            "JITFLOW_GITHUB_WRITE_INTERVAL": "0",
        }
        for name in ("VAULT_TOKEN", "BAO_TOKEN", "BAO_ADDR"):
            env.pop(name, None)
        done = subprocess.run(
            [sys.executable, "-m", "jitflow", *args, "--repo", str(self.clones[who].path)]
            if args[0] not in ("audit",)
            else [sys.executable, "-m", "jitflow", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=self.clones[who].path,
        )
        if check:
            assert done.returncode == 0, f"jitflow {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done

    def workflow(self, name: str, event: str, payload: Mapping[str, Any]) -> None:
        """Run the repository's own (generated) workflow `name` as GitHub would."""
        main = Git(self.bare)
        path = self.scratch / "workflows" / f"{main.rev_parse('main')[:12]}" / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            content = main.show_bytes("main", f".github/workflows/{name}")
            assert content is not None
            path.write_bytes(content)
        run_workflow(path, self.platform, trigger(self.platform, event, payload), self.scratch)

    def on_pull(self, kind: str, number: int) -> None:
        self.workflow("check.yml", kind.partition(".")[0], build_event(kind, self.standin, number))

    def statuses(self, number: int) -> dict[str, tuple[str, str]]:
        head = self.standin.pull(number)["head"]["sha"]
        latest: dict[str, tuple[str, str]] = {}
        for status in self.standin.statuses(head):
            latest.setdefault(status["context"], (status["state"], status["description"]))
        return latest

    def push_and_open(self, who: str, branch: str, title: str) -> int:
        clone = self.clones[who]
        clone.run("push", "--quiet", "origin", f"refs/heads/{branch}:refs/heads/{branch}")
        return self.standin.create_pull(who, branch, title=title)

    def merge(self, number: int, by: str) -> None:
        self.standin.merge_pull(number, by)
        self.workflow("sync.yml", "push", build_event("push", self.standin, number))
        for clone in self.clones.values():
            clone.run("fetch", "--quiet", "origin")

    def schedule(self) -> None:
        self.workflow("sync.yml", "schedule", {"schedule": "*/5 * * * *"})

    def main_has(self, path: str) -> bool:
        return Git(self.bare).show_bytes("main", path) is not None


def _http_auth(token: str, server: str) -> dict[str, str]:
    """A person's git credentials for the server (what a credential helper would send)."""
    from jitflow.adapters.git import remote_auth_env

    return remote_auth_env({"GITHUB_TOKEN": token, "GITHUB_SERVER_URL": server})


@pytest.fixture
def org(tmp_path: Path, postgres: PostgresServer, jwt_signer: JwtSigner) -> Iterator[Org]:
    scratch = tmp_path
    seed = scratch / "access"
    Git(scratch).run("init", "--quiet", "--initial-branch=main", str(seed))
    init = subprocess.run(
        [sys.executable, "-m", "jitflow", "init", str(seed), "--action", ACTION],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert init.returncode == 0, init.stdout + init.stderr
    owners = seed / ".github" / "CODEOWNERS"  # the README's replacement: dana's team
    owners.write_text(owners.read_text().replace("@your-org/access-admins", "@acme/access-admins"))
    dana = {"GIT_AUTHOR_NAME": "dana", "GIT_AUTHOR_EMAIL": "dana@users.noreply.github.com"}
    dana |= {"GIT_COMMITTER_NAME": "dana", "GIT_COMMITTER_EMAIL": "dana@users.noreply.github.com"}
    Git(seed, env=dana).run("add", "--all")
    Git(seed, env=dana).run("commit", "--quiet", "-m", "Access repository from jitflow init")
    bare = scratch / "access.git"
    Git(scratch).run("clone", "--quiet", "--bare", str(seed), str(bare))
    key = scratch / "alice_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    public_key = scratch / "jwt.pem"
    public_key.write_text(jwt_signer.public_key_pem)
    with GitHubStandIn(bare, owner=OWNER, repo=REPO) as standin, OpenBaoDevServer() as vault:
        tokens = {
            "alice": standin.add_user("alice", ssh_keys=[key.with_suffix(".pub").read_text()]),
            "carol": standin.add_user("carol"),
            "dana": standin.add_user("dana"),
            "admin": standin.add_user("repo-admin"),
        }
        job_token = standin.add_user(BOT)
        standin.add_team(OWNER, CODE_OWNERS, ["dana"])
        app_id, app_token = standin.add_app("acme-jitflow")
        # main: the README's ruleset, through the REST API, with our App's id
        ruleset = json.loads(json.dumps(readme_ruleset()).replace("123456", str(app_id)))
        created = requests.post(
            f"{standin.api_url}/repos/{OWNER}/{REPO}/rulesets",
            json=ruleset,
            headers={"Authorization": f"token {tokens['admin']}"},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        clones = {}
        for who in PEOPLE:
            env = {f"GIT_{r}_{k}": v for r in ("AUTHOR", "COMMITTER") for k, v in
                   (("NAME", who), ("EMAIL", f"{who}@users.noreply.github.com"))}  # fmt: skip
            env |= _http_auth(tokens[who], standin.api_url)
            clone = Git(scratch, env=env)
            clone.run("clone", "--quiet", standin.git_url, str(scratch / f"clone-{who}"))
            clones[who] = Git(scratch / f"clone-{who}", env=env)
            (scratch / f"home-{who}").mkdir()
        # carol, an admin, sets Vault up from her clone: step 8 leaves the ledger's trust root
        # (.jitflow/allowed_signers) there, for her first PR
        run_vault_setup(vault, f"{OWNER}/{REPO}", public_key, postgres, scratch,
                        scratch / "clone-carol")  # fmt: skip
        private_key = "-----BEGIN RSA PRIVATE KEY-----\nstand-in\n-----END RSA PRIVATE KEY-----"
        platform = Platform(
            bare,
            f"{OWNER}/{REPO}",
            standin.api_url,
            job_token,
            variables={
                "VAULT_ADDR": vault.addr,
                "JITFLOW_VAULT_ROLE": "jitflow-sync",
                "JITFLOW_APP_ID": str(app_id),
            },
            sign_id_token=jwt_signer.sign,
            actions={ACTION.partition("@")[0]: ROOT},
            machine_env={"JITFLOW_GITHUB_WRITE_INTERVAL": "0"},
            secrets={"JITFLOW_APP_PRIVATE_KEY": private_key},
            app=GitHubApp(str(app_id), "acme-jitflow", private_key, app_token,
                          {"contents": "write"}),
            clone_url=standin.git_url,
        )  # fmt: skip
        yield Org(standin, bare, platform, scratch, clones, tokens, vault, key)


def with_teams_app(standin: GitHubStandIn, platform: Platform) -> Platform:
    """The README's Teams steps: a GitHub App with Members: read alone, its id in the variable
    JITFLOW_TEAMS_APP_ID, its private key in the secret JITFLOW_TEAMS_APP_PRIVATE_KEY."""
    app_id, token = standin.add_app("acme-jitflow-teams", {"members": "read"})
    key = "-----BEGIN RSA PRIVATE KEY-----\nteams stand-in\n-----END RSA PRIVATE KEY-----"
    app = GitHubApp(str(app_id), "acme-jitflow-teams", key, token, {"members": "read"})
    return replace(
        platform,
        variables={**platform.variables, "JITFLOW_TEAMS_APP_ID": str(app_id)},
        secrets={**platform.secrets, "JITFLOW_TEAMS_APP_PRIVATE_KEY": key},
        more_apps=(*platform.more_apps, app),
    )


POLICY_TESTS = b"""\
cases:
  - name: an SRE may read staging, approving their own request
    request: {policy: staging-readonly, requester: alice, reason: Reproduce the checkout timeout}
    expect: {allowed: true, approved: true}
  - name: someone outside sre and platform may not ask
    request: {policy: staging-readonly, requester: mallory, reason: Curious about staging}
    expect: {allowed: false, findings: [requester-not-eligible]}
"""


def _commit(clone: Git, branch: str, files: Mapping[str, bytes], message: str) -> None:
    clone.run("switch", "--quiet", "-C", branch, "origin/main")
    for path, content in files.items():
        target = clone.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    clone.run("add", "--all")
    clone.run("commit", "--quiet", "-m", message)


def _request(org: Org, *args: str) -> tuple[str, str]:
    """alice runs `jitflow request`; returns (request id, branch)."""
    made = org.jitflow("alice", "request", "staging-readonly", "--as", "alice", *args,
                       "--base", "origin/main")  # fmt: skip
    branch = made.stdout.split(" on branch ", 1)[1].split()[0]
    return branch.rsplit("/", 1)[1], branch


def _month() -> str:
    return datetime.now(UTC).strftime("%Y/%m")


def _approved_and_merged(org: Org, *args: str) -> str:
    """alice's request PR, checked, approved by carol, merged, synced; returns its id."""
    request_id, branch = _request(org, *args)
    number = org.push_and_open("alice", branch, f"Request {request_id}")
    org.on_pull("pull_request.opened", number)
    assert org.statuses(number)["jitflow/policy"][0] == "success"
    org.standin.submit_review(number, "carol", "APPROVE")
    org.on_pull("pull_request_review.submitted", number)
    assert org.statuses(number)["jitflow/approval"][0] == "success"
    org.merge(number, "carol")
    return request_id


def _ended(org: Org, request_id: str, reason: str) -> bool:
    """Whether the grant was issued and then archived for `reason`."""
    archived = Git(org.bare).show_bytes("main", f"requests/archive/{_month()}/{request_id}.yaml")
    text = (archived or b"").decode()
    return "\ngrant:\n" in text and f"\n  reason: {reason}\n" in text


def _utc(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


@pytest.mark.slow
def test_an_organisation_adopts_jitflow_from_the_readme(org: Org) -> None:
    # 1. A policy change, in its own PR: the example policy grants a Vault policy the docs'
    #    token role allows, with policy tests; code owner dana approves it.
    carol = org.clones["carol"]
    policy_path = carol.path / "policies" / "staging-readonly.yaml"
    policy = policy_path.read_bytes().replace(b"[staging-read]", b"[jitflow-readonly]")
    _commit(carol, "staging-vault-policy", {
        "policies/staging-readonly.yaml": policy,
        "policies/tests/staging-readonly.yaml": POLICY_TESTS,
    }, "staging-readonly: grant jitflow-readonly; policy tests")  # fmt: skip
    assert (
        carol.run("show", "--name-only", "--format=", "HEAD")
        .split()
        .count(".jitflow/allowed_signers")
        == 1
    )  # the ledger's trust root, written by docs/vault-setup.md step 8
    number = org.push_and_open("carol", "staging-vault-policy", "staging-readonly policy")
    with pytest.raises(Exception, match="approving review"):
        org.standin.merge_pull(number, "carol")  # the ruleset: a PR needs its verdicts first
    with pytest.raises(StepFailed):  # the run fails: a team it can't read is a failure
        org.on_pull("pull_request.opened", number)
    statuses = org.statuses(number)
    assert statuses["jitflow/policy"][0] == "success"
    assert statuses["jitflow/policy"][1].endswith("2 policy cases pass")
    # The job token can't read the code owner team: the check fails, naming what to set.
    state, said = statuses["jitflow/approval"]
    assert state == "failure" and "@acme/access-admins" in said
    assert "JITFLOW_TEAMS_APP_ID" in said and "JITFLOW_TEAMS_APP_PRIVATE_KEY" in said
    comment = org.standin.comments(number)[-1]["body"]
    assert "HTTP 403" in comment and "Members: read" in comment
    # The admin does what it says (the README's Teams steps): the teams App, Members: read.
    org.platform = with_teams_app(org.standin, org.platform)
    org.on_pull("pull_request.opened", number)  # "Re-run failed jobs" replays the event
    statuses = org.statuses(number)
    assert statuses["jitflow/approval"][0] == "pending"
    assert "@acme/access-admins" in statuses["jitflow/approval"][1]
    org.standin.submit_review(number, "dana", "APPROVE")
    org.on_pull("pull_request_review.submitted", number)
    assert org.statuses(number)["jitflow/approval"] == ("success", "approved by a code owner")
    org.standin.merge_pull(number, "dana")
    for clone in org.clones.values():
        clone.run("fetch", "--quiet", "origin")

    # 2. A request with a future start (merged now, not yet due). The start leaves room for
    #    the gate, the merge and its sync on a loaded machine (16 s did not); the story goes on
    #    meanwhile (step 5 waits only for what is left of it).
    start = datetime.now(UTC) + timedelta(seconds=45)
    later = _approved_and_merged(org, "--for", "6s", "--start", _utc(start),
                                 "--reason", "Check the staging rollout at its start")  # fmt: skip
    if datetime.now(UTC) < start:  # (a machine too loaded to merge within 45 s can't tell)
        assert not org.main_has(f"requests/active/{later}.yaml")  # merged, not yet due

    # 3. A request: alice asks, carol approves, merge; the generated sync issues and delivers.
    first = _approved_and_merged(org, "--for", "30m", "--reason", "Reproduce the checkout timeout")
    assert org.main_has(f"requests/active/{first}.yaml")
    creds = org.jitflow("alice", "creds", first, "--identity", str(org.alice_key),
                        "--format", "json")  # fmt: skip
    token = json.loads(creds.stdout)["token"]
    # what jitflow-readonly allows (404: allowed, no such secret); a token whose policy allows
    # extensions has no `default` policy (no renew-self, hence no lookup-self either)
    looked = requests.get(f"{org.vault.addr}/v1/secret/data/app",
                          headers={"X-Vault-Token": token}, timeout=30)  # fmt: skip
    assert looked.status_code == 404, looked.text

    # A short grant.
    short = _approved_and_merged(org, "--for", "5s", "--reason", "Peek at one staging secret")
    assert org.main_has(f"requests/active/{short}.yaml")

    # 4. Done early: alice's revocation PR; merged, the sync revokes in Vault.
    org.clones["alice"].run("switch", "--quiet", "--detach", "origin/main")
    org.jitflow("alice", "revoke", first, "--reason", "Timeout reproduced; done early",
                "--as", "alice", "--base", "origin/main")  # fmt: skip
    number = org.push_and_open("alice", f"jitflow/revoke/{first}", f"Revoke {first}")
    org.on_pull("pull_request.opened", number)
    org.standin.submit_review(number, "carol", "APPROVE")
    org.on_pull("pull_request_review.submitted", number)
    org.merge(number, "carol")
    assert not org.main_has(f"requests/active/{first}.yaml")
    looked = requests.get(f"{org.vault.addr}/v1/auth/token/lookup-self",
                          headers={"X-Vault-Token": token}, timeout=30)  # fmt: skip
    assert looked.status_code == 403

    # 5. Scheduled runs: the short grant expires; the future request is issued once due, and
    #    expires in its turn.
    time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()) + 1)
    org.schedule()
    assert not org.main_has(f"requests/active/{short}.yaml")
    assert org.main_has(f"requests/archive/{_month()}/{short}.yaml")
    # every run on main issues what is due (on a loaded machine its 6 s may end within this run)
    assert org.main_has(f"requests/active/{later}.yaml") or _ended(org, later, "expired")
    time.sleep(7)
    org.schedule()
    assert not org.main_has(f"requests/active/{later}.yaml")
    assert _ended(org, later, "expired")

    # 6. The auditor: every invariant holds, and Vault agrees with git.
    alice = org.clones["alice"]
    alice.run("fetch", "--quiet", "origin")
    alice.run("switch", "--quiet", "--detach", "origin/main")
    env = {**os.environ, "VAULT_ADDR": org.vault.addr, "VAULT_TOKEN": org.vault.root_token}
    verified = subprocess.run(
        [sys.executable, "-m", "jitflow", "audit", "verify", "--vault", "--repo", str(alice.path)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "all invariants hold" in verified.stdout
