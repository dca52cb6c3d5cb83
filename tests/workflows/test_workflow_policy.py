"""Security properties of the GitHub Actions workflows, and the logic of their scripts."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
LINT_SCRIPT = ROOT / ".ci" / "lint-workflows"
WORKFLOW_NAMES = ("check.yml", "sync.yml", "tests.yml")

# The one pin per action that the workflows may use: full commit SHA and its release tag.
PINS = {
    "actions/checkout": ("11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2"),
    "actions/setup-python": ("a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"),
}


def _load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(document, dict)
    # YAML 1.1 reads the key `on` as the boolean true.
    if True in document:
        document["on"] = document.pop(True)
    return document


def _code(name: str) -> str:
    """The workflow text without comments, which may discuss what the code must not do."""
    text = (WORKFLOWS / name).read_text()
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def _uses_secrets(name: str) -> bool:
    return re.search(r"\bsecrets\s*[.\[]", _code(name)) is not None


def _steps(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for job in document["jobs"].values():
        yield from job.get("steps", [])


def _step(document: dict[str, Any], job: str, name_start: str) -> dict[str, Any]:
    for step in document["jobs"][job]["steps"]:
        if str(step.get("name", "")).startswith(name_start):
            found: dict[str, Any] = step
            return found
    raise AssertionError(f"no step named {name_start!r} in job {job}")


@pytest.fixture(scope="module", params=WORKFLOW_NAMES)
def workflow(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any], str]:
    name = str(request.param)
    return name, _load(name), (WORKFLOWS / name).read_text()


# -- properties every workflow has ----------------------------------------------------------


def test_never_pull_request_target(workflow: tuple[str, dict[str, Any], str]) -> None:
    name, document, _ = workflow
    assert "pull_request_target" not in document["on"]
    assert "pull_request_target" not in _code(name)


def test_no_default_permissions_and_explicit_per_job(
    workflow: tuple[str, dict[str, Any], str],
) -> None:
    _, document, _ = workflow
    assert document["permissions"] == {}
    for job_id, job in document["jobs"].items():
        assert isinstance(job.get("permissions"), dict), f"job {job_id} has no permissions"


def test_actions_are_pinned_by_sha_with_version_comment(
    workflow: tuple[str, dict[str, Any], str],
) -> None:
    _, document, text = workflow
    uses_lines = [line.strip() for line in text.splitlines() if re.match(r"\s*(- )?uses:", line)]
    assert uses_lines
    for line in uses_lines:
        match = re.fullmatch(
            r"(?:- )?uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)", line
        )
        assert match, f"not pinned by full SHA with a version comment: {line}"
        action, sha, version = match.groups()
        assert PINS.get(action) == (sha, version), f"unexpected pin: {line}"
    assert len(uses_lines) == sum(1 for step in _steps(document) if "uses" in step)


def test_checkouts_do_not_persist_credentials(workflow: tuple[str, dict[str, Any], str]) -> None:
    _, document, _ = workflow
    checkouts = [
        s for s in _steps(document) if str(s.get("uses", "")).startswith("actions/checkout@")
    ]
    assert checkouts
    for step in checkouts:
        assert step["with"]["persist-credentials"] is False


def test_no_expressions_inside_run_scripts(workflow: tuple[str, dict[str, Any], str]) -> None:
    _, document, _ = workflow
    runs = [step["run"] for step in _steps(document) if "run" in step]
    assert runs
    for script in runs:
        assert "${{" not in script, f"expression in a run script: {script!r}"


def test_every_workflow_has_a_concurrency_group(
    workflow: tuple[str, dict[str, Any], str],
) -> None:
    _, document, _ = workflow
    assert document["concurrency"]["group"]
    assert isinstance(document["concurrency"]["cancel-in-progress"], bool)


def test_python_is_pinned(workflow: tuple[str, dict[str, Any], str]) -> None:
    _, document, _ = workflow
    setups = [s for s in _steps(document) if str(s.get("uses", "")).startswith("actions/setup-")]
    assert setups
    for step in setups:
        assert re.fullmatch(r"3\.\d+(\.\d+)?", step["with"]["python-version"])


# -- check.yml: the PR gate --------------------------------------------------------------------


def test_check_triggers() -> None:
    on = _load("check.yml")["on"]
    assert set(on) == {"pull_request", "pull_request_review", "merge_group"}
    assert on["pull_request"]["types"] == [
        "opened",
        "synchronize",
        "reopened",
        "edited",
        "ready_for_review",
    ]
    assert on["pull_request_review"]["types"] == ["submitted", "edited", "dismissed"]


def test_check_job_permissions_are_exactly_what_the_gate_needs() -> None:
    document = _load("check.yml")
    assert document["jobs"]["check"]["permissions"] == {
        "contents": "read",
        "statuses": "write",
        "pull-requests": "write",
        "issues": "read",
    }
    for job in document["jobs"].values():
        assert "write" not in {
            job["permissions"].get("contents"),
            job["permissions"].get("id-token"),
        }


def test_check_uses_no_secrets() -> None:
    assert not _uses_secrets("check.yml")


def test_check_has_base_commit_and_runs_the_gate() -> None:
    document = _load("check.yml")
    checkout = _step(document, "check", "Check out")
    assert checkout["with"].get("fetch-depth", 1) != 0  # history is fetched on demand
    gate = _step(document, "check", "Evaluate")
    assert gate["run"] == 'jitflow check --event "$GITHUB_EVENT_PATH" --format github'
    assert gate["env"] == {
        "GITHUB_TOKEN": "${{ github.token }}",
        "JITFLOW_BOT_LOGIN": "github-actions[bot]",
    }
    install = _step(document, "check", "Install")
    assert re.search(r"pip install .*\s\.$", install["run"].strip())


def test_check_concurrency_is_per_pull_request() -> None:
    concurrency = _load("check.yml")["concurrency"]
    assert "github.event.pull_request.number" in concurrency["group"]
    assert concurrency["cancel-in-progress"] is True


def test_check_has_one_job_that_also_gates_policy_changes() -> None:
    """Policy tests, impact and code-owner approval run inside `jitflow check --event`
    (usecases/policy_gate.py), so a policy PR gets the two required statuses."""
    assert list(_load("check.yml")["jobs"]) == ["check"]


def _git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(repo),
    }
    result = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, check=True)
    return result.stdout.decode().strip()


# -- sync.yml: the runner ----------------------------------------------------------------------


def test_sync_triggers() -> None:
    on = _load("sync.yml")["on"]
    assert set(on) == {"push", "schedule", "workflow_dispatch"}
    assert on["push"] == {"branches": ["main"], "paths": ["requests/**"]}
    assert on["schedule"] == [{"cron": "*/5 * * * *"}]
    revoke = on["workflow_dispatch"]["inputs"]["revoke"]
    assert revoke["type"] == "string"
    assert revoke["required"] is False


def test_sync_permissions_and_environment() -> None:
    document = _load("sync.yml")
    (job,) = document["jobs"].values()
    assert job["permissions"] == {
        "contents": "write",
        "id-token": "write",
        "pull-requests": "write",
        "issues": "read",
    }
    assert job["environment"] == "jitflow"
    checkout = next(
        s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/checkout@")
    )
    assert checkout["with"]["ref"] == "main"
    assert checkout["with"].get("fetch-depth", 1) != 0  # history is fetched on demand


def test_sync_step_takes_values_from_env_only() -> None:
    step = _step(_load("sync.yml"), "sync", "Sync")
    assert step["env"] == {
        "VAULT_ADDR": "${{ vars.VAULT_ADDR }}",
        "JITFLOW_VAULT_ROLE": "${{ vars.JITFLOW_VAULT_ROLE }}",
        "GITHUB_TOKEN": "${{ github.token }}",
        "JITFLOW_BOT_LOGIN": "github-actions[bot]",
        "REVOKE_ID": "${{ inputs.revoke }}",
    }


def _run_sync_script(tmp_path: Path, event: str, revoke: str) -> list[str]:
    """Run the workflow's own script with a stand-in `jitflow` that records its arguments."""
    step = _step(_load("sync.yml"), "sync", "Sync")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    recorded = tmp_path / "args"
    stand_in = bin_dir / "jitflow"
    stand_in.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" > {recorded}\n')
    stand_in.chmod(0o755)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_EVENT_NAME": event,
        "REVOKE_ID": revoke,
    }
    # The same shell GitHub uses for `shell: bash`.
    subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        env=env,
        check=True,
    )
    return recorded.read_text().splitlines()


def test_every_sync_run_on_main_issues_what_is_due(tmp_path: Path) -> None:
    assert _run_sync_script(tmp_path, "push", "") == ["sync"]
    assert _run_sync_script(tmp_path, "schedule", "") == ["sync"]
    assert _run_sync_script(tmp_path, "workflow_dispatch", "") == ["sync"]


def test_sync_revoke_input_is_passed_as_one_argument(tmp_path: Path) -> None:
    hostile = "req-1; echo pwned $(id)"
    assert _run_sync_script(tmp_path, "workflow_dispatch", hostile) == [
        "sync",
        "--no-issue",
        "--revoke",
        hostile,
    ]


# -- tests.yml ---------------------------------------------------------------------------------


def test_tests_workflow_is_read_only_and_runs_ci() -> None:
    document = _load("tests.yml")
    assert set(document["on"]) == {"push", "pull_request"}
    (job,) = document["jobs"].values()
    assert job["permissions"] == {"contents": "read"}
    assert any(step.get("run") == "bash .ci/run" for step in job["steps"])
    assert not _uses_secrets("tests.yml")


# -- .ci/lint-workflows ------------------------------------------------------------------------


def test_lint_script_is_strict_bash_and_executable() -> None:
    text = LINT_SCRIPT.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in text
    assert LINT_SCRIPT.stat().st_mode & stat.S_IXUSR
    assert "zizmor --offline" in text


def _lint_copy(tmp_path: Path, edit: str, replacement: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / ".ci").mkdir()
    shutil.copy2(LINT_SCRIPT, tmp_path / ".ci" / "lint-workflows")
    shutil.copytree(WORKFLOWS, tmp_path / ".github" / "workflows")
    check = tmp_path / ".github" / "workflows" / "check.yml"
    text = check.read_text()
    assert edit in text
    check.write_text(text.replace(edit, replacement, 1))
    return subprocess.run(
        [str(tmp_path / ".ci" / "lint-workflows")], capture_output=True, text=True, check=False
    )


@pytest.mark.slow
def test_lint_fails_on_a_dangerous_trigger(tmp_path: Path) -> None:
    result = _lint_copy(tmp_path, "  merge_group:\n", "  merge_group:\n  pull_request_target:\n")
    assert result.returncode == 1
    assert "dangerous-triggers" in result.stderr


@pytest.mark.slow
def test_lint_fails_on_an_undefined_expression(tmp_path: Path) -> None:
    result = _lint_copy(tmp_path, "${{ github.token }}", "${{ steps.nope.outputs.token }}")
    assert result.returncode == 1
    assert "actionlint found problems" in result.stderr
    assert 'property "nope" is not defined' in result.stderr


@pytest.mark.parametrize(
    "path",
    [
        WORKFLOWS / "check.yml",
        WORKFLOWS / "sync.yml",
        ROOT / "jitflow" / "templates" / "workflows" / "check.yml",
        ROOT / "jitflow" / "templates" / "workflows" / "sync.yml",
    ],
    ids=["check", "sync", "template-check", "template-sync"],
)
def test_checkouts_leave_the_archive_out(path: Path) -> None:
    """One file per grant ever issued is neither fetched, written out nor listed in the index:
    a sparse cone without requests/archive/ (blob:none), the sparse index turned on before."""
    (job,) = yaml.safe_load(path.read_text())["jobs"].values()
    steps = job["steps"]
    at = next(i for i, s in enumerate(steps) if "actions/checkout@" in str(s.get("uses", "")))
    assert any(s.get("run") == "git config --global index.sparse true" for s in steps[:at])
    cone = steps[at]["with"]["sparse-checkout"].split()
    assert "requests/active" in cone
    assert not [c for c in cone if c.strip("/") in ("", ".", "requests", "requests/archive")]
