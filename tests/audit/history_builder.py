"""Builds real git repositories with the exact ledger layout of docs/ledger.md."""

from __future__ import annotations

import functools
import json
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jitflow.adapters.git import Git
from jitflow.core.audit_rows import format_time
from jitflow.core.yamlio import dump_block

RUNNER_NAME = "jitflow-sync"
RUNNER_EMAIL = "jitflow-sync@users.noreply.github.com"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

POLICY_ORDERS = """\
name: orders-db-write
description: Write access to the orders database
grant:
  kind: database
  mount: database
  role: orders-write
duration: {default: 30m, max: 4h}
requesters: {groups: [engineers]}
approvals:
  rules:
    - {count: 1, from: {groups: [sre-leads]}}
break_glass: {allowed: true, post_review_within: 24h}
"""

POLICY_READONLY = """\
name: billing-read
description: Read-only Vault token for the billing service
grant:
  kind: vault-token
  policies: [billing-read]
duration: {default: 1h, max: 8h}
requesters: {groups: [engineers]}
approvals:
  rules:
    - {count: 1, from: {groups: [engineers]}}
  allow_self_approval: true
"""

GROUPS = """\
engineers: [alice, carol, dave, mallory]
sre-leads: [bob, erin]
"""


SIGNERS_PATH = ".jitflow/allowed_signers"
LEDGER_PRINCIPAL = "jitflow-ledger"


@dataclass(frozen=True)
class SigningKit:
    """A CA standing in for Vault's ledger mount, and a runner key it certified."""

    ca_public: str
    certificate: Path  # the runner's `-cert.pub`, its private key next to it

    @property
    def allowed_signers(self) -> str:
        return f'{LEDGER_PRINCIPAL} cert-authority,namespaces="git" {self.ca_public}\n'

    def git_options(self) -> list[str]:
        return ["-c", "gpg.format=ssh", "-c", f"user.signingkey={self.certificate}"]


def make_signing_kit(principal: str = LEDGER_PRINCIPAL) -> SigningKit:
    """ssh-keygen makes a CA and certifies a key for `principal` (valid for decades)."""
    root = Path(tempfile.mkdtemp(prefix="jitflow-signing-"))
    for name in ("ca", "runner"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(root / name)],
            check=True,
        )
    subprocess.run(
        [
            *("ssh-keygen", "-q", "-s", str(root / "ca"), "-I", "history-builder"),
            *("-n", principal, "-V", "20000101:21000101", str(root / "runner.pub")),
        ],
        check=True,
    )
    return SigningKit((root / "ca.pub").read_text().strip(), root / "runner-cert.pub")


@functools.cache
def signing_kit() -> SigningKit:
    """One kit per test process: histories built by the runner are signed with it."""
    return make_signing_kit()


def email_of(login: str) -> str:
    return f"{login}@users.noreply.github.com"


@dataclass
class Handle:
    """A request as the builder made it, with the commits that evidence it."""

    id: str
    requester: str
    policy: str
    duration: timedelta
    requested_commit: str = ""
    merge_commit: str = ""
    policy_commit: str = ""
    pr: int = 0
    merged_by: str = ""
    merged_at: datetime | None = None
    issue_commit: str = ""
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    end_commit: str = ""
    path: str = ""
    approved_by: tuple[str, ...] = ()
    break_glass: bool = False


class HistoryBuilder:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git = Git(root)
        self.git.run("init", "-q", "-b", "main")
        self._next_pr = 1
        self.kit = signing_kit()
        self.write(SIGNERS_PATH, self.kit.allowed_signers)
        self.write("policies/orders-db-write.yaml", POLICY_ORDERS)
        self.write("policies/billing-read.yaml", POLICY_READONLY)
        self.write("policies/groups.yaml", GROUPS)
        self.commit("admin", "Add policies", T0 - timedelta(days=1))

    # -- plumbing ---------------------------------------------------------------------

    def write(self, path: str, text: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def read(self, path: str) -> str:
        return (self.root / path).read_text()

    def remove(self, path: str) -> None:
        (self.root / path).unlink()

    def commit(
        self,
        login: str,
        message: str,
        at: datetime,
        *,
        email: str | None = None,
        committer_email: str | None = None,
        allow_empty: bool = False,
        signer: SigningKit | None = None,
    ) -> str:
        """A commit of the work tree; `signer` signs it (as the runner does)."""
        env = self._identity(login, at, email=email, committer_email=committer_email)
        self.git.run("add", "-A", env=env)
        args = ["commit", "-q", "--no-verify", "-m", message]
        if allow_empty:
            args.append("--allow-empty")
        if signer is not None:
            args = [*signer.git_options(), *args, "-S"]
        self.git.run(*args, env=env)
        return self.git.run("rev-parse", "HEAD")

    def _identity(
        self,
        login: str,
        at: datetime,
        *,
        email: str | None = None,
        committer_email: str | None = None,
    ) -> dict[str, str]:
        stamp = at.strftime("%Y-%m-%dT%H:%M:%S+0000")
        return {
            "GIT_AUTHOR_NAME": login,
            "GIT_AUTHOR_EMAIL": email or email_of(login),
            "GIT_AUTHOR_DATE": stamp,
            "GIT_COMMITTER_NAME": login,
            "GIT_COMMITTER_EMAIL": committer_email or email or email_of(login),
            "GIT_COMMITTER_DATE": stamp,
        }

    def runner_commit(self, event: str, handle: Handle, at: datetime, **extra: str) -> str:
        trailers = {
            "Jitflow-Event": event,
            "Jitflow-Request": handle.id,
            "Jitflow-Policy": handle.policy,
            "Jitflow-Requester": handle.requester,
            **extra,
        }
        body = "\n".join(f"{k}: {v}" for k, v in trailers.items())
        return self.commit(
            RUNNER_NAME,
            f"jitflow: {event} {handle.id}\n\n{body}",
            at,
            email=RUNNER_EMAIL,
            signer=self.kit,
        )

    # -- the life of a request ------------------------------------------------------------

    def request(
        self,
        requester: str,
        policy: str = "orders-db-write",
        *,
        at: datetime = T0,
        duration: str = "30m",
        reason: str = "Fix stuck rows in orders.status for INC-4211",
        ticket: str | None = "INC-4211",
        break_glass: bool = False,
        request_id: str | None = None,
        extends: str | None = None,
    ) -> Handle:
        """A PR branch with one commit by the requester adding requests/<id>.yaml."""
        request_id = request_id or f"{requester}-{policy}-{at:%Y%m%d%H%M}"
        lines = [
            f"policy: {policy}",
            f"requester: {requester}",
            f"duration: {duration}",
            f"reason: {json.dumps(reason)}",
        ]
        if ticket:
            lines.append(f"ticket: {ticket}")
        if break_glass:
            lines.append("break_glass: true")
        if extends:
            lines.append(f"extends: {extends}")
        self.git.run("checkout", "-q", "-b", f"request/{request_id}", "main")
        self.write(f"requests/{request_id}.yaml", "\n".join(lines) + "\n")
        sha = self.commit(requester, f"Request {policy} for {requester}", at)
        self.git.run("checkout", "-q", "main")
        minutes = {"30m": 30, "1h": 60, "2h": 120, "4h": 240}.get(duration, 30)
        return Handle(
            request_id,
            requester,
            policy,
            timedelta(minutes=minutes),
            requested_commit=sha,
            break_glass=break_glass,
        )

    def merge(
        self, handle: Handle, reviewer: str, at: datetime, approved_by: Sequence[str] | None = None
    ) -> str:
        """GitHub's merge commit, by the reviewer who pressed the button."""
        pr = self._next_pr
        self._next_pr += 1
        handle.policy_commit = self.git.run("rev-parse", "HEAD")
        env = self._identity(reviewer, at)
        self.git.run(
            "merge",
            "-q",
            "--no-ff",
            f"request/{handle.id}",
            "-m",
            f"Merge pull request #{pr} from {handle.requester}/request/{handle.id}",
            env=env,
        )
        handle.merge_commit = self.git.run("rev-parse", "HEAD")
        handle.pr, handle.merged_by, handle.merged_at = pr, reviewer, at
        handle.approved_by = tuple(approved_by if approved_by is not None else (reviewer,))
        return handle.merge_commit

    def issue(self, handle: Handle, at: datetime, *, grant: Mapping[str, Any] | None = None) -> str:
        """The runner moves the request to active/ and appends the grant block."""
        text = self.read(f"requests/{handle.id}.yaml")
        handle.issued_at = at
        handle.expires_at = at + handle.duration
        block = dict(self.grant_block(handle))
        block.update(grant or {})
        self.remove(f"requests/{handle.id}.yaml")
        self.write(f"requests/active/{handle.id}.yaml", text + dump_block("grant", block))
        extra = {"Jitflow-Expires": format_time(handle.expires_at)}
        if handle.approved_by:
            extra["Jitflow-Approved-By"] = ",".join(handle.approved_by)
        handle.issue_commit = self.runner_commit("issue", handle, at, **extra)
        return handle.issue_commit

    def grant_block(self, handle: Handle) -> dict[str, Any]:
        kinds = {"orders-db-write": ("database", "database", "orders-write")}
        kind, mount, role = kinds.get(handle.policy, ("vault-token", "", ""))
        block: dict[str, Any] = {"kind": kind}
        if mount:
            block.update(mount=mount, role=role)
        else:
            block["policies"] = ["billing-read"]
        block.update(
            issued_at=format_time(handle.issued_at),
            expires_at=format_time(handle.expires_at),
            requested_seconds=int(handle.duration.total_seconds()),
            granted_seconds=int(handle.duration.total_seconds()),
            approved_by=list(handle.approved_by),
            merged_by=handle.merged_by,
            merged_at=format_time(handle.merged_at),
            pr=handle.pr,
            merge_commit=handle.merge_commit,
            policy_commit=handle.policy_commit,
            break_glass=handle.break_glass,
            vault={"accessor": f"acc-{handle.id}"},
        )
        if handle.approved_by and handle.merged_at is not None:
            approved = format_time(handle.merged_at - timedelta(minutes=2))
            block["approved_at"] = dict.fromkeys(handle.approved_by, approved)
        return block

    def end(
        self,
        handle: Handle,
        at: datetime,
        *,
        reason: str = "expired",
        by: str = RUNNER_NAME,
        pr: int | None = None,
        findings: Sequence[Mapping[str, str]] = (),
        extra: Mapping[str, Any] | None = None,
        extended_by: str = "",
    ) -> str:
        """The runner archives the record with an `ended:` block."""
        source = f"requests/active/{handle.id}.yaml"
        if not (self.root / source).exists():
            source = f"requests/{handle.id}.yaml"
        text = self.read(source)
        ended: dict[str, Any] = {"at": format_time(at), "reason": reason, "by": by}
        if pr is not None:
            ended["pr"] = pr
        if findings:
            ended["findings"] = [dict(f) for f in findings]
        if extended_by:
            ended["extended_by"] = extended_by
        tail = dump_block("ended", ended)
        for key, value in (extra or {}).items():
            tail += dump_block(key, value)
        self.remove(source)
        handle.path = f"requests/archive/{at:%Y/%m}/{handle.id}.yaml"
        self.write(handle.path, text + tail)
        events = {"expired": "expire", "revoked": "revoke", "denied": "deny", "extended": "extend"}
        event = events.get(reason, "fail")
        handle.end_commit = self.runner_commit(event, handle, at)
        return handle.end_commit

    def revoke(self, handle: Handle, revoker: str, reviewer: str, at: datetime) -> int:
        """A revocation PR deleting the active file, then the runner archives it."""
        pr = self._next_pr
        self._next_pr += 1
        branch = f"revoke/{handle.id}"
        self.git.run("checkout", "-q", "-b", branch, "main")
        self.remove(f"requests/active/{handle.id}.yaml")
        self.commit(revoker, f"Revoke {handle.id}", at)
        self.git.run("checkout", "-q", "main")
        self.git.run(
            "merge",
            "-q",
            "--no-ff",
            branch,
            "-m",
            f"Merge pull request #{pr} from {revoker}/{branch}",
            env=self._identity(reviewer, at + timedelta(seconds=30)),
        )
        # the runner archives from the last active text
        text = self.git.run("show", f"{handle.issue_commit}:requests/active/{handle.id}.yaml")
        self.write(f"requests/active/{handle.id}.yaml", text + "\n")
        self.end(handle, at + timedelta(minutes=1), reason="revoked", by=revoker, pr=pr)
        return pr

    def lifecycle(self, requester: str, reviewer: str, at: datetime, **kwargs: Any) -> Handle:
        """request -> merge -> issue -> expire, the common happy path."""
        handle = self.request(requester, at=at, **kwargs)
        self.merge(handle, reviewer, at + timedelta(minutes=5))
        self.issue(handle, at + timedelta(minutes=5, seconds=10))
        assert handle.expires_at is not None
        self.end(handle, handle.expires_at + timedelta(seconds=20))
        return handle

    def head(self) -> str:
        return self.git.run("rev-parse", "HEAD")
