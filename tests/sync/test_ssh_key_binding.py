"""An ssh grant signs only a key the requester publishes on GitHub, at the gate and at issue.

Through the stand-in (GET /users/{login}/keys via PyGithub), OpenBao's SSH engine, the
ledger and `audit verify`.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jitflow.usecases.audit.verify import VerifyOptions, run_verify
from tests.sync.conftest import World
from tests.sync.observe import active_grant, archived
from tests.sync.test_kinds_through_sync import SSH_POLICY, _publish


def _key(tmp: Path, name: str) -> str:
    path = tmp / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path.with_name(name + ".pub").read_text().strip()


def _ssh_request(world: World, key: str) -> tuple[str, int]:
    body = (
        "policy: ssh-prod\nrequester: alice\nduration: 30m\n"
        "reason: investigating the orders backlog for the incident\n"
        f"ssh_public_key: {key}\n"
    )
    return world.approved_merge("ssh-prod", body=body)


def _verify_clean(world: World, request_id: str) -> None:
    now = datetime.now(UTC) + timedelta(minutes=1)
    report = run_verify(VerifyOptions(repo=world.bare, ref="main", now=now))
    assert [v for v in report.violations if v.request_id == request_id] == []


def _fingerprint(key: str, tmp: Path) -> str:
    path = tmp / "fp.pub"
    path.write_text(key + "\n")
    return subprocess.run(
        ["ssh-keygen", "-lf", str(path)], check=True, capture_output=True, text=True
    ).stdout.split()[1]


def test_a_key_the_requester_does_not_publish_is_denied_at_issue(
    world: World, tmp_path: Path
) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    _publish(world, {"policies/ssh-prod.yaml": SSH_POLICY})
    request_id, number = _ssh_request(world, _key(tmp_path, "someone_else"))
    world.sync()
    assert active_grant(world, request_id) is None
    [record] = archived(world, request_id)
    assert record["ended"]["reason"] == "denied"
    assert "ssh-key-not-published" in {f["code"] for f in record["ended"]["findings"]}
    assert not any("cert-v01" in c["body"] for c in world.standin.comments(number))
    _verify_clean(world, request_id)


def test_a_key_withdrawn_from_github_before_issue_is_denied(world: World, tmp_path: Path) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    _publish(world, {"policies/ssh-prod.yaml": SSH_POLICY})
    own = world.key.with_name(world.key.name + ".pub").read_text().strip()
    request_id, _ = _ssh_request(world, own)
    world.standin.set_ssh_keys("alice", [_key(tmp_path, "alice_new")])  # e.g. the key leaked
    world.sync()
    assert active_grant(world, request_id) is None
    [record] = archived(world, request_id)
    assert "ssh-key-not-published" in {f["code"] for f in record["ended"]["findings"]}


def test_the_ledger_records_the_signed_key_fingerprint(world: World, tmp_path: Path) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    _publish(world, {"policies/ssh-prod.yaml": SSH_POLICY})
    own = world.key.with_name(world.key.name + ".pub").read_text().strip()
    request_id, _ = _ssh_request(world, own)
    world.sync()
    grant = active_grant(world, request_id)
    assert grant is not None
    assert grant["ssh_key_fingerprint"] == _fingerprint(own, tmp_path)
    _verify_clean(world, request_id)
