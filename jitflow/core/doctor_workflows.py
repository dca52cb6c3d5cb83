"""`jitflow doctor`: what the jitflow jobs of the workflows must be allowed to do.

`repository.workflow.*` compares each workflow with the template byte for byte; this says, in
plain words, what a job that differs (an older `init`, a customised workflow) is missing:
each permission the job's token needs, and a check run on `pull_request_target`. A missing
permission makes GitHub refuse that call, so the gate and sync fail closed (never open), but
nothing works until the workflow is fixed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jitflow.core.doctor import Check, fail, ok, skip

LEVELS = {"none": 0, "read": 1, "write": 2}
WHY: Mapping[str, str] = {
    "contents": "check out and read the repository",
    "statuses": "set the jitflow/policy and jitflow/approval statuses",
    "pull-requests": "write the PR comment (the verdict, or the encrypted credentials)",
    "issues": "read the PR's issue events: an approval given before a base change counts "
    "for nothing, and without them the gate and sync fail closed",
    "id-token": "log in to Vault with the job's OIDC token",
}
NEEDS: Mapping[str, Mapping[str, str]] = {
    "check": {"contents": "read", "statuses": "write", "pull-requests": "write", "issues": "read"},
    "sync": {"contents": "read", "id-token": "write", "pull-requests": "write", "issues": "read"},
}


def workflow_permissions(path: str, content: bytes | None) -> Check:
    """`check_workflow_permissions` of the workflow file at `path` (`check.yml`, `sync.yml`)."""
    from jitflow.core.yamlio import YamlError, load_yaml

    command = path.rsplit("/", 1)[-1].removesuffix(".yml")
    try:
        workflow = load_yaml(content, path).data if content is not None else None
    except YamlError:
        workflow = None  # repository.workflow.<command> shows how it differs
    return check_workflow_permissions(path, command, workflow)


def check_workflow_permissions(path: str, command: str, workflow: Any) -> Check:
    """The job of `workflow` (parsed YAML, None when missing) that runs `jitflow <command>`
    has every permission it needs; the check workflow never runs on `pull_request_target`."""
    check_id = f"repository.workflow-permissions.{command}"
    fix = f"give the job what `jitflow init` writes in {path} (`permissions:` of its job)"
    if workflow is None:
        return skip(check_id, f"{path} is missing or unreadable (repository.workflow.{command})")
    if not isinstance(workflow, dict):
        return fail(check_id, f"{path} is not a workflow (a mapping)", fix)
    if command == "check" and "pull_request_target" in _triggers(workflow):
        return fail(
            check_id,
            f"{path} runs on pull_request_target: the job gets a write token (and the "
            "repository's secrets) for fork PRs, whose code it then runs",
            "run the gate on `pull_request` (and `pull_request_review`), as `jitflow init` does",
        )
    job_id, job = _job_running(workflow, command)
    if job is None:
        return fail(check_id, f"no job of {path} runs `jitflow {command}`", fix)
    granted = _permissions(job, workflow)
    if granted is None:
        return fail(
            check_id,
            f"job {job_id} of {path} sets no permissions: its token gets the repository's "
            "default, which may be read-only (or write to everything)",
            fix,
        )
    missing = [
        f"{scope}: {level} ({WHY[scope]})"
        for scope, level in NEEDS[command].items()
        if LEVELS.get(granted.get(scope, "none"), 0) < LEVELS[level]
    ]
    if missing:
        return fail(
            check_id,
            f"job {job_id} of {path} lacks {', '.join(m.split(' (')[0] for m in missing)}",
            fix,
            missing,
        )
    return ok(check_id, f"job {job_id} of {path} has what `jitflow {command}` needs")


def _triggers(workflow: Mapping[str, Any]) -> set[str]:
    on = workflow.get("on")
    if isinstance(on, str):
        return {on}
    return {str(t) for t in on} if isinstance(on, list | dict) else set()  # names or keys


def _job_running(workflow: Mapping[str, Any], command: str) -> tuple[str, Any]:
    """The first job with a step running `jitflow <command>` (the action or the CLI)."""
    jobs = workflow.get("jobs")
    for job_id, job in jobs.items() if isinstance(jobs, dict) else ():
        steps = job.get("steps") if isinstance(job, dict) else None
        for step in steps if isinstance(steps, list) else ():
            if not isinstance(step, dict):
                continue
            given = step.get("with")
            action = isinstance(given, dict) and given.get("command") == command
            run = f"jitflow {command}" in str(step.get("run") or "")
            if (action and "uses" in step) or run:
                return str(job_id), job
    return "", None


def _permissions(job: Mapping[str, Any], workflow: Mapping[str, Any]) -> dict[str, str] | None:
    """The job token's permissions, as GitHub applies them: the job's `permissions:`, else the
    workflow's, else None (the repository's default)."""
    for source in (job, workflow):
        if "permissions" not in source:
            continue
        given = source["permissions"]
        if given in ("read-all", "write-all"):
            level = str(given).removesuffix("-all")
            return dict.fromkeys(WHY, level)
        if isinstance(given, dict):
            return {str(k): str(v) for k, v in given.items()}
        return {}
    return None
