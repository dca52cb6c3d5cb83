"""A requester ends their own grant without approval; another account that took over their
login after a rename is someone else, who needs an approval (the gate's revocation check;
sync ends whatever main deleted, so the gate and branch protection are where this holds).
No server, one small git repository (< 1 s)."""

from __future__ import annotations

from pathlib import Path

from jitflow.adapters.git import Git
from jitflow.core.approvals import ApprovalFacts
from jitflow.sandbox.github_standin.accounts import first_id
from jitflow.usecases.revocation_check import evaluate_revocation
from tests.cli.scenarios import ACTIVE_CAROL, make_base


def test_only_the_pinned_account_gives_up_a_grant_without_approval(tmp_path: Path) -> None:
    repo = make_base(tmp_path / "repo")
    base = Git(repo.path).rev_parse("main")

    def approved(account: int) -> bool:
        facts = ApprovalFacts("carol", "head", accounts={"carol": account})
        decision = evaluate_revocation(Git(repo.path), base, (ACTIVE_CAROL,), facts, {})
        return decision.approved

    assert approved(first_id("carol"))
    assert not approved(100_000_001)
