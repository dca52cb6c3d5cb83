"""audit verify re-derives sync's Jitflow-Unsettled checkpoints from history."""

from __future__ import annotations

from pathlib import Path

from jitflow.core.ledger import RUNNER_EMAIL
from jitflow.usecases.audit.verify import VerifyOptions, run_verify
from jitflow.usecases.sync.recent import checkpoint_lies
from tests.gitrepo import GitRepo
from tests.sync.test_recent import runner_commit


def test_audit_verify_rederives_every_checkpoint(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "repo")
    base = repo.commit({"requests/active/kept.yaml": "policy: p\n"}, branch="main")
    deleted = repo.commit({"requests/active/kept.yaml": None}, parent=base, branch="main")
    honest = runner_commit(repo, deleted, {}, f"Jitflow-Unsettled: kept {deleted}")
    lying = runner_commit(repo, honest, {}, "Jitflow-Unsettled: none")
    settled = runner_commit(
        repo,
        lying,
        {"requests/archive/2026/11/kept.yaml": "x\n"},
        f"Jitflow-Unsettled: kept {deleted}",
    )
    after = runner_commit(repo, settled, {}, "Jitflow-Unsettled: none")

    lies = list(checkpoint_lies(repo.git, after, RUNNER_EMAIL))
    assert [(lie.commit, lie.request_id, lie.deleted_in) for lie in lies] == [
        (lying, "kept", deleted)
    ]
    report = run_verify(VerifyOptions(repo=repo.path, ref=after, runner_email=RUNNER_EMAIL))
    assert [(v.code, v.commit) for v in report.violations if v.code.startswith("checkpoint")] == [
        ("checkpoint-hides-deletion", lying)
    ]
