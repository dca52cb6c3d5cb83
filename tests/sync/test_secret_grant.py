"""A `secret` grant through the whole path: a short-lived X.509 client certificate from
OpenBao's PKI engine, requested by PR, approved, merged, issued by sync with the grant's own
token, delivered encrypted, admitted by a real mTLS endpoint, then refused once expired."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from jitflow.core.times import parse_time
from jitflow.sandbox.servers.vault_setup import PKI_DOMAIN
from tests.mtls import mtls_server
from tests.sync.conftest import World
from tests.sync.observe import active_grant, archived, events
from tests.sync.test_kinds_through_sync import _publish
from tests.sync.test_lifecycle import _creds
from tests.vault.test_secret import write_pem

# The grant lasts long enough for sync, delivery and `jitflow creds` on a loaded machine;
# the test then waits for the certificate's own notAfter (read from it), never a fixed sleep.
DURATION = "30s"
CERT_POLICY = b"""\
name: client-cert
description: A short-lived X.509 client certificate for the orders API (mTLS)
grant:
  kind: secret
  path: pki/issue/jitflow-client
  method: POST
  params: {common_name: "{requester}.clients.example.test"}
  ttl_param: ttl
  revocable: false
  policies: [jitflow-pki-client]
duration: {default: 30s, max: 1h}
requesters: {groups: [sre]}
approvals:
  rules:
    - {count: 1, from: {groups: [leads]}}
"""


def _audit(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    world.runner.run("fetch", "--quiet", "origin")
    return subprocess.run(
        [
            *(sys.executable, "-m", "jitflow", "audit", *args),
            *("--repo", str(world.runner.path), "--ref", "origin/main"),
        ],
        env=world.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_pki_client_certificate_lifecycle_admitted_then_refused(
    world: World, tmp_path: Path
) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    _publish(world, {"policies/client-cert.yaml": CERT_POLICY})
    request_id, number = world.approved_merge("client-cert", duration=DURATION)
    world.sync()

    grant = active_grant(world, request_id)
    assert grant is not None and grant["kind"] == "secret"
    vault = grant["vault"]
    assert vault["path"] == "pki/issue/jitflow-client" and vault["revocable"] == "false"
    assert "CRL" in vault["revocation_note"] and vault["cert_serial"]
    assert vault["lease_id"].startswith("pki/issue/jitflow-client/")
    assert vault["not_after"] == grant["expires_at"]
    assert grant["requested_seconds"] == 30 and 25 <= grant["granted_seconds"] <= 30
    bodies = [c["body"] for c in world.standin.comments(number)]
    assert any("revoked early" in b and "CRL" in b for b in bodies)
    assert any("BEGIN AGE ENCRYPTED FILE" in b for b in bodies)

    shown = _creds(world, request_id, "json")
    assert shown.returncode == 0, shown.stderr
    values = json.loads(shown.stdout)
    assert values["serial_number"] == vault["cert_serial"]
    cert, key = write_pem(tmp_path, values)
    # the private key is nowhere but in the requester's hands
    history = world.runner.run("log", "-p", "origin/main")
    everywhere = history + "".join(bodies) + shown.stderr
    assert values["private_key"].splitlines()[1] not in everywhere

    not_after = parse_time(grant["expires_at"])
    with mtls_server(world.vault.setup.pki_ca_pem, tmp_path) as server:
        assert datetime.now(UTC) < not_after, "the machine was too slow to use the certificate"
        read, verdict = server.connect(cert, key)
        assert (read, verdict) == (f"hello alice.{PKI_DOMAIN}\n", f"admitted alice.{PKI_DOMAIN}")

        shown_audit = _audit(world, "--format", "json")
        assert shown_audit.returncode == 0, shown_audit.stderr
        assert '"secret"' in shown_audit.stdout and request_id in shown_audit.stdout

        time.sleep(max(0.0, (not_after - datetime.now(UTC)).total_seconds()) + 1.5)
        read, verdict = server.connect(cert, key)
    assert not read.startswith("hello")
    assert verdict.startswith("refused") and "certificate has expired" in verdict

    world.sync()  # the grant's end has passed: sync expires it
    assert active_grant(world, request_id) is None
    [record] = archived(world, request_id)
    assert record["ended"]["reason"] == "expired"
    assert events(world, request_id) == ["issue", "expire"]
    verified = _audit(world, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
