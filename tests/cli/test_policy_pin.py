"""`jitflow policy pin` against the GitHub stand-in: pins every named login to the account
holding it, keeps comments and groups byte for byte, reports (never replaces) a pin whose
login changed hands, and warns when an account is younger than the login's first mention.
One stand-in, no Vault (~2 s)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from jitflow.adapters.git import Git
from jitflow.cli import cli
from jitflow.sandbox.github_standin import GitHubStandIn
from jitflow.sandbox.github_standin.accounts import first_id

GROUPS = "# who\nsre: [alice, carol]\nleads: [bob, github-team:acme/leads]\n"
POLICY = b"""\
name: db
description: d
grant: {kind: vault-token, policies: [p]}
duration: {max: 1h}
requesters: {groups: [sre], users: [dave]}
approvals: {rules: [{count: 1, from: {groups: [leads]}}]}
"""


@pytest.fixture
def github_seed_files() -> Mapping[str, bytes]:
    return {"policies/groups.yaml": GROUPS.encode(), "policies/db.yaml": POLICY}


def _pin(standin: GitHubStandIn, repo: Path, *args: str) -> Result:
    env = {
        "GITHUB_TOKEN": standin.token_for("alice"),
        "GITHUB_REPOSITORY": "acme/access",
        "GITHUB_API_URL": standin.api_url,
    }
    return CliRunner().invoke(cli, ["policy", "pin", "--repo", str(repo), *args], env=env)


def test_pin_writes_ids_then_reports_a_login_that_changed_hands(
    github_standin: GitHubStandIn, work_clone: Git
) -> None:
    for login in ("alice", "bob", "carol", "dave"):
        github_standin.add_user(login)
    repo, groups = work_clone.path, work_clone.path / "policies/groups.yaml"
    checked = _pin(github_standin, repo, "--check")
    assert checked.exit_code == 1 and "would pin @dave -> account" in checked.output
    assert groups.read_text() == GROUPS

    pinned = _pin(github_standin, repo)
    assert pinned.exit_code == 0, pinned.output
    ids = "".join(f"  {u}: {first_id(u)}\n" for u in ("alice", "bob", "carol", "dave"))
    assert groups.read_text().startswith(GROUPS) and groups.read_text().endswith(ids)
    again = _pin(github_standin, repo, "--check")
    assert again.exit_code == 0 and "every login named in policies/ is pinned" in again.output

    github_standin.rename_user("bob", "bob-at-acme")
    github_standin.add_user("bob")  # a stranger takes the freed login
    written = groups.read_text()
    stale = _pin(github_standin, repo)
    assert stale.exit_code == 1
    assert f"pinned account {first_id('bob')} is now @bob-at-acme" in stale.output
    assert groups.read_text() == written  # never replaced silently

    repinned = _pin(github_standin, repo, "--repin", "bob")
    assert repinned.exit_code == 0, repinned.output
    assert f"  bob: {first_id('bob')}\n" not in groups.read_text()
    # every stand-in account is younger than the commit that named it (made before them)
    assert "this account was created after @bob was first named" in repinned.output
