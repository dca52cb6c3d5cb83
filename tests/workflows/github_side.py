"""What GitHub itself does around a workflow run: the refs an event runs on, the trigger
filters, and the Actions runtime's OIDC token endpoint."""

from __future__ import annotations

import itertools
import json
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatch
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from jitflow.adapters.git import Git
from jitflow.core.yamlio import load_yaml
from tests.workflows.expressions import HarnessError

_run_ids = itertools.count(4001)


@dataclass(frozen=True)
class Platform:
    """What GitHub itself provides: the repository, its API, the job token, variables."""

    bare_repo: Path
    repository: str
    api_url: str
    token: str = field(repr=False)
    variables: Mapping[str, str] = field(default_factory=dict)
    sign_id_token: Callable[[Mapping[str, Any]], str] | None = field(default=None, repr=False)
    actions: Mapping[str, Path] = field(default_factory=dict)  # "owner/name" -> action dir
    machine_env: Mapping[str, str] = field(default_factory=dict)  # what the runner exports
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)  # `secrets.*`
    app: GitHubApp | None = field(default=None, repr=False)  # for create-github-app-token
    more_apps: tuple[GitHubApp, ...] = field(default=(), repr=False)  # other installed Apps
    clone_url: str | None = None  # where actions/checkout fetches (default: the bare repo)


@dataclass(frozen=True)
class GitHubApp:
    """A GitHub App installed on the repository: what create-github-app-token needs and
    mints (the private key stands for the PEM; GitHub checks a JWT signed with it)."""

    app_id: str
    slug: str
    private_key: str = field(repr=False)
    token: str = field(repr=False)
    permissions: Mapping[str, str] = field(default_factory=dict)  # e.g. {"contents": "write"}


@dataclass(frozen=True)
class Trigger:
    """One event: its name, payload, and the ref and commit GitHub runs the workflow on."""

    event_name: str
    payload: Mapping[str, Any]
    ref: str
    sha: str


def load_workflow(path: Path) -> dict[str, Any]:
    data = load_yaml(path.read_bytes(), str(path)).data
    if not isinstance(data, dict):
        raise HarnessError(f"{path} is not a mapping")
    return data


def trigger(platform: Platform, event_name: str, payload: Mapping[str, Any]) -> Trigger:
    """GITHUB_REF and GITHUB_SHA for an event, after creating the refs GitHub would."""
    bare = Git(platform.bare_repo)
    if event_name in ("pull_request", "pull_request_review"):
        pull = payload["pull_request"]
        number, head, base = pull["number"], pull["head"]["sha"], pull["base"]["sha"]
        # GitHub keeps refs/pull/N/head and a test merge, refs/pull/N/merge, for open PRs.
        tree = bare.run("merge-tree", "--write-tree", base, head).splitlines()[0]
        github = {"NAME": "GitHub", "EMAIL": "noreply@github.com"}
        who = {f"GIT_{role}_{k}": v for role in ("AUTHOR", "COMMITTER") for k, v in github.items()}
        message = f"Merge {head} into {base}".encode()
        merge = bare.run("commit-tree", tree, "-p", base, "-p", head, input=message, env=who)
        bare.run("update-ref", f"refs/pull/{number}/head", head)
        bare.run("update-ref", f"refs/pull/{number}/merge", merge)
        return Trigger(event_name, payload, f"refs/pull/{number}/merge", merge)
    if event_name == "merge_group":
        group = payload["merge_group"]
        bare.run("update-ref", group["head_ref"], group["head_sha"])
        return Trigger(event_name, payload, group["head_ref"], group["head_sha"])
    if event_name == "push":
        return Trigger(event_name, payload, payload["ref"], payload["after"])
    if event_name in ("schedule", "workflow_dispatch"):
        ref = str(payload.get("ref") or "refs/heads/main")
        return Trigger(event_name, payload, ref, bare.rev_parse(ref))
    raise HarnessError(f"no emulation for the {event_name!r} event")


def filtered_branch(event: Trigger) -> str:
    """What `branches:` matches: a PR's (or merge group's) base branch, else the pushed ref."""
    if event.event_name in ("pull_request", "pull_request_target"):
        return str(event.payload["pull_request"]["base"]["ref"])
    if event.event_name == "merge_group":
        return str(event.payload["merge_group"]["base_ref"]).removeprefix("refs/heads/")
    return event.ref.removeprefix("refs/heads/")


def check_triggered(workflow: Mapping[str, Any], event: Trigger) -> None:
    """Refuse to run a workflow for an event its `on:` would not start it for."""
    on = workflow["on"]
    on = {on: None} if isinstance(on, str) else dict.fromkeys(on) if isinstance(on, list) else on
    if event.event_name not in on:
        raise HarnessError(f"the workflow does not run on {event.event_name}")
    spec = on[event.event_name] or {}
    if event.event_name == "schedule":
        if event.payload.get("schedule") not in [entry["cron"] for entry in spec]:
            raise HarnessError(f"the workflow has no schedule {event.payload.get('schedule')!r}")
        return
    if set(spec) - {"types", "branches", "paths", "inputs"}:
        raise HarnessError(f"trigger filters not emulated: {sorted(spec)}")
    action = event.payload.get("action")
    if "types" in spec and action not in spec["types"]:
        raise HarnessError(f"the workflow does not run on {event.event_name}.{action}")
    branch = filtered_branch(event)
    if "branches" in spec and not any(fnmatch(branch, b) for b in spec["branches"]):
        raise HarnessError(f"the workflow does not run for {branch}")
    if "paths" in spec:
        kinds = ("added", "modified", "removed")
        files = {f for commit in event.payload["commits"] for k in kinds for f in commit[k]}
        if not any(fnmatch(f, pattern) for f in files for pattern in spec["paths"]):
            raise HarnessError(f"the workflow's paths filter leaves out {sorted(files)}")


def github_contexts(
    platform: Platform, event: Trigger, path: Path, name: str, inputs: Mapping[str, str]
) -> dict[str, Any]:
    """The contexts expressions read (`github`, `inputs`, `vars`, ...) for one run."""
    owner = platform.repository.split("/")[0]
    pull = event.payload.get("pull_request") or {}
    github = {
        "event": event.payload,
        "event_name": event.event_name,
        "ref": event.ref,
        "ref_name": event.ref.removeprefix("refs/heads/").removeprefix("refs/"),
        "ref_type": "branch",
        "sha": event.sha,
        "head_ref": (pull.get("head") or {}).get("ref", ""),
        "base_ref": (pull.get("base") or {}).get("ref", ""),
        "repository": platform.repository,
        "repository_owner": owner,
        "token": platform.token,
        "server_url": platform.api_url,
        "api_url": platform.api_url,
        "graphql_url": f"{platform.api_url}/graphql",
        "actor": str((event.payload.get("sender") or {}).get("login", owner)),
        "run_id": str(next(_run_ids)),
        "run_number": "1",
        "run_attempt": "1",
        "workflow": name,
        "workflow_ref": f"{platform.repository}/.github/workflows/{path.name}@{event.ref}",
    }
    return {
        "github": github,
        "inputs": dict(inputs),
        "vars": dict(platform.variables),
        "secrets": {**platform.secrets, "GITHUB_TOKEN": platform.token},
        "steps": {},
        "runner": {"os": "Linux", "arch": "X64"},
    }


class OidcServer:
    """The Actions runtime's ID-token endpoint: GET ?audience=... with the request bearer."""

    def __init__(self, bearer: str, mint: Callable[[str], str]) -> None:
        expected = f"bearer {bearer}"

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                audience = parse_qs(url.query).get("audience")
                if not secrets.compare_digest(self.headers.get("Authorization", ""), expected):
                    self._answer(401, {"message": "bad request token"})
                elif url.path != "/idtoken" or not audience:
                    self._answer(400, {"message": "expected /idtoken?audience=..."})
                else:
                    self._answer(200, {"count": 1, "value": mint(audience[0])})

            def _answer(self, status: int, body: Mapping[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: request lines would only clutter the test output."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
