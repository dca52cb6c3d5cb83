"""Run a workflow's jobs the way a GitHub-hosted runner would, against local stand-ins.

Static checks prove the workflows parse; this proves their `run:` steps call the CLI right.
For each job the harness evaluates `if:`, builds the environment Actions gives (`GITHUB_*`,
the event payload file, `GITHUB_OUTPUT` / `GITHUB_ENV` / `GITHUB_PATH` / step summary files,
`RUNNER_TEMP`, the OIDC request pair for `id-token: write`), resolves `${{ }}` expressions,
and runs each `run:` script with GitHub's shell command line. Of `uses:` steps,
`actions/checkout` is done here (a real clone of the stand-in's bare repository),
`actions/setup-python` is skipped (the current interpreter is on PATH) and composite actions
run step by step. Whatever it does not emulate raises `HarnessError` instead of a guess.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from jitflow.adapters.git import Git
from tests.conftest_servers import github_claims
from tests.workflows.expressions import (
    HarnessError,
    condition_holds,
    interpolate,
    parse_file_command,
    render,
)
from tests.workflows.github_side import (
    OidcServer,
    Platform,
    Trigger,
    check_triggered,
    github_contexts,
    load_workflow,
    trigger,
)

__all__ = [
    "HarnessError",
    "JobResult",
    "Platform",
    "StepFailed",
    "StepResult",
    "StepStatus",
    "Trigger",
    "WorkflowResult",
    "run_workflow",
    "trigger",
]

# "Install jitflow" steps are machine setup: jitflow is installed (editable) in the running
# interpreter already, so they are skipped, but only when they are exactly one of these.
_PIP = "python -m pip install --disable-pip-version-check --no-input --quiet "
INSTALL_COMMAND = re.compile(re.escape(_PIP) + r'(\.|"\$GITHUB_ACTION_PATH")')
SETUP_ACTIONS = ("actions/setup-python",)
RUNNER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_SHELLS: Mapping[str | None, list[str]] = {
    None: ["bash", "-e", "{0}"],
    "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail", "{0}"],
    "sh": ["sh", "-e", "{0}"],
}
_FILE_COMMANDS = ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")
_STEP_KEYS = {"name", "id", "if", "uses", "with", "run", "env", "shell", "working-directory"}
_JOB_KEYS = {"name", "runs-on", "timeout-minutes", "permissions", "steps", "if", "environment"}
_JOB_KEYS |= {"env", "defaults", "concurrency"}
_STEP_TIMEOUT = 180
STEP_TRACE = Path(__file__).parent / "step_trace"  # its sitecustomize records HTTP answers
_ids = itertools.count(1)


class StepFailed(HarnessError):
    """A `run:` step exited non-zero; carries what it printed (secrets masked)."""


class StepStatus(Enum):
    RAN = "ran"
    SKIPPED = "skipped"  # its `if:` was false
    SETUP = "setup"  # machine setup, emulated or skipped


@dataclass(frozen=True)
class StepResult:
    name: str
    status: StepStatus
    command: str
    stdout: str = ""
    stderr: str = ""
    outputs: Mapping[str, str] = field(default_factory=dict)
    summary: str = ""


@dataclass(frozen=True)
class JobResult:
    job_id: str
    ran: bool
    steps: tuple[StepResult, ...] = ()
    oidc_claims: tuple[Mapping[str, Any], ...] = ()

    def step(self, name_start: str) -> StepResult:
        found = [s for s in self.steps if s.name.startswith(name_start)]
        if len(found) != 1:
            raise AssertionError(f"{len(found)} steps named {name_start!r} in job {self.job_id}")
        return found[0]

    @property
    def summary(self) -> str:
        return "".join(s.summary for s in self.steps)


@dataclass(frozen=True)
class WorkflowResult:
    jobs: Mapping[str, JobResult]
    concurrency_group: str


def run_workflow(
    path: Path,
    platform: Platform,
    event: Trigger,
    scratch: Path,
    inputs: Mapping[str, str] | None = None,
) -> WorkflowResult:
    """Run every job of the workflow at `path` for `event`; raise at the first failed step."""
    workflow = load_workflow(path)
    check_triggered(workflow, event)
    declared: Mapping[str, Any] = {}
    if event.event_name == "workflow_dispatch":
        declared = (workflow["on"]["workflow_dispatch"] or {}).get("inputs") or {}
    if set(inputs or {}) - set(declared):
        raise HarnessError(f"inputs the workflow does not declare: {sorted(inputs or {})}")
    given = {k: str((inputs or {}).get(k, spec.get("default", ""))) for k, spec in declared.items()}
    contexts = github_contexts(platform, event, path, str(workflow.get("name", path.name)), given)
    group = render(interpolate(str((workflow.get("concurrency") or {}).get("group")), contexts))
    jobs = {}
    for job_id, job in workflow["jobs"].items():
        if set(job) - _JOB_KEYS:
            raise HarnessError(f"job {job_id}: keys not emulated: {sorted(set(job) - _JOB_KEYS)}")
        jobs[job_id] = _Job(platform, event, workflow, job_id, scratch, contexts).run()
    return WorkflowResult(jobs, group)


class _Job:
    """One job on a fresh runner: its own home, temp directory and workspace."""

    def __init__(
        self,
        platform: Platform,
        event: Trigger,
        workflow: Mapping[str, Any],
        job_id: str,
        scratch: Path,
        contexts: Mapping[str, Any],
    ) -> None:
        self.platform, self.event, self.job_id = platform, event, job_id
        self.job: Mapping[str, Any] = workflow["jobs"][job_id]
        root = scratch / f"run-{next(_ids)}-{job_id}"
        self.home, self.temp = root / "home", root / "temp"
        name = platform.repository.split("/")[1]
        self.workspace = root / "work" / name / name
        for directory in (self.home, self.temp, self.workspace):
            directory.mkdir(parents=True)
        self.ctx = dict(contexts)
        self.ctx["github"] = {**contexts["github"], "job": job_id, "workspace": str(self.workspace)}
        self.defaults = dict((workflow.get("defaults") or {}).get("run") or {})
        self.defaults.update((self.job.get("defaults") or {}).get("run") or {})
        self.env: dict[str, str] = {}
        for scope in (workflow.get("env") or {}, self.job.get("env") or {}):
            self.env.update({k: render(interpolate(v, self._ctx())) for k, v in scope.items()})
        self.paths: list[str] = []
        self.secrets = {"the job token": platform.token}
        self.claims: list[Mapping[str, Any]] = []

    def _ctx(self, **extra: Any) -> dict[str, Any]:
        return {**self.ctx, "env": dict(self.env), **extra}

    def run(self) -> JobResult:
        if "if" in self.job and not condition_holds(self.job["if"], self._ctx()):
            return JobResult(self.job_id, ran=False)
        event_path = self.temp.parent / "event.json"
        event_path.write_text(json.dumps(self.event.payload), encoding="utf-8")
        self.runner_env = self._runner_env(event_path)
        with self._oidc() as oidc_env:
            self.runner_env.update(oidc_env)
            steps = self._steps(self.job["steps"], {}, action_path=None)
        return JobResult(self.job_id, True, tuple(steps), tuple(self.claims))

    def _runner_env(self, event_path: Path) -> dict[str, str]:
        """What a GitHub-hosted runner exports (never GITHUB_TOKEN: that takes an `env:`)."""
        tools = self.temp.parent / "tools"
        tools.mkdir()
        (tools / "python").symlink_to(sys.executable)  # what actions/setup-python provides
        path = os.pathsep.join([str(tools), str(Path(sys.executable).parent), RUNNER_PATH])
        if shutil.which("jitflow", path=path) is None:
            raise HarnessError("the jitflow command is not installed next to this interpreter")
        env = {
            "PATH": path,
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "RUNNER_OS": "Linux",
            "RUNNER_ARCH": "X64",
            "RUNNER_TEMP": str(self.temp),
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_JOB": self.job_id,
        }
        if os.environ.get("PYTHONPATH"):  # which jitflow is "installed": the one under test
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        env.update(self.platform.machine_env)
        if os.environ.get("PYTHONPATH"):  # a worktree's checkout over the editable install
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        for key, value in self.ctx["github"].items():
            if isinstance(value, str) and key not in ("token", "workspace", "job"):
                env[f"GITHUB_{key.upper()}"] = value
        return env

    @contextmanager
    def _oidc(self) -> Iterator[dict[str, str]]:
        permissions = self.job.get("permissions")
        if not isinstance(permissions, dict) or permissions.get("id-token") != "write":
            yield {}
            return
        if self.platform.sign_id_token is None:
            raise HarnessError(f"job {self.job_id} wants an OIDC token but no signer is set")
        bearer = secrets.token_urlsafe(24)
        self.secrets["the OIDC request token"] = bearer
        with OidcServer(bearer, self._id_token) as url:
            yield {
                "ACTIONS_ID_TOKEN_REQUEST_URL": f"{url}/idtoken?api-version=2.0",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": bearer,
            }

    def _id_token(self, audience: str) -> str:
        """A JWT with the claims GitHub puts in this job's OIDC token."""
        github, environment = self.ctx["github"], self.job.get("environment")
        name = environment if isinstance(environment, str) else (environment or {}).get("name")
        repository = self.platform.repository
        where = f"environment:{name}" if name else f"ref:{github['ref']}"
        claims = github_claims(
            audience,
            repository,
            sub=f"repo:{repository}:{where}",
            environment=name,
            **{k: github[k] for k in ("ref", "sha", "event_name", "workflow", "actor", "run_id")},
            workflow_ref=github["workflow_ref"],
            job_workflow_ref=github["workflow_ref"],
        )
        self.claims.append(claims)
        assert self.platform.sign_id_token is not None
        token = self.platform.sign_id_token(claims)
        self.secrets[f"OIDC token {len(self.claims)}"] = token
        return token

    def _steps(
        self, steps: list[Mapping[str, Any]], contexts: dict[str, Any], action_path: Path | None
    ) -> list[StepResult]:
        results = []
        for index, step in enumerate(steps):
            if set(step) - _STEP_KEYS:
                raise HarnessError(f"step keys not emulated: {sorted(set(step) - _STEP_KEYS)}")
            name = str(step.get("name") or step.get("uses") or step.get("run"))
            ctx = self._ctx(steps=contexts)
            if "if" in step and not condition_holds(step["if"], ctx):
                result = StepResult(
                    name, StepStatus.SKIPPED, str(step.get("run", step.get("uses")))
                )
            elif "uses" in step:
                result = self._uses(step, name, ctx)
            else:
                result = self._run(step, name, ctx, action_path)
            results.append(result)
            outcome = "skipped" if result.status is StepStatus.SKIPPED else "success"
            contexts[str(step.get("id", f"__{index}"))] = {
                "outputs": dict(result.outputs),
                "outcome": outcome,
                "conclusion": outcome,
            }
        return results

    def _uses(self, step: Mapping[str, Any], name: str, ctx: Mapping[str, Any]) -> StepResult:
        uses = str(step["uses"])
        action = uses.partition("@")[0]
        given = {k: interpolate(v, ctx) for k, v in (step.get("with") or {}).items()}
        if action == "actions/checkout":
            self._checkout(given)
            return StepResult(name, StepStatus.SETUP, uses)
        if action in SETUP_ACTIONS:
            return StepResult(name, StepStatus.SETUP, uses)
        if action == "actions/create-github-app-token":
            return self._app_token(name, uses, given)
        if action in self.platform.actions:
            return self._composite(self.platform.actions[action], step, name, given, ctx)
        raise HarnessError(f"no emulation for the action {uses}")

    def _app_token(self, name: str, uses: str, given: Mapping[str, Any]) -> StepResult:
        """What actions/create-github-app-token does: an installation token of the App whose
        id and private key it is given, narrowed to the `permission-*` inputs."""
        values = {k: render(v) for k, v in given.items()}
        apps = [a for a in (self.platform.app, *self.platform.more_apps) if a is not None]
        app = next((a for a in apps if a.app_id == values.get("app-id")), None)
        if app is None:
            raise StepFailed(f"step {name!r}: no GitHub App with id {values.get('app-id')!r}")
        if values.get("private-key") != app.private_key:
            raise StepFailed(f"step {name!r}: the private key is not the App's (401)")
        for key, level in values.items():
            if key.startswith("permission-"):
                granted = app.permissions.get(key.removeprefix("permission-"))
                if granted not in (level, "write"):
                    raise StepFailed(f"step {name!r}: the App has no {key} {level} (422)")
        self.secrets[f"the token of the GitHub App {app.slug}"] = app.token
        outputs = {"token": app.token, "app-slug": app.slug, "installation-id": "1"}
        return StepResult(name, StepStatus.SETUP, uses, outputs=outputs)

    def _checkout(self, given: Mapping[str, Any]) -> None:
        """What actions/checkout does, from the stand-in's bare repository."""
        emulated = {"ref", "fetch-depth", "persist-credentials", "filter", "sparse-checkout"}
        if set(given) - emulated:
            raise HarnessError(f"checkout inputs not emulated: {sorted(given)}")
        depth = int(given.get("fetch-depth", 1))
        # As actions/checkout v4: `sparse-checkout` (cone mode) fetches with blob:none unless a
        # `filter` is given; git records the filter and fetches missing blobs on demand.
        sparse = str(given.get("sparse-checkout") or "").split()
        wanted = str(given.get("filter") or ("blob:none" if sparse else ""))
        partial = [f"--filter={wanted}"] if wanted else []
        ref, sha = self.event.ref, self.event.sha
        if given.get("ref"):
            ref = str(given["ref"])
            ref = ref if ref.startswith("refs/") else f"refs/heads/{ref}"
            sha = Git(self.platform.bare_repo).rev_parse(ref)
        git = Git(self.workspace, env={"HOME": str(self.home)})
        git.run("init", "--quiet")
        origin = self.platform.clone_url or self.platform.bare_repo.resolve().as_uri()
        git.run("remote", "add", "origin", origin)
        shallow = [f"--depth={depth}"] if depth > 0 else []
        if depth == 0:
            everything = ["+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"]
            git.run("fetch", "--quiet", "--prune", "--tags", *partial, "origin", *everything)
        branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else ""
        local = f"refs/remotes/origin/{branch}" if branch else "refs/remotes/" + ref[5:]
        git.run("fetch", "--quiet", "--no-tags", *partial, *shallow, "origin", f"+{sha}:{local}")
        if sparse:
            git.run("sparse-checkout", "set", "--cone", *sparse)
        if branch:
            git.run("checkout", "--quiet", "--force", "-B", branch, local)
        else:
            git.run("checkout", "--quiet", "--force", local)
        if given.get("persist-credentials", True) is not False:
            basic = base64.b64encode(f"x-access-token:{self.platform.token}".encode()).decode()
            git.run("config", "--local", "http.extraheader", f"AUTHORIZATION: basic {basic}")

    def _composite(
        self,
        directory: Path,
        step: Mapping[str, Any],
        name: str,
        given: Mapping[str, Any],
        ctx: Mapping[str, Any],
    ) -> StepResult:
        action = load_workflow(directory / "action.yml")
        if action["runs"]["using"] != "composite":
            raise HarnessError(f"{directory}/action.yml is not a composite action")
        declared = action.get("inputs") or {}
        if set(given) - set(declared):
            raise HarnessError(f"inputs the action does not declare: {sorted(given)}")
        inputs = {}
        for key, spec in declared.items():
            if key not in given and spec.get("required"):
                raise HarnessError(f"the action needs the input {key!r}")
            value = given[key] if key in given else interpolate(spec.get("default", ""), ctx)
            inputs[key] = render(value)
        saved_ctx, saved_env = self.ctx, self.env
        github = {**self.ctx["github"], "action_path": str(directory)}
        self.ctx = {**self.ctx, "inputs": inputs, "github": github}
        self.env = {
            **self.env,
            **{k: render(interpolate(v, ctx)) for k, v in step.get("env", {}).items()},
        }
        try:
            inner = self._steps(action["runs"]["steps"], {}, action_path=directory)
        finally:
            self.ctx, self.env = saved_ctx, saved_env
        return StepResult(
            name,
            StepStatus.RAN,
            str(step["uses"]),
            "".join(s.stdout for s in inner),
            "".join(s.stderr for s in inner),
            summary="".join(s.summary for s in inner),
        )

    def _run(
        self, step: Mapping[str, Any], name: str, ctx: Mapping[str, Any], action_path: Path | None
    ) -> StepResult:
        script = str(step["run"])
        if "pip install" in script:
            if not INSTALL_COMMAND.fullmatch(script.strip()):
                raise HarnessError(f"step {name!r} installs something unexpected: {script!r}")
            # Machine setup: jitflow is installed (editable) in the running interpreter.
            return StepResult(name, StepStatus.SETUP, script)
        if action_path is not None and "shell" not in step:
            raise HarnessError(f"composite step {name!r} has no shell (GitHub requires one)")
        shell = step.get("shell", self.defaults.get("shell"))
        if shell not in _SHELLS:
            raise HarnessError(f"step {name!r}: shell {shell!r} is not emulated")
        files = {key: self.temp / f"{key.lower()}-{next(_ids)}" for key in _FILE_COMMANDS}
        for file in files.values():
            file.write_text("")
        script_file = self.temp / f"step-{next(_ids)}.sh"
        script_file.write_text(script, encoding="utf-8")
        env = dict(self.runner_env)
        env["PATH"] = os.pathsep.join([*reversed(self.paths), env["PATH"]])
        env.update(self.env)
        env.update({k: render(interpolate(v, ctx)) for k, v in (step.get("env") or {}).items()})
        env.update({key: str(file) for key, file in files.items()})
        if action_path is not None:
            env["GITHUB_ACTION_PATH"] = str(action_path)
        trace = self.temp / f"http-trace-{next(_ids)}"  # who answered the step (on failure)
        env["JITFLOW_STEP_TRACE"] = str(trace)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(STEP_TRACE), env.get("PYTHONPATH")]))
        directory = step.get("working-directory", self.defaults.get("working-directory", "."))
        argv = [str(script_file) if arg == "{0}" else arg for arg in _SHELLS[shell]]
        done = subprocess.run(
            argv,
            cwd=self.workspace / render(interpolate(directory, ctx)),
            env=env,
            capture_output=True,
            text=True,
            timeout=_STEP_TIMEOUT,
            check=False,
        )
        summary = files["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8")
        stdout, stderr = self._masked(name, done.stdout), self._masked(name, done.stderr)
        for label, value in self.secrets.items():
            if value and value in stdout + stderr + summary:
                raise HarnessError(f"step {name!r} of job {self.job_id} printed {label}")
        if done.returncode != 0:
            answers = trace.read_text(encoding="utf-8") if trace.exists() else "none\n"
            raise StepFailed(
                f"step {name!r} of job {self.job_id} exited {done.returncode}\n"
                f"--- stdout\n{stdout}--- stderr\n{stderr}"
                f"--- HTTP answers the step got (client port -> server port):\n{answers}"
            )
        self.env.update(parse_file_command(files["GITHUB_ENV"].read_text(encoding="utf-8")))
        self.paths += files["GITHUB_PATH"].read_text(encoding="utf-8").split()
        outputs = parse_file_command(files["GITHUB_OUTPUT"].read_text(encoding="utf-8"))
        return StepResult(name, StepStatus.RAN, script, stdout, stderr, outputs, summary)

    def _masked(self, name: str, text: str) -> str:
        """Drop `::add-mask::` commands, as the runner does, and hold their values as secrets:
        a registered secret printed anywhere else fails the run (GitHub would only hide it)."""
        kept = []
        for line in text.splitlines(keepends=True):
            if line.startswith("::add-mask::"):
                value = line.removeprefix("::add-mask::").rstrip("\n")
                label = f"secret #{len(self.secrets)}, registered with ::add-mask:: by {name!r}"
                self.secrets[label] = value
            else:
                kept.append(line)
        return "".join(kept)
