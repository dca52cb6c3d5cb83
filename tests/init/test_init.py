"""`jitflow init`: a scaffold that works with `jitflow request` and `jitflow check` at once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from jitflow.adapters.git import Git
from jitflow.cli import cli

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
    ".pre-commit-config.yaml",
    ".jitflow/schemas/groups.schema.json",
    ".jitflow/schemas/policy.schema.json",
    ".jitflow/schemas/request.schema.json",
]
ACTION = "acme/jitflow@" + "0123456789abcdef" * 2 + "01234567"


def _jitflow(*args: str) -> tuple[int, str]:
    if args[0] == "init" and "--action" not in args:
        args = (*args, "--action", ACTION)
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
    assert "https://github.com/acme/jitflow/blob/0123456789abcdef" in output
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


def test_codeowners(empty_repo: Path) -> None:
    assert _jitflow("init", str(empty_repo))[0] == 0
    owners = (empty_repo / ".github" / "CODEOWNERS").read_text()
    owned = {line.split()[0] for line in owners.splitlines() if line and not line.startswith("#")}
    assert owned == {
        "/policies/",
        "/.github/",
        "/requests/active/",
        "/requests/archive/",
        "/.jitflow/",
    }


# ---- blocker 4: workflows get jitflow from a commit, never by name from an index ---------


def test_init_workflows_run_the_action_pinned_to_a_full_commit(empty_repo: Path) -> None:
    assert _jitflow("init", str(empty_repo))[0] == 0
    for name in ("check.yml", "sync.yml"):
        text = (empty_repo / ".github" / "workflows" / name).read_text()
        assert f"uses: {ACTION} # jitflow action" in text
        assert "pip install" not in text and "jitflow==" not in text
        assert "0" * 40 not in text  # the template's placeholder is gone


@pytest.mark.parametrize(
    "action", ["acme/jitflow@v1", "acme/jitflow@0123abc", "jitflow@" + "0" * 40, "a b@c"]
)
def test_init_refuses_an_action_not_pinned_to_a_full_sha(empty_repo: Path, action: str) -> None:
    code, output = _jitflow("init", str(empty_repo), "--action", action)
    assert code == 2
    assert "full 40-character commit SHA" in output
    assert list(empty_repo.iterdir()) == [empty_repo / ".git"]


def test_init_without_action_needs_one_unless_installed_from_a_github_commit(
    empty_repo: Path,
) -> None:
    """Here jitflow is installed from a local checkout: there is no commit to pin."""
    result = CliRunner().invoke(cli, ["init", str(empty_repo)])
    assert result.exit_code == 2
    assert "pass --action OWNER/NAME@SHA" in result.output
    assert list(empty_repo.iterdir()) == [empty_repo / ".git"]


# ---- blocker 5: what init writes works in the user's repository ---------------------------


def test_schema_lines_resolve_in_the_users_repository(empty_repo: Path, tmp_path: Path) -> None:
    """Each `yaml-language-server: $schema=` is resolved the way the editor does (relative to
    the file) and the file is validated with check-jsonschema against what it points at (its
    command run in-process: the test is about the schema lines, not the process boundary)."""
    from check_jsonschema import main as check_jsonschema
    from click.testing import CliRunner

    assert _jitflow("init", str(empty_repo))[0] == 0
    git = Git(empty_repo, env=IDENTITY)
    git.run("add", "--all")
    git.run("commit", "--quiet", "-m", "jitflow init")
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    code, output = _jitflow(
        "request", "staging-readonly", "--as", "alice", "--reason", "Reproduce the checkout bug",
        "--now", now, "--repo", str(empty_repo),
    )  # fmt: skip
    assert code == 0, output
    branch = output.split(" on branch ", 1)[1].split()[0]
    git.run("switch", "--quiet", branch)
    files = sorted(empty_repo.glob("policies/*.yaml")) + sorted(empty_repo.glob("requests/*.yaml"))
    assert len(files) == 3
    for path in files:
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        schema = (path.parent / first.split("=", 1)[1]).resolve()
        assert schema.is_relative_to(empty_repo.resolve()) and schema.is_file(), (path, schema)
        done = CliRunner().invoke(check_jsonschema, ["--schemafile", str(schema), str(path)])
        assert done.exit_code == 0, done.output


def test_the_pre_commit_configuration_runs_with_pre_commit(
    empty_repo: Path, tmp_path: Path
) -> None:
    """The real pre-commit validates the generated configuration and runs the hook: it passes
    on a valid request branch and fails on one the policy refuses."""
    import os
    import shutil
    import subprocess

    pre_commit = shutil.which("pre-commit")
    assert pre_commit, "pre-commit is in the dev extra"
    assert _jitflow("init", str(empty_repo))[0] == 0
    env = {**os.environ, **IDENTITY, "PRE_COMMIT_HOME": str(tmp_path / "cache")}
    git = Git(empty_repo, env=IDENTITY)
    git.run("add", "--all")
    git.run("commit", "--quiet", "-m", "jitflow init")
    origin = tmp_path / "origin.git"
    Git(tmp_path).run("clone", "--quiet", "--bare", str(empty_repo), str(origin))
    git.run("remote", "add", "origin", str(origin))
    git.run("fetch", "--quiet", "origin")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [pre_commit, *args],
            cwd=empty_repo,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    validated = run("validate-config", ".pre-commit-config.yaml")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "warning" not in (validated.stdout + validated.stderr).lower()
    code, output = _jitflow(
        "request", "staging-readonly", "--as", "alice", "--reason", "Reproduce the checkout bug",
        "--repo", str(empty_repo),
    )  # fmt: skip
    assert code == 0, output
    git.run("switch", "--quiet", output.split(" on branch ", 1)[1].split()[0])
    ran = run("run", "--hook-stage", "manual", "jitflow-check", "--all-files")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    (empty_repo / "requests" / "alice-nosuch-1.yaml").write_text(
        "policy: nosuch\nrequester: alice\nreason: Reproduce the checkout bug\n"
    )
    git.run("add", "--all")
    git.run("commit", "--quiet", "-m", "a request for a policy that does not exist")
    ran = run("run", "--hook-stage", "manual", "jitflow-check", "--all-files")
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "unknown-policy" in ran.stdout
