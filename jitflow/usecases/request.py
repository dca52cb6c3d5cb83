"""`jitflow request`: write a valid request file on a new branch, committed as the requester.

The request is evaluated with the same core as `jitflow check` before anything is written, so
what the policy would refuse is refused here, with the same messages. The branch is built
with git plumbing: the work tree and the current branch are left untouched.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jitflow.adapters.git import Git
from jitflow.adapters.git.branches import BranchCommit, commit_on_new_branch
from jitflow.adapters.git.clone import setting
from jitflow.core.evaluation import Context, RequestDecision, evaluate
from jitflow.core.loading import ID_PATTERN, parse_request
from jitflow.core.times import format_time
from jitflow.core.yamlio import dump
from jitflow.errors import DeniedError, UsageError
from jitflow.usecases.repository import all_policy_names, read_policies, snapshot

SCHEMA_COMMENT = "# yaml-language-server: $schema=../.jitflow/schemas/request.schema.json\n"
_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class RequestOptions:
    repo: Path
    policy: str
    duration: str | None
    reason: str
    now: datetime
    login: str | None = None
    ticket: str | None = None
    start: datetime | None = None
    ssh_key_file: Path | None = None
    break_glass: bool = False
    base: str = "HEAD"
    extends: str | None = None


@dataclass(frozen=True)
class CreatedRequest:
    id: str
    path: str
    branch: str
    commit: str
    content: str
    decision: RequestDecision


def resolve_login(git: Git, login: str | None) -> str:
    if login:
        return login
    found = setting(git, "github.user")
    if not found:
        raise UsageError(
            "who are you on GitHub? pass --as LOGIN or run: git config --global github.user LOGIN"
        )
    return found


def new_request_id(login: str, policy: str, now: datetime) -> str:
    suffix = "".join(secrets.choice(_ALPHABET) for _ in range(4))
    candidate = f"{login.lower()}-{policy}-{now:%Y%m%d}-{suffix}"
    if not ID_PATTERN.match(candidate):
        raise UsageError(f"can't make a request id from login {login!r} and policy {policy!r}")
    return candidate


def render_request(options: RequestOptions, login: str) -> str:
    data: dict[str, object] = {"policy": options.policy, "requester": login}
    if options.duration:
        data["duration"] = options.duration
    data["reason"] = options.reason
    if options.ticket:
        data["ticket"] = options.ticket
    if options.start:
        data["start"] = format_time(options.start)
    if options.ssh_key_file:
        try:
            data["ssh_public_key"] = options.ssh_key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(
                f"can't read --ssh-key {options.ssh_key_file}: {exc.strerror}"
            ) from exc
    if options.break_glass:
        data["break_glass"] = True
    if options.extends:
        data["extends"] = options.extends
    return SCHEMA_COMMENT + dump(data)


def create_request(options: RequestOptions) -> CreatedRequest:
    git = Git(options.repo)
    login = resolve_login(git, options.login)
    base = git.rev_parse(options.base)
    request_id = new_request_id(login, options.policy, options.now)
    path = f"requests/{request_id}.yaml"
    content = render_request(options, login)
    decision = _evaluate(git, base, (path, content), login, options.now)
    if not decision.allowed:
        details = "\n".join(
            f"  {f.path}:{f.line}:{f.column}: [{f.code}] {f.message}" for f in decision.findings
        )
        raise DeniedError(f"the policy would refuse this request:\n{details}")
    branch = f"jitflow/request/{request_id}"
    message = f"Request access: {request_id}\n"
    wanted = BranchCommit(branch, login, message, add=(path, content.encode()))
    commit = commit_on_new_branch(git, base, wanted)
    return CreatedRequest(request_id, path, branch, commit, content, decision)


def _evaluate(
    git: Git, base: str, request: tuple[str, str], login: str, now: datetime
) -> RequestDecision:
    """The policy's decision on the request file `request` (path, content) at `base`."""
    path, content = request
    loaded = parse_request(content.encode(), path)
    state = snapshot(git, base, [loaded.value.id] if loaded.value is not None else [])
    names = [loaded.value.policy] if loaded.value is not None else []
    policies = read_policies(git, base, names)
    context = Context(
        now=now,
        author=login,
        active_grants=state.active,
        existing_ids=state.existing_ids,
        known_policies=() if policies else tuple(all_policy_names(git, base)),
    )
    decision = evaluate([loaded], policies, state.groups, context)
    return decision.requests[0]
