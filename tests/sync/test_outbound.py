"""Outbound delivery after sync runs, end to end: real syncs (OpenBao, the stand-in, git) send
the ledger's new events to a local HTTPS receiver that checks every signature, and each event
is processed exactly once across runs, receivers that fail (500, 429 with a Retry-After past the
bound, an answer after the timeout) then recover, and a sync killed between sending and
recording its mark. Two grants and four syncs carry every drill."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jitflow.adapters.git import Git
from tests.audit.test_audit_ocsf import schema_errors
from tests.sync.conftest import World, vault_api
from tests.sync.outbound_receiver import Receiver, event_uid, https_receiver

HMAC_OCSF = b"ocsf-key-for-the-test"
HMAC_JSON = b"json-key-from-vault"
HEC_TOKEN = "11111111-2222-3333-4444-555555555555"
HEC = "/services/collector/event"
HOSTILE = "<!channel> @here see https://evil.example now, urgent fix for INC-1"


def outbound_yaml(kv_path: str) -> str:
    return f"""\
endpoints:
  - name: siem-ocsf
    url: {{env: JITFLOW_TEST_OCSF_URL}}
    format: ocsf
    secret: {{env: JITFLOW_TEST_OCSF_KEY}}
    ca_file: .jitflow/receiver-ca.pem
    batch: 2
  - name: hooks
    url: {{env: JITFLOW_TEST_JSON_URL}}
    format: json
    secret: {{vault: {kv_path}, key: hmac}}
    ca_file: .jitflow/receiver-ca.pem
    timeout: 2s
  - name: splunk
    url: {{env: JITFLOW_TEST_HEC_URL}}
    format: splunk-hec
    token: {{env: JITFLOW_TEST_HEC_TOKEN}}
    ca_file: .jitflow/receiver-ca.pem
    index: security
  - name: chat
    url: {{env: JITFLOW_TEST_SLACK_URL}}
    format: slack
    ca_file: .jitflow/receiver-ca.pem
"""


def admin_commit(world: World, files: dict[str, str], message: str) -> str:
    git = world.requester
    git.run("fetch", "--quiet", "origin")
    git.run("checkout", "--quiet", "-B", "admin", "origin/main")
    for name, text in files.items():
        (git.path / name).parent.mkdir(parents=True, exist_ok=True)
        (git.path / name).write_text(text)
    admin = {
        "GIT_AUTHOR_NAME": "admin",
        "GIT_AUTHOR_EMAIL": "admin@example.com",
        "GIT_COMMITTER_NAME": "admin",
        "GIT_COMMITTER_EMAIL": "admin@example.com",
    }
    git.run("add", "--all")
    git.run("commit", "--quiet", "-m", message, env=admin)
    git.run("push", "--quiet", "origin", "admin:main")
    return git.rev_parse("HEAD")


def expected_ids(world: World, since: str, now: datetime) -> set[str]:
    """What `jitflow audit --format ocsf` says happened after the configuration commit."""
    world.runner.run("fetch", "--quiet", "origin")
    out = subprocess.run(
        [
            *(sys.executable, "-m", "jitflow", "audit", "--format", "ocsf", "--ref", "origin/main"),
            *("--now", now.strftime("%Y-%m-%dT%H:%M:%SZ"), "--repo", str(world.runner.path)),
        ],
        env=world.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    after = set(Git(world.bare).run("rev-list", "main", f"^{since}").split())
    events = [json.loads(line) for line in out.splitlines()]
    return {e["metadata"]["uid"] for e in events if e["metadata"]["original_event_uid"] in after}


def killed_sync(world: World, env: dict[str, str], receiver: Receiver) -> int:
    proc = subprocess.Popen(
        [sys.executable, "-m", "jitflow", "sync", "--repo", str(world.runner.path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    receiver.on_receive = lambda: proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=300)
    receiver.on_receive = None
    return proc.returncode


def test_every_event_reaches_every_endpoint_exactly_once(world: World, tmp_path: Path) -> None:
    kv_path = f"jitflow-kv/data/outbound/{tmp_path.name}"
    vault_api(
        world.vault.addr,
        world.vault.root_token,
        "POST",
        kv_path,
        {"data": {"hmac": HMAC_JSON.decode()}},
    ).raise_for_status()
    keys = {"/ocsf": HMAC_OCSF, "/hooks": HMAC_JSON}
    with https_receiver(tmp_path, keys, HEC_TOKEN) as (receiver, ca_pem):
        env = {
            **world.env,
            "JITFLOW_TEST_OCSF_URL": f"{receiver.url}/ocsf",
            "JITFLOW_TEST_OCSF_KEY": HMAC_OCSF.decode(),
            "JITFLOW_TEST_JSON_URL": f"{receiver.url}/hooks",
            "JITFLOW_TEST_HEC_URL": f"{receiver.url}{HEC}",
            "JITFLOW_TEST_HEC_TOKEN": HEC_TOKEN,
            "JITFLOW_TEST_SLACK_URL": f"{receiver.url}/slack",
        }
        config = admin_commit(
            world,
            {
                ".jitflow/outbound.yaml": outbound_yaml(kv_path),
                ".jitflow/receiver-ca.pem": ca_pem.decode(),
            },
            "Stream the ledger to the SIEM, the hooks and chat",
        )
        reason = f"{HOSTILE} and the orders backlog"
        body = f"policy: ops-read\nrequester: alice\nduration: 30m\nreason: '{reason}'\n"

        # 1. the SIEM answers 500, Splunk is rate limited past the wait bound, the hooks
        #    receiver processes the batch but answers after the 2s timeout: the run still
        #    issues, succeeds, and says so
        receiver.modes.update({"/ocsf": "fail", HEC: "busy", "/hooks": "slow"})
        receiver.retry_after = "3600"
        world.approved_merge(body=body)
        run = world.sync(env_extra=env)
        assert run.returncode == 0 and "issue" in run.stdout
        assert "outbound siem-ocsf: endpoint siem-ocsf: answered HTTP 500" in run.stderr
        assert "endpoint splunk: answered HTTP 429, Retry-After 3600s" in run.stderr
        assert "outbound hooks: endpoint hooks: no answer within 2s" in run.stderr
        assert "outbound chat: 2 events delivered" in run.stdout

        # 2. the next sync issues another grant, then is killed after the SIEM processed a
        #    batch, before the mark moved (the SIEM is the first endpoint: nothing else runs)
        receiver.modes.update({"/ocsf": "kill", HEC: "ok", "/hooks": "ok"})
        world.approved_merge()
        assert killed_sync(world, env, receiver) == -signal.SIGKILL

        # 3. every endpoint catches up: the batches whose answers were lost come again, the
        #    same events under the same delivery id
        receiver.modes["/ocsf"] = "ok"
        run = world.sync(env_extra=env)
        for name in ("siem-ocsf", "hooks", "splunk"):
            assert f"outbound {name}: 4 events delivered" in run.stdout, run.stdout

        # 4. grants end: the expiries go out too, and every mark reaches main's tip
        later = datetime.now(UTC) + timedelta(hours=1)
        at = later.strftime("%Y-%m-%dT%H:%M:%SZ")
        done = json.loads(world.sync("--now", at, "--format", "json", env_extra=env).stdout)
        assert [(o["name"], o["events"], o["error"]) for o in done["outbound"]] == [
            (name, 2, "") for name in ("siem-ocsf", "hooks", "splunk", "chat")
        ]
        tip = Git(world.bare).rev_parse("main")
        assert {o["mark"] for o in done["outbound"]} == {tip}

        expected = expected_ids(world, config, later)
        kinds = Counter(uid.split(":")[1] for uid in expected)
        assert kinds == {"request-merged": 2, "issued": 2, "expired": 2}
        for path in ("/ocsf", "/hooks", HEC):
            assert all(r.signature_ok for r in receiver.on(path)), path
            ids = receiver.processed[path]
            assert set(ids) == expected, path  # nothing lost, nothing foreign
            assert set(receiver.again.get(path, ())) <= expected, path  # resent: same ids
            assert max(ids.values()) == 1, path  # processed once
        assert receiver.changed == []  # an event sent again is byte for byte the same
        _resends_are_identical(receiver)
        _ocsf_is_valid(receiver)
        _slack_is_inert(receiver, len(expected))


def _resends_are_identical(receiver: Receiver) -> None:
    """The wire is at-least-once: what a lost answer left (the timeout, the kill) came again.
    A batch resent with nothing new after it keeps its delivery id (the SIEM's, after the
    kill); one that grew (the hooks', after the timeout, new commits) keeps its event ids."""
    by_delivery: dict[str, list[list[str]]] = {}
    for record in receiver.on("/ocsf"):
        ids = [event_uid("/ocsf", e) for e in record.events()]
        by_delivery.setdefault(record.delivery, []).append(ids)
    again = {d: sends for d, sends in by_delivery.items() if len(sends) > 1}
    assert again, "the kill should have caused a resend under the same delivery id"
    for sends in again.values():
        assert all(s == sends[0] for s in sends)
    assert sum(receiver.again["/hooks"].values()) == 2  # the slow batch's two events


def _ocsf_is_valid(receiver: Receiver) -> None:
    for record in receiver.on("/ocsf"):
        for event in record.events():
            assert schema_errors(event) == [], event["metadata"]["uid"]
    for record in receiver.on("/services/collector/event"):
        for wrapped in record.events():
            assert wrapped["index"] == "security" and wrapped["sourcetype"] == "_json"
            assert schema_errors(wrapped["event"]) == []


def _slack_is_inert(receiver: Receiver, expected: int) -> None:
    lines = []
    for record in receiver.on("/slack"):
        payload = json.loads(record.body)
        assert payload["mrkdwn"] is False and payload["unfurl_links"] is False
        assert SIGNATURE_MARK not in record.headers
        lines += payload["text"].splitlines()[1:]
    assert len(lines) == expected
    text = "\n".join(lines)
    assert "<!channel>" not in text and "@here" not in text and "https://evil" not in text
    assert "&lt;!\u200dchannel&gt;" in text


SIGNATURE_MARK = "Jitflow-Signature"
