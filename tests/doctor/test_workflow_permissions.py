"""doctor says what a jitflow job's token lacks, in the workflows an older `init` wrote or an
admin customised (no server: the rules over the files)."""

from __future__ import annotations

import pytest

from jitflow.core.doctor import CheckStatus
from jitflow.core.doctor_workflows import workflow_permissions
from jitflow.usecases.init import workflow_templates

ACTION = "acme/jitflow@" + "a1" * 20
CHECK, SYNC = ".github/workflows/check.yml", ".github/workflows/sync.yml"


def _template(path: str) -> bytes:
    return workflow_templates(ACTION)[path]


@pytest.mark.parametrize("path", [CHECK, SYNC])
def test_the_templates_have_what_their_jobs_need(path: str) -> None:
    assert workflow_permissions(path, _template(path)).status is CheckStatus.OK


@pytest.mark.parametrize("path", [CHECK, SYNC])
def test_an_older_init_without_issues_read_is_named(path: str) -> None:
    old = _template(path).replace(b"      issues: read", b"      # (older init)")
    found = workflow_permissions(path, old)
    assert found.status is CheckStatus.FAIL
    assert found.message.endswith("lacks issues: read")
    assert "base change" in found.details[0]


def test_job_permissions_replace_the_workflows_and_read_does_not_write() -> None:
    narrowed = _template(SYNC).replace(b"id-token: write", b"id-token: read")
    found = workflow_permissions(SYNC, narrowed)
    assert found.status is CheckStatus.FAIL and "id-token: write" in found.message
    # the workflow's `permissions: {}` gives nothing; the job's list is all the job has
    unread = _template(CHECK).replace(b"      contents: read", b"      # (no contents)")
    assert workflow_permissions(CHECK, unread).message.endswith("lacks contents: read")


def test_write_all_satisfies_and_no_permissions_at_all_is_named() -> None:
    text = _template(CHECK).decode()
    start = text.index("    permissions:\n      contents")
    end = text.index("    steps:")
    write_all = text[:start] + "    permissions: write-all\n" + text[end:]
    assert workflow_permissions(CHECK, write_all.encode()).status is CheckStatus.OK
    default = (text[:start] + text[end:]).replace("permissions: {}\n", "")
    found = workflow_permissions(CHECK, default.encode())
    assert found.status is CheckStatus.FAIL and "repository's default" in found.message


def test_a_gate_on_pull_request_target_fails() -> None:
    target = _template(CHECK).replace(b"  pull_request:\n", b"  pull_request_target:\n")
    found = workflow_permissions(CHECK, target)
    assert found.status is CheckStatus.FAIL and "pull_request_target" in found.message


def test_a_missing_workflow_is_left_to_the_template_check() -> None:
    assert workflow_permissions(SYNC, None).status is CheckStatus.SKIP
