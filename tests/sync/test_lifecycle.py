"""The whole path: request PR -> approve -> merge -> sync issues -> creds work -> expiry."""

from __future__ import annotations

import subprocess
import sys

from jitflow.core.history import parse_trailers
from jitflow.core.times import parse_time
from jitflow.core.yamlio import load_yaml
from tests.sync.conftest import World, run_creds, vault_api


def test_issue_deliver_expire_end_to_end(world: World) -> None:
    request_id, number = world.approved_merge()
    world.sync()
    active = world.main_file(f"requests/active/{request_id}.yaml")
    assert active is not None
    assert world.main_file(f"requests/{request_id}.yaml") is None
    grant = load_yaml(active, "a.yaml").data["grant"]
    assert grant["kind"] == "vault-token"
    assert grant["pr"] == number and grant["merged_by"] == "bob" and grant["approved_by"] == ["bob"]
    assert grant["granted_seconds"] == 1800
    assert grant["vault"]["accessor"]
    approved_at = parse_time(grant["approved_at"]["bob"])  # bob's review, before the merge
    assert approved_at <= parse_time(grant["merged_at"])

    world.runner.run("fetch", "--quiet", "origin")
    shown = run_creds(world, request_id, "json")
    assert shown.returncode == 0, shown.stderr
    import json

    token = json.loads(shown.stdout)["token"]
    assert vault_api(world.vault.addr, token, "GET", "auth/token/lookup-self").status_code == 200
    again = run_creds(world, request_id, "json")
    assert again.returncode != 0 and "INTERCEPTION" in again.stderr
    assert token not in again.stderr + again.stdout

    # Idempotent: nothing due, nothing written.
    tip = world.runner.run("rev-parse", "origin/main")
    world.sync()
    assert world.main_paths() and world.runner.run("ls-remote", "origin", "main").split()[0] == tip

    world.sync("--now", grant["expires_at"].replace("Z", "") + "Z")
    assert world.main_file(f"requests/active/{request_id}.yaml") is None
    assert vault_api(world.vault.addr, token, "GET", "auth/token/lookup-self").status_code == 403
    archived = [p for p in world.main_paths("requests/archive/") if request_id in p]
    assert len(archived) == 1
    ended = load_yaml(world.main_file(archived[0]) or b"", "x.yaml").data["ended"]
    assert ended["reason"] == "expired" and ended["by"] == "jitflow-sync"
    log = subprocess.run(
        ["git", "log", "-1", "--format=%an <%ae>%n%B", "main"],
        cwd=world.bare,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert log.startswith("jitflow-sync <jitflow-sync@users.noreply.github.com>")
    trailers = parse_trailers(log.split("\n", 1)[1])
    assert trailers["jitflow-event"] == "expire"
    assert trailers["jitflow-request"] == request_id
    assert trailers["jitflow-approved-by"] == "bob"


def test_revocation_pr_and_incident_revoke(world: World) -> None:
    first, _ = world.approved_merge()
    second, _ = world.approved_merge()
    world.sync()
    world.requester.run("fetch", "--quiet", "origin")
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "jitflow",
            "revoke",
            first,
            "--reason",
            "done early",
            "--as",
            "alice",
            "--open",
            "--repo",
            str(world.requester.path),
        ],
        env={**world.env, "GITHUB_TOKEN": world.standin.token_for("alice")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    number = int(made.stdout.strip().rsplit("#", 1)[1])
    world.standin.merge_pull(number, "alice")
    # carol re-ran erin's dispatch: the revocation is carol's (GitHub keeps github.actor)
    world.sync(
        "--revoke", second, env_extra={"GITHUB_ACTOR": "erin", "GITHUB_TRIGGERING_ACTOR": "carol"}
    )
    for request_id, by in ((first, "alice"), (second, "carol")):
        archived = [p for p in world.main_paths("requests/archive/") if request_id in p]
        ended = load_yaml(world.main_file(archived[0]) or b"", "x").data["ended"]
        assert ended["reason"] == "revoked" and ended["by"] == by
    assert world.main_file(f"requests/active/{second}.yaml") is None
