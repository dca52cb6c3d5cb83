"""A `secret` grant through the whole path: a short-lived X.509 client certificate from
OpenBao's PKI engine, requested by PR, approved, merged, issued by sync with the grant's own
token, delivered encrypted, admitted by a real mTLS endpoint, refused once expired."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jitflow.core.times import format_time, parse_time
from jitflow.sandbox.servers.vault_setup import PKI_DOMAIN
from tests.mtls import mtls_server, openssl_verdict
from tests.sync.conftest import World, run_creds
from tests.sync.observe import active_grant, archived, events
from tests.sync.test_kinds_through_sync import _publish
from tests.vault.test_secret import write_pem

# The grant lasts long enough for sync, delivery and `jitflow creds` on a loaded machine, so
# the endpoint admits the certificate on the machine's clock. Its end is checked on OpenSSL's
# verification clock (`openssl s_server -attime`) and by a sync told the time (`--now`): the
# test never waits for the certificate to expire.
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

    shown = run_creds(world, request_id, "json")
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

    # An endpoint whose clock reads one second before the grant's end still admits the
    # certificate; one second after it, refuses it as expired: it ends with the grant.
    ca, second = world.vault.setup.pki_ca_pem, timedelta(seconds=1)
    read, checked = openssl_verdict(ca, tmp_path / "before", (cert, key), not_after - second)
    assert read == "gnip\n" and "verify error" not in checked, checked  # "ping" reversed
    read, checked = openssl_verdict(ca, tmp_path / "after", (cert, key), not_after + second)
    assert read.startswith("error:") and "certificate expired" in read
    assert "verify error:num=10:certificate has expired" in checked

    after_end = format_time(not_after + second)
    world.sync("--now", after_end)  # the grant's end has passed: sync expires it
    assert active_grant(world, request_id) is None
    [record] = archived(world, request_id)
    assert record["ended"]["reason"] == "expired"
    assert events(world, request_id) == ["issue", "expire"]
    verified = _audit(world, "verify", "--now", after_end)
    assert verified.returncode == 0, verified.stdout + verified.stderr
