"""git over HTTP (`{server}/{owner}/{repo}.git`), as GitHub serves it: anyone may fetch,
pushing needs a token (`x-access-token:<token>` in Basic auth, as actions/checkout and
`jitflow sync` send it), and branch protection and rulesets are enforced on push.

The smart protocol itself is `git http-backend`. Before it runs a push, the ref updates are
read from the request (their pkt-lines come before the pack) and judged by enforcement.py;
the verdict reaches the repository's pre-receive hook through the environment, which prints
GitHub's rejection or refuses a force push. Pushes that don't come through here (tests that
write the bare repository directly) pass the hook untouched.
"""

from __future__ import annotations

import base64
import gzip
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from jitflow.sandbox.github_standin import pushes
from jitflow.sandbox.github_standin.enforcement import RefUpdate, push_verdict
from jitflow.sandbox.github_standin.service import Service
from jitflow.sandbox.github_standin.state import User

SERVICES = ("info/refs", "git-upload-pack", "git-receive-pack")
HOOK = """\
#!/bin/sh
# Installed by the GitHub stand-in (jitflow/sandbox/github_standin/githttp.py): applies its verdict
# to pushes made over HTTP. Without STANDIN_PUSH (direct writes by tests) it does nothing.
[ -n "$STANDIN_PUSH" ] || exit 0
if [ -n "$STANDIN_REJECT" ]; then printf '%s\\n' "$STANDIN_REJECT" >&2; exit 1; fi
while read -r old new ref; do
  case " $STANDIN_NO_FORCE " in
    *" $ref "*)
      if [ "$old" != 0000000000000000000000000000000000000000 ] && \\
         [ "$new" != 0000000000000000000000000000000000000000 ] && \\
         ! git merge-base --is-ancestor "$old" "$new"; then
        printf 'error: GH006: Protected branch update failed for %s.\\n' "$ref" >&2
        printf 'error: Cannot force-push to this branch\\n' >&2
        exit 1
      fi
      ;;
  esac
done
exit 0
"""


@dataclass
class GitResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def git_path(owner: str, repo: str, path: str) -> str | None:
    """The smart-HTTP service a request path names under `/{owner}/{repo}.git/`, or None."""
    match = re.fullmatch(rf"/{re.escape(owner)}/{re.escape(repo)}(?:\.git)?/(.+)", path, re.I)
    return match.group(1) if match and match.group(1) in SERVICES else None


def install_hook(bare: Path) -> None:
    # GitHub serves partial clones (`--filter=blob:none`, what actions/checkout's `filter` and
    # `sparse-checkout` inputs fetch with); git's upload-pack refuses filters unless told.
    subprocess.run(["git", "config", "uploadpack.allowFilter", "true"], cwd=bare, check=True)
    hook = bare / "hooks" / "pre-receive"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(HOOK, encoding="utf-8")
    hook.chmod(0o755)


def serve_git(
    service: Service,
    bare: Path,
    method: str,
    service_path: str,
    query: str,
    headers: Callable[[str], str | None],
    body: bytes,
) -> GitResponse:
    """Answer one smart-HTTP request (the caller holds the service lock)."""
    pushing = service_path == "git-receive-pack" or "service=git-receive-pack" in query
    env: dict[str, str] = {}
    if service_path == "git-receive-pack":
        pushes.follow(service.store, service.git, service.git.branches())  # earlier moves
    if pushing:
        user = _pusher(service, headers("Authorization") or "")
        if user is None:
            return GitResponse(
                401,
                {"WWW-Authenticate": 'Basic realm="GitHub"', "Content-Type": "text/plain"},
                b"Invalid username or token. Password authentication is not supported.\n",
            )
        env["STANDIN_PUSH"] = user.login
        if service_path == "git-receive-pack":
            verdict = push_verdict(
                service.store, user, _ref_updates(body, headers), service.statuses
            )
            env["STANDIN_REJECT"] = verdict.rejection or ""
            env["STANDIN_NO_FORCE"] = " ".join(verdict.no_force)
    answer = _http_backend(bare, method, service_path, query, headers, body, env)
    if service_path == "git-receive-pack" and env.get("STANDIN_PUSH"):
        # GitHub records the account behind every push (GET /repos/{o}/{r}/activity)
        pushes.follow(service.store, service.git, service.git.branches(), env["STANDIN_PUSH"])
        service.refresh(pusher=env["STANDIN_PUSH"])  # a PR whose head was pushed: merged by them
    return answer


def _pusher(service: Service, authorization: str) -> User | None:
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip()).decode()
        except ValueError:
            return None
        name, _, secret = decoded.partition(":")
        return service.authenticate(secret or name)
    if scheme.lower() in ("token", "bearer"):
        return service.authenticate(credentials.strip())
    return None


def _ref_updates(body: bytes, headers: Callable[[str], str | None]) -> list[RefUpdate]:
    """The commands of a receive-pack request: pkt-lines `old new ref[\\0caps]` up to a flush."""
    if (headers("Content-Encoding") or "").lower() == "gzip":
        body = gzip.decompress(body)
    updates, offset = [], 0
    while offset + 4 <= len(body):
        size = int(body[offset : offset + 4], 16)
        if size == 0:
            break
        line = body[offset + 4 : offset + size].split(b"\0", 1)[0].decode().strip()
        offset += size
        parts = line.split(" ")
        if len(parts) == 3:
            updates.append(RefUpdate(parts[0], parts[1], parts[2]))
    return updates


def _http_backend(
    bare: Path,
    method: str,
    service_path: str,
    query: str,
    headers: Callable[[str], str | None],
    body: bytes,
    extra: dict[str, str],
) -> GitResponse:
    git = shutil.which("git") or "git"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(bare),
        "GIT_PROJECT_ROOT": str(bare.parent),
        "GIT_HTTP_EXPORT_ALL": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH_INFO": f"/{bare.name}/{service_path}",
        "REQUEST_METHOD": method,
        "QUERY_STRING": query,
        "CONTENT_TYPE": headers("Content-Type") or "",
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_USER": extra.get("STANDIN_PUSH", ""),
        "REMOTE_ADDR": "127.0.0.1",
        "GIT_HTTP_MAX_REQUEST_BUFFER": "100M",
        **extra,
    }
    encoding = headers("Content-Encoding")
    if encoding:
        env["HTTP_CONTENT_ENCODING"] = encoding
    protocol = headers("Git-Protocol")
    if protocol:
        env["GIT_PROTOCOL"] = protocol
    done = subprocess.run(
        [git, "-c", "http.receivepack=true", "http-backend"],
        input=body,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    head, _, payload = done.stdout.partition(b"\r\n\r\n")
    if not _:
        head, _, payload = done.stdout.partition(b"\n\n")
    response = GitResponse(200, body=payload)
    for raw in head.decode(errors="replace").splitlines():
        name, _, value = raw.partition(":")
        if name.lower() == "status":
            response.status = int(value.strip().split()[0])
        elif name:
            response.headers[name.strip()] = value.strip()
    return response


__all__ = ["GitResponse", "git_path", "install_hook", "serve_git"]
