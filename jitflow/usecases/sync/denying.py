"""Denying a pending request: its archive record, and the note on its PR saying why."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from jitflow.adapters.git.writing import LedgerCommit
from jitflow.core.ledger import reused_id_archive_path
from jitflow.reporters import sync_notes
from jitflow.usecases.sync import recording
from jitflow.usecases.sync.decide import Verdict
from jitflow.usecases.sync.run_memory import Comment
from jitflow.usecases.sync.state import MainState


def request_names(verdict: Verdict, state: MainState) -> tuple[str, str]:
    """(policy, requester) of a pending request, even when its file doesn't parse."""
    decision = verdict.decision
    if decision is not None and decision.request is not None:
        return decision.request.policy, decision.request.requester
    from jitflow.core.loading import parse_request

    loaded = parse_request(state.request_bytes.get(verdict.request_id, b""), "requests/x.yaml")
    if loaded.value is None:
        return "", verdict.pr.author if verdict.pr else ""
    return loaded.value.policy, loaded.value.requester


def deny(
    verdict: Verdict, state: MainState, now: datetime, runner: str, comments: list[Comment]
) -> LedgerCommit:
    """Archive a pending request as denied, and say why on its PR."""
    policy, requester = request_names(verdict, state)
    owner = recording.Owner(policy, requester)
    commit = recording.deny_commit(
        verdict, state.request_bytes[verdict.request_id], owner, now, runner
    )
    if verdict.request_id in state.archived_ids or verdict.request_id in state.active_bytes:
        commit = _reused_id_paths(commit, verdict.merge_commit)
    if verdict.pr is not None:
        note = sync_notes.denied_note(verdict.request_id, verdict.all_findings(), requester)
        comments.append((verdict.pr.number, f"status:{verdict.request_id}", note))
    return commit


def _reused_id_paths(commit: LedgerCommit, merge_commit: str) -> LedgerCommit:
    """A reused id's denial must not overwrite the original's record (issue #10, hole 8)."""
    files = {
        (reused_id_archive_path(p, merge_commit) if p.startswith("requests/archive/") else p): c
        for p, c in commit.files.items()
    }
    return replace(commit, files=files)
