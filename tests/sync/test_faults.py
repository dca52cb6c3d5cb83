"""Denied merges, orphans, racing syncs, a rejected push and Vault being down."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from jitflow.adapters.git import Git
from jitflow.adapters.github import GitHubGateway, settings_from_env
from jitflow.adapters.vault import VaultGateway
from jitflow.core.history import parse_trailers
from jitflow.core.yamlio import load_yaml
from jitflow.sandbox.servers.openbao import free_port
from jitflow.usecases.sync import SyncOptions, run_sync
from jitflow.usecases.sync.decide import decide
from jitflow.usecases.sync.recording import order_for
from jitflow.usecases.sync.state import read_state
from tests.standin_helpers import clone
from tests.sync.conftest import World


def _gateways(world: World) -> tuple[VaultGateway, GitHubGateway]:
    vault = VaultGateway.from_env(world.env)
    github = GitHubGateway(
        replace(settings_from_env(world.env), backoff=0.01, min_write_interval=0.0)
    )
    return vault, github


def _tokens_for(world: World, request_id: str) -> list[str]:
    vault, _ = _gateways(world)
    return [t.accessor for t in vault.list_jitflow_tokens() if t.request_id == request_id]


def _last_trailers(world: World) -> dict[str, str]:
    message = Git(world.bare).run("log", "-1", "--format=%B", "main")
    return parse_trailers(message)


def test_merge_without_approval_is_denied_and_issues_nothing(world: World) -> None:
    request_id, number = world.request()
    world.standin.merge_pull(number, "alice")  # an admin merge past the gate
    world.sync()
    assert world.main_file(f"requests/{request_id}.yaml") is None
    assert world.main_file(f"requests/active/{request_id}.yaml") is None
    archived = [p for p in world.main_paths("requests/archive/") if request_id in p]
    ended = load_yaml(world.main_file(archived[0]) or b"", "x.yaml").data["ended"]
    assert ended["reason"] == "denied" and ended["pr"] == number
    assert any(f["code"] == "approvals-missing" for f in ended["findings"])
    assert _last_trailers(world)["jitflow-event"] == "deny"
    assert _tokens_for(world, request_id) == []
    bodies = [c["body"] for c in world.standin.comments(number)]
    assert any("denied" in b and "approvals-missing" in b for b in bodies)


def test_policy_edited_in_the_same_pr_is_denied(world: World) -> None:
    looser = b"sre: [alice, carol]\nleads: [bob, alice]\n"
    request_id, number = world.request(extra={"policies/groups.yaml": looser})
    world.standin.submit_review(number, "bob", "APPROVE")
    world.standin.merge_pull(number, "bob")
    world.sync()
    archived = [p for p in world.main_paths("requests/archive/") if request_id in p]
    ended = load_yaml(world.main_file(archived[0]) or b"", "x.yaml").data["ended"]
    assert ended["reason"] == "denied"
    assert any(f["code"] == "forbidden-change" for f in ended["findings"])
    assert _tokens_for(world, request_id) == []


def test_orphan_token_from_a_dead_sync_is_replaced_and_delivered(world: World) -> None:
    request_id, number = world.approved_merge()
    vault, github = _gateways(world)
    git = world.runner
    git.run("fetch", "--quiet", "origin")
    state = read_state(git, git.rev_parse("origin/main"))
    verdict = decide(git, github, request_id, state.added_by[request_id])
    issued = vault.issue(order_for(verdict))  # ... and the process dies before delivering
    world.sync()
    active = load_yaml(world.main_file(f"requests/active/{request_id}.yaml") or b"", "a").data
    fresh = active["grant"]["vault"]["accessor"]
    assert fresh != issued.accessor and vault.lookup_accessor(issued.accessor or "") is None
    assert _last_trailers(world)["jitflow-event"] == "issue"
    assert _tokens_for(world, request_id) == [fresh]
    bodies = [str(c["body"]) for c in world.standin.comments(number)]
    assert any("BEGIN AGE ENCRYPTED FILE" in b for b in bodies)  # the requester got it


def test_orphan_token_of_a_denied_request_is_revoked(world: World) -> None:
    request_id, number = world.request()
    world.standin.merge_pull(number, "alice")
    vault, _ = _gateways(world)
    from jitflow.adapters.vault import GrantOrder
    from jitflow.core.model import GrantKind

    issued = vault.issue(
        GrantOrder(
            request_id,
            "ops-read",
            "alice",
            GrantKind.VAULT_TOKEN,
            600,
            vault_policies=("jitflow-readonly",),
        )
    )
    world.sync()
    assert vault.lookup_accessor(issued.accessor or "") is None
    assert any(request_id in p for p in world.main_paths("requests/archive/"))


def test_two_syncs_at_once_issue_once(world: World, tmp_path: Any) -> None:
    request_id, _ = world.approved_merge()
    second = clone(world.bare, tmp_path / "runner2")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "jitflow", "sync", "--repo", str(repo)],
            env=world.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for repo in (world.runner.path, second.path)
    ]
    for proc in procs:
        proc.communicate(timeout=300)
    world.sync()  # settles whatever a loser left behind
    active = load_yaml(world.main_file(f"requests/active/{request_id}.yaml") or b"", "a").data
    assert _tokens_for(world, request_id) == [active["grant"]["vault"]["accessor"]]
    issues = Git(world.bare).run("log", "--format=%s", "main").splitlines()
    assert sum(1 for s in issues if request_id in s and (" issue " in s or " adopt " in s)) == 1


class _MainMovesOnce:
    """A real Vault gateway; the first time sync wraps a secret to deliver it (after its scan
    and rival check), someone else pushes to main."""

    def __init__(self, inner: VaultGateway, world: World) -> None:
        self._inner, self._world, self.moved = inner, world, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def wrap(self, *args: Any) -> Any:
        if not self.moved:
            self.moved = True
            other = self._world.requester
            other.run("fetch", "--quiet", "origin")
            other.run("checkout", "--quiet", "-B", "docs", "origin/main")
            (other.path / "NOTES.md").write_text("unrelated change\n")
            other.run("add", "NOTES.md")
            other.run("commit", "--quiet", "-m", "docs")
            other.run("push", "--quiet", "origin", "docs:main")
        return self._inner.wrap(*args)


def test_rejected_push_is_replanned_on_fresh_main(world: World) -> None:
    request_id, _ = world.approved_merge()
    vault, github = _gateways(world)
    moving = _MainMovesOnce(vault, world)
    options = SyncOptions(world.runner.path, datetime.now(UTC).replace(microsecond=0))
    report = run_sync(options, moving, github, world.env)
    assert report.ok, report.errors
    assert moving.moved and report.attempts == 2
    assert world.main_file("NOTES.md") == b"unrelated change\n"
    assert world.main_file(f"requests/active/{request_id}.yaml") is not None
    assert len(_tokens_for(world, request_id)) == 1


def test_vault_down_records_nothing_and_next_run_completes(world: World) -> None:
    request_id, _ = world.approved_merge()
    down = {**world.env, "VAULT_ADDR": f"http://127.0.0.1:{free_port()}"}
    tip = Git(world.bare).rev_parse("main")
    result = subprocess.run(
        [sys.executable, "-m", "jitflow", "sync", "--repo", str(world.runner.path)],
        env=down,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0 and "VAULT_ADDR" in result.stderr
    assert world.env["VAULT_TOKEN"] not in result.stderr + result.stdout
    assert Git(world.bare).rev_parse("main") == tip
    world.sync()
    assert world.main_file(f"requests/active/{request_id}.yaml") is not None


def test_dry_run_touches_nothing(world: World) -> None:
    request_id, _ = world.approved_merge()
    tip = Git(world.bare).rev_parse("main")
    out = world.sync("--dry-run").stdout
    assert f"would issue: {request_id}" in out
    assert Git(world.bare).rev_parse("main") == tip and _tokens_for(world, request_id) == []
