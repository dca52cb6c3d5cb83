"""ssh and identity-group grants through the whole path: PR, merge, sync, delivery, expiry."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping

import pytest

from jitflow.adapters.delivery import certificate_marker, parse_certificate_comment
from jitflow.core.times import format_time, parse_time
from tests.standin_helpers import write_files
from tests.sync.conftest import World, run_creds, vault_api
from tests.sync.observe import active_grant, archived, ledger_trailers
from tests.vault.test_kinds import ssh_validity

SSH_POLICY = b"""\
name: ssh-prod
description: Log in to production hosts with a certificate signed by Vault
grant: {kind: ssh, mount: ssh, role: jitflow-user, principals: [ubuntu, deploy]}
duration: {default: 30m, max: 2h}
requesters: {groups: [sre]}
approvals:
  rules:
    - {count: 1, from: {groups: [leads]}}
"""
GROUP_POLICY = b"""\
name: oncall
description: Membership of the on-call Vault group
grant: {kind: identity-group, group: jitflow-oncall}
duration: {default: 30m, max: 2h}
requesters: {groups: [sre]}
approvals:
  rules:
    - {count: 1, from: {groups: [leads]}}
"""


def _publish(world: World, files: Mapping[str, bytes]) -> None:
    """An admin adds policies to main, before anyone requests them."""
    git = world.requester
    git.run("fetch", "--quiet", "origin")
    git.run("checkout", "--quiet", "-B", "policies", "origin/main")
    write_files(git.path, files)
    git.run("add", "--all")
    git.run("commit", "--quiet", "-m", "Add policies")
    git.run("push", "--quiet", "origin", "policies:main")


def _ssh_request(world: World) -> tuple[str, int]:
    public_key = world.key.with_name(world.key.name + ".pub").read_text().strip()
    body = (
        "policy: ssh-prod\nrequester: alice\nduration: 30m\n"
        "reason: investigating the orders backlog for the incident\n"
        f"ssh_public_key: {public_key}\n"
    )
    return world.approved_merge("ssh-prod", body=body)


def _certificate(world: World, request_id: str, number: int) -> str:
    marker = certificate_marker(request_id)
    bodies = [c["body"] for c in world.standin.comments(number) if marker in c["body"]]
    assert len(bodies) == 1, bodies
    certificate = parse_certificate_comment(bodies[0], request_id)
    assert certificate is not None
    return certificate


def _issued_trailers_match(world: World, request_id: str, policy: str, requester: str) -> None:
    grant = active_grant(world, request_id)
    assert grant is not None
    [issued] = ledger_trailers(world, request_id)
    assert issued["jitflow-event"] == "issue"
    assert issued["jitflow-policy"] == policy and issued["jitflow-requester"] == requester
    assert issued["jitflow-approved-by"] == "bob"
    assert issued["jitflow-expires"] == grant["expires_at"]


def _ended(world: World, request_id: str, reason: str, by: str = "jitflow-sync") -> None:
    assert active_grant(world, request_id) is None
    [record] = archived(world, request_id)
    assert record["ended"]["reason"] == reason and record["ended"]["by"] == by
    assert record["grant"]["vault"]  # the archive keeps what the grant was
    event = {"expired": "expire", "revoked": "revoke"}[reason]
    assert [t["jitflow-event"] for t in ledger_trailers(world, request_id)] == ["issue", event]


def test_ssh_certificate_is_posted_in_clear_and_expires(world: World) -> None:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed: cannot read the certificate's validity")
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    _publish(world, {"policies/ssh-prod.yaml": SSH_POLICY})
    request_id, number = _ssh_request(world)
    world.sync()

    certificate = _certificate(world, request_id, number)
    assert certificate.startswith("ssh-ed25519-cert-v01@openssh.com ")
    cert_path = world.key.with_name(world.key.name + "-cert.pub")
    cert_path.write_text(certificate + "\n")
    valid_from, valid_to, principals = ssh_validity(cert_path)
    principals.sort()
    assert principals == ["deploy", "ubuntu"]
    assert (valid_to - valid_from).total_seconds() == 1800 + 1  # role backdates the start 1s
    grant = active_grant(world, request_id)
    assert grant is not None and grant["kind"] == "ssh"
    assert grant["mount"] == "ssh" and grant["role"] == "jitflow-user"
    assert (
        grant["vault"]["cert_serial"]
        and sorted(grant["vault"]["valid_principals"].split(",")) == principals
    )
    # recorded in Vault too: the anchor (before signing) and the receipt (after)
    assert grant["vault"]["accessor"] and grant["vault"]["receipt_accessor"]
    assert grant["vault"]["ssh_key"].startswith("SHA256:")
    assert grant["requested_seconds"] == 1800 and 1790 <= grant["granted_seconds"] <= 1800
    # ssh-keygen prints the validity in local time, the ledger in UTC
    expires = parse_time(grant["expires_at"])
    assert expires == valid_to.astimezone()
    bodies = [c["body"] for c in world.standin.comments(number)]
    assert not any("BEGIN AGE ENCRYPTED FILE" in b for b in bodies)  # nothing secret to wrap
    _issued_trailers_match(world, request_id, "ssh-prod", "alice")

    world.sync("--now", grant["expires_at"])
    _ended(world, request_id, "expired")
    # an open SSH session outlives the grant: the ledger and the PR say so
    [record] = archived(world, request_id)
    assert record["ended"]["sessions"].startswith("not ended: ")
    assert "SSH session opened with it stays open" in record["ended"]["sessions"]
    notes = [c["body"] for c in world.standin.comments(number) if "is active" in c["body"]]
    assert notes and all("sessions opened with it: not ended" in b for b in notes)


def test_creds_saves_the_ssh_certificate_next_to_the_key(world: World) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    _publish(world, {"policies/ssh-prod.yaml": SSH_POLICY})
    request_id, number = _ssh_request(world)
    world.sync()
    certificate = _certificate(world, request_id, number)
    world.runner.run("fetch", "--quiet", "origin")
    other = world.key.with_name("other_ed25519")
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True, timeout=30
    )
    # A certificate for the other key, planted in a comment by someone who is not the runner,
    # is ignored: only the runner's comments are believed.
    planted = certificate.replace(certificate.split()[1], certificate.split()[1][::-1])
    world.standin.add_comment(
        number, "bob", f"{certificate_marker(request_id)}\n```text\n{planted}\n```\n"
    )
    refused = run_creds(world, request_id, identity=other)
    assert refused.returncode == 2, refused.stderr
    assert "was signed for the key in the request" in refused.stderr
    assert not other.with_name("other_ed25519-cert.pub").exists()

    shown = run_creds(world, request_id)
    saved = world.key.with_name(world.key.name + "-cert.pub")
    assert shown.returncode == 0, shown.stderr
    assert certificate in shown.stdout
    assert saved.read_text().strip() == certificate
    assert f"saved the SSH certificate to {saved}" in shown.stderr


def _members(world: World) -> list[str]:
    group = world.vault.setup.group
    answer = vault_api(
        world.vault.addr, world.vault.root_token, "GET", f"identity/group/name/{group}"
    )
    answer.raise_for_status()
    return list(answer.json()["data"].get("member_entity_ids") or [])


def test_identity_group_membership_follows_the_grant(world: World) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    _publish(world, {"policies/oncall.yaml": GROUP_POLICY})
    entities = world.vault.setup.entity_ids
    assert entities["alice"] not in _members(world) and entities["carol"] not in _members(world)
    alice_id, _ = world.approved_merge("oncall")
    carol_id, _ = world.approved_merge("oncall", author="carol")
    world.sync()

    assert {entities["alice"], entities["carol"]} <= set(_members(world))
    for request_id, login in ((alice_id, "alice"), (carol_id, "carol")):
        grant = active_grant(world, request_id)
        assert grant is not None and grant["kind"] == "identity-group"
        assert grant["vault"]["entity_id"] == entities[login]
        assert grant["vault"]["group"] == world.vault.setup.group
        assert grant["vault"]["group_id"] == world.vault.setup.group_id
        assert grant["vault"]["accessor"]  # the anchor recorded the membership in Vault first
        assert grant["granted_seconds"] == 1800
        _issued_trailers_match(world, request_id, "oncall", login)

    world.sync("--revoke", carol_id)
    assert entities["carol"] not in _members(world)
    assert entities["alice"] in _members(world)  # only the named grant ends
    _ended(world, carol_id, "revoked")

    expires_at = (active_grant(world, alice_id) or {})["expires_at"]
    world.sync("--now", expires_at)
    assert entities["alice"] not in _members(world)
    _ended(world, alice_id, "expired")
    [record] = archived(world, alice_id)
    assert record["ended"]["at"] == format_time(parse_time(expires_at))
