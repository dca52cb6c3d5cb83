"""A manual revocation is never dropped by GitHub's concurrency rule.

GitHub keeps at most one pending run per concurrency group: a run queued while another of its
group is in progress cancels the pending one before it ("Any existing pending job or workflow
in the same concurrency group ... will be canceled"). With one group for every sync, an
incident's `revoke` dispatch queued behind a running sync was cancelled by the next push to
main (the runner's own ledger push, made with an App token, triggers one) or the next
schedule: the revocation silently never ran. Modelled here from the workflow's own
`concurrency.group`, evaluated for each kind of run, for this repository's sync.yml and the
template `jitflow init` writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.workflows.expressions import interpolate

ROOT = Path(__file__).resolve().parents[2]
SYNCS = [
    ROOT / ".github" / "workflows" / "sync.yml",
    ROOT / "jitflow" / "templates" / "workflows" / "sync.yml",
]


def _run(event: str, run_id: int, revoke: str | None = None) -> dict[str, Any]:
    inputs = {} if revoke is None else {"revoke": revoke}
    return {"github": {"event_name": event, "run_id": run_id}, "inputs": inputs}


def _cancelled(group: str, queue: list[dict[str, Any]]) -> list[int]:
    """The runs of `queue` GitHub cancels when they arrive one after another while a sync of
    the shared group is in progress: a run whose group is busy waits, and cancels the run
    pending in that group before it; a run whose group is free starts."""
    running = {interpolate(group, _run("schedule", 1))}
    pending: dict[str, int] = {}
    cancelled = []
    for context in queue:
        name, run_id = interpolate(group, context), context["github"]["run_id"]
        if name not in running:
            running.add(name)
            continue
        if name in pending:
            cancelled.append(pending[name])
        pending[name] = run_id
    return cancelled


@pytest.mark.parametrize("path", SYNCS, ids=["sync", "template-sync"])
def test_a_revocation_queued_behind_a_sync_is_not_cancelled(path: Path) -> None:
    concurrency = yaml.safe_load(path.read_text())["concurrency"]
    group = concurrency["group"]
    assert concurrency["cancel-in-progress"] is False
    # every run that may issue shares one group: one issuer at a time
    names = {interpolate(group, c) for c in (_run("push", 2), _run("workflow_dispatch", 3, ""))}
    assert names == {interpolate(group, _run("schedule", 4))}
    revocation = _run("workflow_dispatch", 5, "alice-orders-1")
    later = [revocation, _run("push", 6), _run("schedule", 7)]
    assert 5 not in _cancelled(group, later)  # (a push or schedule may drop another: fine)
    assert interpolate(group, revocation) != interpolate(group, _run("workflow_dispatch", 8, "b"))


def test_a_revocation_run_only_ends_grants() -> None:
    """Outside the shared group it never issues (`--no-issue`): one issuer at a time stays."""
    sync = (ROOT / ".github" / "workflows" / "sync.yml").read_text()
    action = (ROOT / "action.yml").read_text()
    for text in (sync, action):
        assert 'args+=(--no-issue --revoke "$REVOKE_ID")' in text
