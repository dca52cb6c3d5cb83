"""The demo's world: OpenBao, PostgreSQL (when installed), the GitHub stand-in, real clones.

Everything lives under one temporary directory and is registered on an ExitStack as soon as
it starts, so an error or Ctrl-C at any point still stops every server it started.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from jitflow.adapters.git import Git
from jitflow.errors import UsageError
from jitflow.sandbox.demo.progress import Narrator

if TYPE_CHECKING:
    from jitflow.adapters.github import GitHubGateway
    from jitflow.adapters.vault import VaultGateway
    from jitflow.sandbox.github_standin import GitHubStandIn
    from jitflow.sandbox.servers.openbao import OpenBaoDevServer
    from jitflow.sandbox.servers.postgres import PostgresServer
    from jitflow.sandbox.servers.vault_setup import DevVaultSetup

OWNER, REPO = "acme", "access"
BOT = "jitflow-bot"
PEOPLE = ("alice", "bob", "carol", "mallory")
_SEED_IDENTITY = {
    "GIT_AUTHOR_NAME": "jitflow demo",
    "GIT_AUTHOR_EMAIL": "demo@example.invalid",
    "GIT_COMMITTER_NAME": "jitflow demo",
    "GIT_COMMITTER_EMAIL": "demo@example.invalid",
}
_README = b"""# access

Access requests for acme, reviewed in pull requests and issued by Vault (jitflow demo).
"""


@dataclass
class DemoWorld:
    """Handles on everything the story acts on. Tokens stay out of repr."""

    workdir: Path
    bao: OpenBaoDevServer
    postgres: PostgresServer | None
    setup: DevVaultSetup
    standin: GitHubStandIn
    bare: Path
    alice: Git
    runner: Git
    alice_key: Path
    github_tokens: Mapping[str, str] = field(repr=False)
    runner_vault_token: str = field(repr=False)

    @property
    def runner_env(self) -> dict[str, str]:
        """What `jitflow sync` and `jitflow check --event` read in a workflow."""
        return {
            "VAULT_ADDR": self.bao.addr,
            "VAULT_TOKEN": self.runner_vault_token,
            "GITHUB_TOKEN": self.github_tokens[BOT],
            "GITHUB_REPOSITORY": f"{OWNER}/{REPO}",
            "GITHUB_API_URL": self.standin.api_url,
            "GITHUB_SERVER_URL": self.standin.api_url,
            "JITFLOW_BOT_LOGIN": BOT,
            "JITFLOW_VAULT_IDENTITY_MOUNT": self.setup.identity_mount,
            "JITFLOW_GITHUB_WRITE_INTERVAL": "0",
        }

    def github_as(self, login: str) -> GitHubGateway:
        from jitflow.adapters.github import GatewaySettings, GitHubGateway

        token, api_url = self.github_tokens[login], self.standin.api_url
        return GitHubGateway(
            GatewaySettings(token, f"{OWNER}/{REPO}", api_url, login=login, min_write_interval=0.0)
        )

    def runner_vault(self) -> VaultGateway:
        from jitflow.adapters.vault import VaultGateway

        return VaultGateway.from_env(self.runner_env)


def start_servers(
    stack: ExitStack, narrator: Narrator
) -> tuple[OpenBaoDevServer, PostgresServer | None, DevVaultSetup, str]:
    """Start OpenBao (and PostgreSQL, in parallel) and configure them like the docs say."""
    from jitflow.sandbox.demo.vaultprep import adapt_to_examples, create_runner_token
    from jitflow.sandbox.servers.openbao import OpenBaoDevServer
    from jitflow.sandbox.servers.postgres import PostgresServer, find_postgres_bin, find_psql
    from jitflow.sandbox.servers.vault_setup import configure_dev_vault

    with_postgres = find_postgres_bin() is not None and find_psql() is not None
    label = "starting OpenBao" + (" and PostgreSQL" if with_postgres else "")
    with narrator.step(label, wait=True) as step:
        bao = OpenBaoDevServer()
        postgres = PostgresServer() if with_postgres else None
        stack.callback(bao.stop)
        if postgres is not None:
            stack.callback(postgres.stop)
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="demo-start") as pool:
            started: list[Future[object]] = [pool.submit(bao.start)]
            if postgres is not None:
                started.append(pool.submit(postgres.start))
            # Loading the schema validator takes seconds; do it while the servers boot.
            started.append(pool.submit(_warm_up_imports))
            for future in started:
                future.result()
        setup = configure_dev_vault(
            bao.addr, bao.root_token, postgres=postgres, repository=f"{OWNER}/{REPO}"
        )
        adapt_to_examples(bao.addr, bao.root_token, setup, postgres)
        runner_token = create_runner_token(bao.addr, bao.root_token, setup.runner_policy)
        kinds = ["vault-token", "ssh", "identity-group"] + (["database"] if postgres else [])
        kinds.append("secret (PKI)")
        where = f"OpenBao dev server at {bao.addr}"
        if postgres is not None:
            where += f" and PostgreSQL at {postgres.host}:{postgres.port}"
        step.done(f"{where}, configured for {', '.join(kinds)} grants")
        if postgres is None:
            step.note(
                "no PostgreSQL server binaries (initdb, pg_ctl, psql) were found, so the "
                "database grant is left out; install PostgreSQL or set JITFLOW_PG_BIN to see it"
            )
    return bao, postgres, setup, runner_token


def _warm_up_imports() -> None:
    """The schema validator's format checkers take seconds to import: load them now."""
    import importlib

    importlib.import_module("jsonschema")


def build_world(stack: ExitStack, narrator: Narrator, workdir: Path) -> DemoWorld:
    from jitflow.sandbox.github_standin import GitHubStandIn

    bao, postgres, setup, runner_token = start_servers(stack, narrator)
    with narrator.step("creating the access repository") as step:
        bare = _seed_repository(workdir, setup.allowed_signers)
        key = workdir / "alice" / "id_ed25519"
        key.parent.mkdir()
        _ssh_keygen(key)
        standin = GitHubStandIn(bare, owner=OWNER, repo=REPO)
        standin.start()
        stack.callback(standin.stop)
        tokens = {BOT: standin.add_user(BOT)}
        alice_public = key.with_suffix(".pub").read_text(encoding="utf-8").strip()
        tokens["alice"] = standin.add_user("alice", ssh_keys=[alice_public])
        for login in PEOPLE[1:]:
            tokens[login] = standin.add_user(login)
        standin.set_branch_protection(
            "main",
            {
                "required_status_checks": {
                    "strict": False,
                    "contexts": ["jitflow/policy", "jitflow/approval"],
                },
                "required_pull_request_reviews": {"required_approving_review_count": 1},
                "enforce_admins": True,
                "restrictions": None,
            },
        )
        alice = _clone(bare, workdir / "alice" / "access", "alice")
        runner = _clone(bare, workdir / "runner", "jitflow-sync")
        count = len(list((bare.parent / "seed" / "policies").glob("*.yaml"))) - 1
        step.done(
            f"access repository {OWNER}/{REPO} with the {count} example policies, on the "
            f"GitHub stand-in at {standin.api_url} (main protected: jitflow/policy, "
            "jitflow/approval, 1 review)"
        )
    return DemoWorld(
        workdir, bao, postgres, setup, standin, bare, alice, runner, key, tokens, runner_token
    )


def _seed_repository(workdir: Path, allowed_signers: str) -> Path:
    """A bare `origin` whose main holds the embedded example policies, empty ledgers and the
    signers file trusting Vault's ledger CA (the runner signs its commits)."""
    from importlib import resources

    bare, seed = workdir / "origin.git", workdir / "seed"
    Git(workdir).run("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    Git(workdir).run("init", "--quiet", "--initial-branch=main", str(seed))
    examples = resources.files("jitflow") / "examples" / "policies"
    (seed / "policies").mkdir()
    for item in examples.iterdir():
        if item.name.endswith(".yaml"):
            (seed / "policies" / item.name).write_bytes(item.read_bytes())
    for folder in ("requests", "requests/active", "requests/archive"):
        (seed / folder).mkdir(parents=True, exist_ok=True)
        (seed / folder / ".gitkeep").write_bytes(b"")
    (seed / "README.md").write_bytes(_README)
    (seed / ".jitflow").mkdir()
    (seed / ".jitflow" / "allowed_signers").write_text(allowed_signers, encoding="utf-8")
    git = Git(seed, env=_SEED_IDENTITY)
    git.run("add", "--all")
    git.run("commit", "--quiet", "-m", "Access repository from the jitflow examples")
    git.run("push", "--quiet", str(bare), "main")
    return bare


def _clone(bare: Path, target: Path, login: str) -> Git:
    Git(bare.parent).run("clone", "--quiet", str(bare), str(target))
    git = Git(target)
    git.run("config", "user.name", login)
    git.run("config", "user.email", f"{login}@users.noreply.github.com")
    git.run("config", "github.user", login)
    return git


def _ssh_keygen(path: Path) -> None:
    """alice's SSH key: the sync encrypts her credentials to the public half on GitHub."""
    try:
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice@demo", "-f", str(path)],
            check=True,
            capture_output=True,
            timeout=30,
        )
    except FileNotFoundError as exc:
        raise UsageError("the demo needs `ssh-keygen` (OpenSSH client) on PATH") from exc
    except subprocess.CalledProcessError as exc:
        raise UsageError(f"ssh-keygen failed: {exc.stderr.decode(errors='replace')}") from exc
