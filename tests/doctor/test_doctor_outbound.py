"""`jitflow doctor` on `.jitflow/outbound.yaml`: the rules without a server, then the facts read
from a real OpenBao (secrets, high-water marks) and a probe of a local HTTPS receiver, through a
CONNECT proxy when HTTPS_PROXY says so. Secret values never appear in a verdict."""

from __future__ import annotations

import json
from pathlib import Path

from jitflow.adapters.git import Git
from jitflow.core.doctor import Check, CheckStatus
from jitflow.core.doctor_outbound import MarkFact, OutboundFacts, SecretFact, check_outbound
from jitflow.core.outbound import parse_outbound
from jitflow.usecases.doctor_outbound import outbound_checks
from tests.doctor.conftest import DoctorVault
from tests.sync.connect_proxy import connect_proxy
from tests.sync.outbound_receiver import https_receiver

ANCHOR = "jitflow-kv/data/ledger-anchor"
CONFIG = b"""\
endpoints:
  - name: siem
    url: {env: SIEM_URL}
    format: ocsf
    secret: {vault: jitflow-kv/data/outbound/doctor, key: hmac}
    ca_file: .jitflow/ca.pem
  - name: hec
    url: https://splunk.example.com:8088/services/collector/event
    format: splunk-hec
    token: {env: HEC_TOKEN}
"""


def statuses(checks: list[Check]) -> dict[str, CheckStatus]:
    return {c.id: c.status for c in checks}


def test_rules_name_what_sync_would_stumble_on() -> None:
    config = parse_outbound(CONFIG)
    facts = OutboundFacts(
        config,
        frozenset({"SIEM_URL"}),  # HEC_TOKEN is not set
        {("jitflow-kv/data/outbound/doctor", "hmac"): SecretFact(False)},
        {},
        {"siem": MarkFact("p/siem", "a" * 40, False), "hec": MarkFact("p/hec", problem="403")},
    )
    checks = check_outbound(facts)
    assert statuses(checks) == {
        "outbound.config": CheckStatus.OK,
        "outbound.siem": CheckStatus.FAIL,
        "outbound.siem.mark": CheckStatus.FAIL,
        "outbound.hec": CheckStatus.FAIL,
        "outbound.hec.mark": CheckStatus.FAIL,
    }
    by_id = {c.id: c for c in checks}
    assert by_id["outbound.siem"].details == (
        "the HMAC key: Vault jitflow-kv/data/outbound/doctor has no key hmac",
    )
    assert by_id["outbound.hec"].details == (
        "the HEC token comes from $HEC_TOKEN, which is not set",
    )
    assert by_id["outbound.siem.mark"].fix.startswith("bao kv metadata delete p/siem")


def test_a_file_that_does_not_load_fails_with_its_lines() -> None:
    bad = parse_outbound(
        b"endpoints:\n  - name: x\n    url: http://siem.example.com/\n    format: ocsf\n"
        b"    secret: {env: K}\n"
    )
    [only] = check_outbound(OutboundFacts(bad, frozenset()))
    assert only.id == "outbound.config" and only.status is CheckStatus.FAIL
    assert any(d.startswith(".jitflow/outbound.yaml:3:") for d in only.details), only.details


def test_live_secrets_marks_and_probe_through_a_proxy(
    doctor_vault: DoctorVault, work_clone: Git, tmp_path: Path
) -> None:
    repo = work_clone.path
    main = work_clone.rev_parse("HEAD")
    doctor_vault.write("jitflow-kv/data/outbound/doctor", {"data": {"hmac": "s3cret-hmac"}})
    doctor_vault.write(f"{ANCHOR}/outbound/siem", {"data": {"commit": main}})
    doctor_vault.write(f"{ANCHOR}/outbound/hec", {"data": {"commit": "b" * 40}})
    with (
        https_receiver(tmp_path, {}, "") as (receiver, ca_pem),
        connect_proxy() as (proxy, tunnels),
    ):
        (repo / ".jitflow").mkdir(exist_ok=True)
        (repo / ".jitflow/outbound.yaml").write_bytes(CONFIG)
        (repo / ".jitflow/ca.pem").write_bytes(ca_pem)
        env = {
            "VAULT_ADDR": doctor_vault.server.addr,
            "VAULT_TOKEN": doctor_vault.server.root_token,
            "SIEM_URL": f"{receiver.url}/ocsf",
            "HEC_TOKEN": "hec-token-value",
            "HTTPS_PROXY": proxy,
            "NO_PROXY": "splunk.example.com",
        }
        checks = outbound_checks(repo, "main", env, vault=True, probe=True)
        got = statuses(checks)
        assert got["outbound.siem"] is CheckStatus.OK
        assert got["outbound.siem.mark"] is CheckStatus.OK
        assert got["outbound.siem.reachable"] is CheckStatus.OK
        assert tunnels == [receiver.url.removeprefix("https://")]  # probed through the proxy
        assert [r.path for r in receiver.received] == []  # a HEAD of the root, nothing posted
        assert got["outbound.hec"] is CheckStatus.OK
        assert got["outbound.hec.mark"] is CheckStatus.WARN  # a commit this clone lacks
        assert got["outbound.hec.reachable"] is CheckStatus.FAIL  # no such host, no proxy
        text = json.dumps([c.__dict__ for c in checks], default=str)
        for secret in ("s3cret-hmac", "hec-token-value", doctor_vault.server.root_token):
            assert secret not in text
        without_vault = statuses(outbound_checks(repo, "main", env, vault=False, probe=False))
        assert without_vault["outbound.siem"] is CheckStatus.SKIP
        assert without_vault["outbound.siem.mark"] is CheckStatus.SKIP
