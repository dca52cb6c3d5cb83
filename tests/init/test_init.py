"""`jitflow init`: a scaffold that works with `jitflow request` and `jitflow check` at once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

import jitflow
from jitflow.adapters.git import Git
from jitflow.cli import cli
from jitflow.usecases.init import pinned_requirement, workflow_templates

REPO_ROOT = Path(__file__).resolve().parents[2]
IDENTITY = {
    "GIT_AUTHOR_NAME": "Admin",
    "GIT_AUTHOR_EMAIL": "admin@example.test",
    "GIT_COMMITTER_NAME": "Admin",
    "GIT_COMMITTER_EMAIL": "admin@example.test",
}
EXPECTED = [
    "policies/groups.yaml",
    "policies/staging-readonly.yaml",
    "requests/.gitkeep",
    "requests/active/.gitkeep",
    "requests/archive/.gitkeep",
    ".github/workflows/check.yml",
    ".github/workflows/sync.yml",
    ".github/CODEOWNERS",
    ".pre-commit-hooks.yaml",
]


def _jitflow(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def empty_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "access"
    Git(tmp_path).run("init", "--quiet", "--initial-branch=main", str(repo))
    return repo


def test_init_then_a_request_branch_passes_check(empty_repo: Path) -> None:
    code, output = _jitflow("init", str(empty_repo))
    assert code == 0, output
    for path in EXPECTED:
        assert (empty_repo / path).is_file(), path
        assert f"created  {path}" in output
    assert "jitflow/policy and jitflow/approval" in output
    assert "docs/vault-setup.md" in output
    git = Git(empty_repo, env=IDENTITY)
    git.run("add", "--all")
    git.run("commit", "--quiet", "-m", "jitflow init")

    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    code, output = _jitflow(
        "request", "staging-readonly", "--as", "alice", "--for", "2h",
        "--reason", "Reproduce the checkout bug on staging", "--now", now,
        "--repo", str(empty_repo),
    )  # fmt: skip
    assert code == 0, output
    branch = output.split(" on branch ", 1)[1].split()[0]
    code, output = _jitflow(
        "check", "--base", "main", "--head", branch, "--now", now, "--repo", str(empty_repo)
    )
    assert code == 0, output


def test_init_refuses_to_overwrite_without_force(empty_repo: Path) -> None:
    assert _jitflow("init", str(empty_repo))[0] == 0
    groups = empty_repo / "policies" / "groups.yaml"
    groups.write_text("sre: [someone-else]\n")
    (empty_repo / ".github" / "workflows" / "sync.yml").unlink()

    code, output = _jitflow("init", str(empty_repo))
    assert code == 2, output
    assert "policies/groups.yaml" in output and "--force" in output
    assert groups.read_text() == "sre: [someone-else]\n"
    assert not (empty_repo / ".github" / "workflows" / "sync.yml").exists()

    code, output = _jitflow("init", str(empty_repo), "--force")
    assert code == 0, output
    assert "replaced policies/groups.yaml" in output
    assert "created  .github/workflows/sync.yml" in output
    assert groups.read_bytes() == (REPO_ROOT / "jitflow/examples/policies/groups.yaml").read_bytes()


@pytest.mark.parametrize("name", ["check.yml", "sync.yml"])
def test_workflow_templates_are_the_projects_own_but_pin_the_release(name: str) -> None:
    template = workflow_templates()[f".github/workflows/{name}"].decode()
    own = (REPO_ROOT / ".github" / "workflows" / name).read_text()
    pinned = f'--quiet "{pinned_requirement()}"'
    assert pinned_requirement() == f"jitflow=={jitflow.__version__}"
    assert pinned in template
    assert "--quiet .\n" not in template
    assert template.replace(pinned, "--quiet .") == own


def test_codeowners_and_pre_commit_hook(empty_repo: Path) -> None:
    assert _jitflow("init", str(empty_repo))[0] == 0
    owners = (empty_repo / ".github" / "CODEOWNERS").read_text()
    owned = {line.split()[0] for line in owners.splitlines() if line and not line.startswith("#")}
    assert owned == {"/policies/", "/.github/", "/requests/active/", "/requests/archive/"}
    from jitflow.core.yamlio import load_yaml

    hooks = load_yaml((empty_repo / ".pre-commit-hooks.yaml").read_bytes(), "hooks.yaml").data
    [hook] = hooks
    assert hook["id"] == "jitflow-check"
    assert hook["entry"] == "jitflow check --base origin/main --head HEAD"
    assert hook["pass_filenames"] is False
