"""`jitflow check` exit codes and output formats (json, github annotations, step summary)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.scenarios import GOOD_REQUEST, NOW, check, run_cli
from tests.gitrepo import GitRepo

PENDING_REQUEST = (
    "policy: k8s-prod-admins\nrequester: dave\nduration: 1h\nreason: rotate the ingress certs\n"
)
BAD_DURATION = GOOD_REQUEST.replace("duration: 2h", "duration: 90x")


@pytest.fixture(scope="module")
def branches(repo: GitRepo) -> dict[str, str]:
    return {
        "valid": repo.branch(
            "out-valid", {"requests/dave-out.yaml": PENDING_REQUEST}, author="dave"
        ),
        "denied": repo.branch("out-denied", {"requests/alice-out.yaml": BAD_DURATION}),
    }


def test_exit_0_for_a_valid_request_with_approvals_pending(repo: GitRepo, branches: dict) -> None:
    run = check(repo, "out-valid", "dave", output_format="text")
    assert run.exit_code == 0
    assert "VALID, APPROVALS PENDING" in run.stdout
    assert "1 more from: erin" in run.stdout


def test_exit_1_for_a_denied_request(repo: GitRepo, branches: dict) -> None:
    run = check(repo, "out-denied", output_format="text")
    assert run.exit_code == 1
    assert "DENIED" in run.stdout
    assert "[duration-invalid]" in run.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--base", "no-such-branch"], "no-such-branch"),
        (["--base", "main", "--head", "no-such-head"], "no-such-head"),
        ([], "--base"),
        (["--base", "main", "--now", "yesterday"], "yesterday"),
        (["--base", "main", "--now", "2026-11-22T10:00:00"], "zone"),
    ],
    ids=["bad-base", "bad-head", "missing-base", "bad-now", "now-without-zone"],
)
def test_exit_2_for_usage_mistakes_without_traceback(
    repo: GitRepo, branches: dict, args: list[str], expected: str
) -> None:
    full = ["check", "--repo", str(repo.path), "--head", "out-valid", "--author", "dave"]
    if "--now" not in args:
        full += ["--now", NOW]
    result = run_cli(full + args)
    assert result.exit_code == 2, result.output
    assert expected in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_exit_codes_of_the_real_process(repo: GitRepo, branches: dict) -> None:
    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jitflow", "check", "--now", NOW, "--author", "dave", *extra],
            cwd=repo.path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    valid = run("--base", "main", "--head", "out-valid", "--format", "json")
    assert valid.returncode == 0, valid.stderr
    usage = run("--base", "does-not-exist", "--head", "out-valid")
    assert usage.returncode == 2
    assert usage.stderr.startswith("jitflow: error: git reference 'does-not-exist'")
    assert "Traceback" not in usage.stderr


def test_json_shape(repo: GitRepo, branches: dict) -> None:
    data = check(repo, "out-denied").json
    assert {"allowed", "findings", "requests"} <= set(data)
    assert data["allowed"] is False
    (item,) = data["requests"]
    assert {"path", "id", "policy", "allowed", "findings", "approvals_required"} <= set(item)
    assert item["path"] == "requests/alice-out.yaml"
    assert item["id"] == "alice-out"
    assert item["policy"] == "staging-readonly"
    assert item["allowed"] is False
    (finding,) = item["findings"]
    assert finding == {
        "code": "duration-invalid",
        "message": finding["message"],
        "severity": "error",
        "path": "requests/alice-out.yaml",
        "line": 3,
        "column": 11,
    }
    assert isinstance(item["approvals_required"], list)


def test_github_annotations_and_step_summary(repo: GitRepo, branches: dict, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    run = check(
        repo, "out-denied", output_format="github", env={"GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert run.exit_code == 1
    annotations = [line for line in run.stdout.splitlines() if line.startswith("::error")]
    assert len(annotations) == 1
    assert annotations[0].startswith(
        "::error file=requests/alice-out.yaml,line=3,col=11,title=jitflow duration-invalid::"
    )
    written = summary.read_text(encoding="utf-8")
    assert written.startswith("earlier step\n## jitflow check: DENIED")
    assert "duration-invalid" in written


def test_github_format_without_summary_env_writes_no_file(
    repo: GitRepo, branches: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.chdir(tmp_path)
    run = check(repo, "out-valid", "dave", output_format="github")
    assert run.exit_code == 0
    assert not [line for line in run.stdout.splitlines() if line.startswith("::error")]
    assert list(tmp_path.iterdir()) == []


def test_the_github_renderer_writes_no_step_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jitflow.core.changes import classify
    from jitflow.core.check_report import CheckReport
    from jitflow.core.evaluation import Decision
    from jitflow.core.model import Finding
    from jitflow.reporters.check import render_github

    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    denied = Decision((Finding("no-request", "nothing under requests/"),), ())
    rendered = render_github(CheckReport(denied, classify([]), "b" * 40, "h" * 40, "alice"))
    assert rendered.startswith("::error title=jitflow no-request::nothing under requests/")
    assert not summary.exists()
