"""Outbound delivery from the workflows' checkout (one commit deep) sends what a full clone
sends: the mark and the history each event needs are fetched on demand. The marks live in a
store behind the use case's own port (the Vault side is proven in test_outbound.py)."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path

from jitflow.adapters.git import Git
from jitflow.core.outbound import Mark
from jitflow.usecases.outbound.deliver import deliver
from tests.audit.history_builder import T0, HistoryBuilder
from tests.sync.outbound_receiver import Receiver, https_receiver

KEY = b"shallow-test-key"


class MemoryStore:
    def __init__(self) -> None:
        self.marks: dict[str, tuple[str, int]] = {}

    def read_mark(self, endpoint: str) -> Mark:
        commit, version = self.marks.get(endpoint, (None, 0))
        return Mark(commit, version)

    def write_mark(self, endpoint: str, commit: str, version: int) -> int:
        assert self.marks.get(endpoint, ("", 0))[1] == version  # check-and-set
        self.marks[endpoint] = (commit, version + 1)
        return version + 1

    def read_secret(self, path: str, key: str) -> str:
        raise AssertionError("the test names its secret in the environment")


def _config(url: str) -> str:
    return (
        f"endpoints:\n  - name: hooks\n    url: {url}/hooks\n    format: json\n"
        "    secret: {env: HOOKS_KEY}\n    ca_file: ca.pem\n    batch: 4\n"
    )


def _shallow_clone(origin: Path, target: Path) -> Git:
    url = origin.resolve().as_uri()
    subprocess.run(["git", "clone", "-q", "--depth", "1", url, str(target)], check=True)
    return Git(target)


def _events(receiver: Receiver) -> list[dict[str, object]]:
    return [e for r in receiver.on("/hooks") for e in json.loads(r.body)["events"]]


def test_a_one_commit_checkout_delivers_what_a_full_clone_does(tmp_path: Path) -> None:
    env = {"HOOKS_KEY": KEY.decode()}
    with https_receiver(tmp_path, {"/hooks": KEY}, "") as (receiver, ca_pem):
        history = HistoryBuilder(tmp_path / "origin")
        history.write(".jitflow/outbound.yaml", _config(receiver.url))
        history.write("ca.pem", ca_pem.decode())
        history.commit("admin", "Stream the ledger", T0)
        for hours, requester in enumerate(("alice", "carol", "alice")):
            history.lifecycle(requester, "bob", T0 + timedelta(hours=hours))
        full = deliver(history.git, history.head(), MemoryStore(), env)
        assert [(r.events, r.error) for r in full.results] == [(9, "")]
        from_full = _events(receiver)
        receiver.received.clear()

        store = MemoryStore()
        shallow = _shallow_clone(history.root, tmp_path / "checkout")
        tip = shallow.rev_parse("HEAD")
        first = deliver(shallow, tip, store, env)
        assert [(r.events, r.error) for r in first.results] == [(9, "")]
        assert _events(receiver) == from_full  # same events, same facts (approvers, times)
        assert all(r.signature_ok for r in receiver.on("/hooks"))

        # later: main moved on; a fresh one-commit checkout sends only what is new
        receiver.received.clear()
        history.lifecycle("carol", "bob", T0 + timedelta(hours=3))
        again = _shallow_clone(history.root, tmp_path / "checkout-2")
        second = deliver(again, again.rev_parse("HEAD"), store, env)
        assert [(r.events, r.error) for r in second.results] == [(3, "")]
        sent = _events(receiver)
        assert [e["type"] for e in sent] == ["request-merged", "issued", "expired"]
        assert {e["requester"] for e in sent} == {"carol"} and sent[0]["approvers"] == ["bob"]
