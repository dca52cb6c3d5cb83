"""On-call approval as code, end to end: a rotation in policies/rotations.yaml lets whoever is on
call approve; the gate and sync judge it through the stand-in (PyGithub), sync issues from
OpenBao and records why approval held, an override committed later moves the duty (only for
merges after it), and `audit verify` re-derives it from git."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from jitflow.core.times import format_time
from tests.sync.conftest import World
from tests.sync.observe import active_grant, archived
from tests.sync.test_kinds_through_sync import _publish

POLICY = b"""\
name: oncall-write
description: Write access that whoever is on call may approve
grant: {kind: vault-token, policies: [jitflow-admin]}
duration: {default: 30m, max: 2h}
requesters: {groups: [sre]}
approvals:
  rules:
    - {count: 1, from: {groups: [leads], oncall: [primary]}}
"""
ONCALL = b"""\
rotations:
  primary:
    members: [carol]
    start: 2026-01-05
    handoff: 09:00
    timezone: Europe/Berlin
"""


def _override(world: World, login: str) -> None:
    """An admin hands the rotation to `login` for the next two hours."""
    now = datetime.now(UTC)
    span = f"start: {format_time(now - timedelta(minutes=5))}, end: {format_time(now + timedelta(hours=2))}"
    _publish(
        world,
        {
            "policies/rotations.yaml": ONCALL
            + f"    overrides:\n      - {{login: {login}, {span}}}\n".encode()
        },
    )


def _carol_approves(world: World) -> str:
    request_id, number = world.request("oncall-write")
    world.standin.submit_review(number, "carol", "APPROVE")  # carol is no lead: only on call
    world.standin.merge_pull(number, "bob")
    return request_id


def test_whoever_is_on_call_at_the_merge_approves(world: World) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    _publish(world, {"policies/oncall-write.yaml": POLICY, "policies/rotations.yaml": ONCALL})
    on_duty = _carol_approves(world)
    world.sync()
    grant = active_grant(world, on_duty)
    assert grant is not None, world.sync("--dry-run").stdout
    assert grant["approved_by"] == ["carol"]
    assert grant["approved_by_oncall"] == {"carol": "primary"}

    _override(world, "bob")  # bob holds the rotation now: carol's approval no longer counts
    off_duty = _carol_approves(world)
    world.sync()
    assert active_grant(world, off_duty) is None
    [denied] = archived(world, off_duty)
    assert denied["ended"]["reason"] == "denied"
    assert "approvals-missing" in {f["code"] for f in denied["ended"]["findings"]}

    world.runner.run("fetch", "--quiet", "origin")
    verified = subprocess.run(
        [sys.executable, "-m", "jitflow", "audit", "verify", "--ref", "origin/main",
         "--repo", str(world.runner.path),
         "--now", format_time(datetime.now(UTC) + timedelta(minutes=1))],
        env=world.env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr

    shown = subprocess.run(
        [sys.executable, "-m", "jitflow", "audit", "--ref", "origin/main", "--repo",
         str(world.runner.path), "--policy", "oncall-write"],
        env=world.env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    [row] = [line for line in shown.stdout.splitlines() if line.startswith(on_duty)]
    assert "carol (on call: primary)" in row
