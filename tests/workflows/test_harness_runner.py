"""The workflow harness itself: it emulates what it claims, and refuses what it does not."""

from __future__ import annotations

import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from jitflow.adapters.git import Git
from tests.standin_helpers import make_bare_repo
from tests.workflows.expressions import evaluate
from tests.workflows.harness import (
    HarnessError,
    Platform,
    StepFailed,
    StepStatus,
    Trigger,
    run_workflow,
)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("github.event_name == 'pull_request'", True),
        ("github.EVENT_NAME == 'PULL_REQUEST'", True),  # names and strings ignore case
        ("github.event.pull_request.number || github.ref", 7),
        ("github.event.merge_group.head_sha || github.ref", "refs/pull/7/merge"),
        ("steps.changes.outputs.policies == 'true'", False),  # a missing output is null
        ("!(github.event_name != 'pull_request') && inputs.revoke == ''", True),
        ("github.event.pull_request.number == '7'", True),  # other kinds meet as numbers
        ("github.event['pull_request'].labels[0].name", "it's"),
    ],
)
def test_expressions_follow_github(expression: str, expected: Any) -> None:
    context = {
        "github": {
            "event_name": "pull_request",
            "ref": "refs/pull/7/merge",
            "event": {"pull_request": {"number": 7, "labels": [{"name": "it's"}]}},
        },
        "steps": {"changes": {"outputs": {}}},
        "inputs": {"revoke": ""},
    }
    assert evaluate(expression, context) == expected


@pytest.mark.parametrize(
    "expression",
    ["contains(github.ref, 'main')", "github.run_number > 1", "matrix.python", "github.*.x"],
)
def test_expressions_it_does_not_emulate_fail_loudly(expression: str) -> None:
    context = {"github": {"ref": "refs/heads/main", "run_number": "2"}}
    with pytest.raises(HarnessError):
        evaluate(expression, context)


SEMANTICS = """\
name: runner semantics
on: push
env: {GREETING: hello}
jobs:
  one:
    runs-on: ubuntu-latest
    permissions: {contents: read}
    env: {WHERE: "${{ github.repository }}@${{ github.ref_name }}"}
    defaults: {run: {working-directory: sub}}
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with: {persist-credentials: false}
      - id: first
        working-directory: .
        run: |
          mkdir sub
          echo "single=yes" >> "$GITHUB_OUTPUT"
          printf 'multi<<END\\nline 1\\nline 2\\nEND\\n' >> "$GITHUB_OUTPUT"
          echo "CARRIED=from the first step" >> "$GITHUB_ENV"
          echo "## summary" >> "$GITHUB_STEP_SUMMARY"
      - name: second
        if: steps.first.outputs.single == 'yes'
        env: {MULTI: "${{ steps.first.outputs.multi }}"}
        run: |
          echo "$GREETING|$WHERE|$CARRIED|$MULTI|$(basename "$PWD")"
          echo "shallow=$(git rev-parse --is-shallow-repository)"
          test -z "${GITHUB_TOKEN:-}" && test "$GITHUB_ACTIONS" = true
          false | true
      - name: never
        if: github.event_name != 'push'
        run: exit 1
"""


@pytest.fixture
def bare_platform(tmp_path: Path) -> tuple[Platform, Trigger]:
    bare = make_bare_repo(tmp_path, {"README.md": b"hello\n"})
    platform = Platform(
        bare, "acme/access", "http://127.0.0.1:9", "job-token-" + os.urandom(8).hex()
    )
    sha = Git(bare).rev_parse("main")
    return platform, Trigger(
        "push", {"ref": "refs/heads/main", "after": sha}, "refs/heads/main", sha
    )


def test_runner_semantics(bare_platform: tuple[Platform, Trigger], tmp_path: Path) -> None:
    workflow = tmp_path / "semantics.yml"
    workflow.write_text(SEMANTICS)
    job = run_workflow(workflow, *bare_platform, tmp_path / "runs").jobs["one"]

    first, second, never = job.steps[1:]
    assert first.outputs == {"single": "yes", "multi": "line 1\nline 2"}
    assert job.summary == "## summary\n"
    # Workflow, job, GITHUB_ENV and step env; default working directory; a shallow
    # checkout (fetch-depth 1); `bash -e` without pipefail lets `false | true` pass.
    assert second.stdout.splitlines() == [
        "hello|acme/access@main|from the first step|line 1",
        "line 2|sub",
        "shallow=true",
    ]
    assert never.status is StepStatus.SKIPPED


SPARSE = """\
name: sparse checkout
on: push
jobs:
  one:
    runs-on: ubuntu-latest
    permissions: {contents: read}
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
          sparse-checkout: |
            policies
            requests/active
      - name: look
        run: |
          echo "promisor=$(git config remote.origin.promisor)"
          find . -path ./.git -prune -o -type f -print | sort
          echo "missing=$(git rev-list --objects --missing=print HEAD | grep -c '^?')"
          git ls-tree --name-only -r HEAD requests/archive
"""


def _sparse_repo(tmp_path: Path) -> tuple[Platform, Trigger]:
    files = {
        "README.md": b"hello\n",
        "policies/p.yaml": b"name: p\n",
        "requests/pending.yaml": b"policy: p\n",
        "requests/active/now.yaml": b"policy: p\n",
        "requests/archive/2026/01/old.yaml": b"policy: p\nended: {}\n",
    }
    bare = make_bare_repo(tmp_path, files)
    Git(bare).run("config", "uploadpack.allowFilter", "true")  # as GitHub (and the stand-in)
    sha = Git(bare).rev_parse("main")
    platform = Platform(bare, "acme/access", "http://127.0.0.1:9", "job-token-x")
    return platform, Trigger(
        "push", {"ref": "refs/heads/main", "after": sha}, "refs/heads/main", sha
    )


def test_sparse_checkout_is_a_blobless_partial_clone(tmp_path: Path) -> None:
    """As actions/checkout: `sparse-checkout` fetches with blob:none and writes out the cone
    (its folders and the files of their parents); other blobs stay on the server."""
    workflow = tmp_path / "sparse.yml"
    workflow.write_text(SPARSE)
    job = run_workflow(workflow, *_sparse_repo(tmp_path), tmp_path / "runs").jobs["one"]

    assert job.step("look").stdout.splitlines() == [
        "promisor=true",
        "./README.md",
        "./policies/p.yaml",
        "./requests/active/now.yaml",
        "./requests/pending.yaml",
        "missing=1",  # the archived record's blob, never fetched
        "requests/archive/2026/01/old.yaml",  # though its tree is there
    ]


def test_a_global_sparse_index_keeps_the_archive_one_index_entry(tmp_path: Path) -> None:
    """The sync workflows set `index.sparse` before actions/checkout: the checkout honours
    the runner's global git config, so the folders outside the cone are one entry each."""
    steps = "    steps:\n"
    sparse_first = "      - run: git config --global index.sparse true\n"
    look = "          git ls-files --sparse\n"
    workflow = tmp_path / "sparse-index.yml"
    workflow.write_text(
        SPARSE.replace(steps, steps + sparse_first).replace(
            "          git ls-tree --name-only -r HEAD requests/archive\n", look
        )
    )
    job = run_workflow(workflow, *_sparse_repo(tmp_path), tmp_path / "runs").jobs["one"]

    assert job.step("look").stdout.splitlines()[-5:] == [
        "README.md",
        "policies/p.yaml",
        "requests/active/now.yaml",
        "requests/archive/",  # the whole archive: one sparse-directory entry
        "requests/pending.yaml",
    ]


@pytest.mark.parametrize(
    ("script", "error", "message"),
    [
        ("false | true", StepFailed, "exited 1"),  # shell: bash adds -o pipefail
        ('echo "$TOKEN"', HarnessError, "printed the job token"),
        ('echo "::add-mask::s3cret-$$"; echo "s3cret-$$"', HarnessError, "add-mask"),
        ("pip install requests", HarnessError, "installs something unexpected"),
    ],
)
def test_failures_and_leaks_stop_the_run(
    bare_platform: tuple[Platform, Trigger],
    tmp_path: Path,
    script: str,
    error: type[Exception],
    message: str,
) -> None:
    workflow = tmp_path / "fails.yml"
    step = {"shell": "bash", "env": {"TOKEN": "${{ github.token }}"}, "run": script}
    workflow.write_text(
        "on: push\njobs:\n  one:\n    runs-on: ubuntu-latest\n    permissions: {}\n"
        f"    steps:\n      - {json.dumps(step)}\n"
    )
    with pytest.raises(error, match=message) as raised:
        run_workflow(workflow, *bare_platform, tmp_path / "runs")
    assert bare_platform[0].token not in str(raised.value)


def test_a_failed_step_says_who_answered_its_http_requests(
    bare_platform: tuple[Platform, Trigger], tmp_path: Path
) -> None:
    """Each HTTP answer a step's Python got is listed with the server's ports and headers."""

    class Teapot(BaseHTTPRequestHandler):
        server_version = "Teapot/1.0"

        def do_GET(self) -> None:
            self.send_response(418)
            self.send_header("X-GitHub-Request-Id", "ABC123")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    with ThreadingHTTPServer(("127.0.0.1", 0), Teapot) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_address[1]
        ask = f"import http.client as h; c = h.HTTPConnection('127.0.0.1', {port}); c.request('GET', '/'); c.getresponse()"
        workflow = tmp_path / "asks.yml"
        step = {"shell": "bash", "run": f'python -c "{ask}"\nexit 3'}
        workflow.write_text(
            "on: push\njobs:\n  one:\n    runs-on: ubuntu-latest\n    permissions: {}\n"
            f"    steps:\n      - {json.dumps(step)}\n"
        )
        with pytest.raises(StepFailed, match="exited 3") as raised:
            run_workflow(workflow, *bare_platform, tmp_path / "runs")
        server.shutdown()
    answers = str(raised.value).split(
        "--- HTTP answers the step got (client port -> server port):\n"
    )
    assert re.fullmatch(
        rf"pid \d+ \d+ -> {port} 418 Server 'Teapot/1.0 Python/[\d.]+' id 'ABC123'\n", answers[1]
    )
