"""`audit verify` reads the ledger's objects as they are, never as local replacements.

`git replace` (refs/replace/*) makes every git command show another object in place of one:
anyone who may push a ref pushes `refs/replace/<sha>` (branch rules don't cover that namespace),
and a mirror clone (`git clone --mirror`, `git fetch origin 'refs/*:refs/*'`, as evidence
archives are made) brings it along. The commit signatures still verify (the commits are
untouched), so a replaced record blob or tree would rewrite what the auditor is shown.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from jitflow.usecases.audit.verify import VerifyOptions, run_verify
from tests.audit.history_builder import HistoryBuilder
from tests.audit.test_verify_forged_claims import NOW, codes, issued


def test_a_replace_ref_does_not_launder_a_forged_record(tmp_path: Path) -> None:
    builder = HistoryBuilder(tmp_path / "ledger")
    handle = issued(builder, pr=99, policy_commit="0" * 40)
    assert codes(run_verify(VerifyOptions(repo=builder.root, now=NOW))) == {
        "pr-mismatch",
        "policy-commit-mismatch",
    }

    def git(*args: str) -> str:  # plain git, as the auditor's shell runs it
        done = subprocess.run(
            ["git", *args], cwd=builder.root, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    path = f"requests/active/{handle.id}.yaml"
    forged = git("rev-parse", f"HEAD:{path}")
    honest = builder.read(path).replace("pr: 99", f"pr: {handle.pr}")
    honest = honest.replace("0" * 40, handle.policy_commit)
    (tmp_path / "honest.yaml").write_text(honest)
    stand_in = git("hash-object", "-w", str(tmp_path / "honest.yaml"))
    git("replace", forged, stand_in)
    assert f"pr: {handle.pr}" in git("show", f"HEAD:{path}")  # git now shows the stand-in

    report = run_verify(VerifyOptions(repo=builder.root, now=NOW))
    assert codes(report) == {"pr-mismatch", "policy-commit-mismatch"}
