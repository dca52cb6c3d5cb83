"""The audit's fast reading of history equals the straightforward one (tests/audit/
straightforward.py) on generated histories full of odd shapes: PR merges and squash merges,
forged ledger writes on and off main, edits after merge, renames (a delete plus an add),
revocations, post-reviews by the runner, the reviewer and others, warnings, event keys in any
case or outside the trailer block, non-ledger commits, empty commits, paths with colons,
spaces, line breaks and bytes that are not UTF-8, clock skew. Checked three ways: the parsed
commits, the folded trails, and the JSON report's bytes."""

from __future__ import annotations

import io
import json
import random
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jitflow.adapters.git import Git
from jitflow.adapters.git.log import iter_commits
from jitflow.core.audit_rows import build_row
from jitflow.core.history import HistoryFolder, RequestTrail
from jitflow.reporters.audit_text import row_to_dict, write_json_rows
from jitflow.usecases.audit.gitlog import iter_ledger
from jitflow.usecases.audit.report import AuditOptions, ReportFormat, run_audit
from tests.audit.straightforward import StraightforwardFolder, plumbing_commits

RUNNER = ("jitflow-sync", "jitflow-sync@users.noreply.github.com")
PEOPLE = ("alice", "bob", "carol", "mallory")
NOW = datetime(2031, 1, 1, tzinfo=UTC)
ODD_PATHS = (
    b":colon.yaml",
    b"a b.yaml",
    b"new\nline.yaml",
    b"caf\xe9.yaml",
    b"requests/bad id.yaml",
    b"requests/trailing.yaml\n",
    b"requests/active/x/y.yaml",
    b"requests/archive/26/11/short.yaml",
    b"policies/p.yaml",
)
EVENTS = ("expire", "revoke", "deny", "fail", "extend", "", "weird")


def _quoted(path: bytes) -> bytes:
    """A path as fast-import reads it: C-style quoted, every byte outside printable ASCII
    as an octal escape."""
    out = b'"'
    for byte in path:
        char = bytes([byte])
        if char in b'"\\':
            out += b"\\" + char
        elif 0x20 <= byte < 0x7F:
            out += char
        else:
            out += b"\\%03o" % byte
    return out + b'"'


class _Builder:
    """A random ledger history written as one `git fast-import` stream."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.stream = b""
        self.mark = 0
        self.main = 0  # mark of main's tip
        self.time = 1_790_000_000
        self.pending: list[str] = []
        self.active: list[str] = []
        self.ended: list[str] = []
        self.pr = 0

    def commit(
        self,
        who: tuple[str, str],
        message: str,
        files: list[tuple[bytes, bytes | None]],
        *,
        ref: str = "refs/heads/main",
        parent: int | None = None,
        merge: int | None = None,
        committer: tuple[str, str] | None = None,
    ) -> int:
        self.mark += 1
        self.time += self.rng.randint(-600, 3600)  # sometimes older than its parent
        by = committer or who
        body = message.encode()
        self.stream += b"commit %s\nmark :%d\n" % (ref.encode(), self.mark)
        self.stream += b"author %s <%s> %d +0000\n" % (
            who[0].encode("latin-1"),
            who[1].encode(),
            self.time,
        )
        self.stream += b"committer %s <%s> %d +0000\n" % (by[0].encode(), by[1].encode(), self.time)
        self.stream += b"data %d\n%s\n" % (len(body), body)
        if parent:
            self.stream += b"from :%d\n" % parent
        if merge:
            self.stream += b"merge :%d\n" % merge
        for path, content in files:
            if content is None:
                self.stream += b"D %s\n" % _quoted(path)
            else:
                self.stream += b"M 100644 inline %s\ndata %d\n%s\n" % (
                    _quoted(path),
                    len(content),
                    content,
                )
        if ref == "refs/heads/main":
            self.main = self.mark
        return self.mark

    def person(self) -> tuple[str, str]:
        login = self.rng.choice(PEOPLE)
        return login, f"{login}@users.noreply.github.com"

    def record(self, request_id: str, *, ended: str = "") -> bytes:
        if self.rng.random() < 0.1:
            return b"not: [yaml"
        text = f"policy: orders\nrequester: {request_id.split('-')[0]}\nreason: r {request_id}\n"
        text += "grant:\n  kind: database\n  mount: database\n  role: rw\n"
        text += f"  issued_at: '2026-11-02T09:{self.rng.randint(10, 59)}:00Z'\n"
        text += "  approved_by:\n  - bob\n"
        if ended:
            text += f"ended:\n  at: '2026-11-03T10:00:00Z'\n  reason: {ended}\n"
        return text.encode()

    def key(self) -> str:
        return self.rng.choice(("Jitflow-Event", "JITFLOW-EVENT", "jitflow-event"))

    def trailers(self, event: str, request_id: str) -> str:
        lines = [f"{self.key()}: {event}"] if event and self.rng.random() < 0.85 else []
        lines += [f"Jitflow-Request: {request_id}", "Jitflow-Approved-By: bob, erin"]
        lines += ["Jitflow-Expires: 2026-11-02T10:00:00Z", "Jitflow-Requester: alice"]
        return "\n".join(lines)

    def step(self) -> None:
        rng = self.rng
        kind = rng.choices(range(3, 12), weights=(4, 3, 2, 1, 1, 1, 1, 1, 1))[0]
        if rng.random() < 0.25 or not (self.pending or self.active):
            self.request()
        elif kind == 3 and self.pending:
            request_id = rng.choice(self.pending)
            self.pending.remove(request_id)
            self.active.append(request_id)
            who = RUNNER if rng.random() < 0.85 else self.person()
            files = [(f"requests/{request_id}.yaml".encode(), None)]
            files.append((f"requests/active/{request_id}.yaml".encode(), self.record(request_id)))
            self.commit(
                who, f"jitflow: issue {request_id}\n\n{self.trailers('issue', request_id)}", files
            )
        elif kind == 4 and self.active:
            request_id = rng.choice(self.active)
            self.active.remove(request_id)
            self.ended.append(request_id)
            event = rng.choice(EVENTS)
            files = [(f"requests/active/{request_id}.yaml".encode(), None)]
            archive = f"requests/archive/2026/11/{request_id}.yaml".encode()
            files.append((archive, self.record(request_id, ended=event)))
            message = f"jitflow: {event} {request_id}\n\n{self.trailers(event, request_id)}"
            self.commit(RUNNER if rng.random() < 0.9 else self.person(), message, files)
        elif kind == 5 and self.active:
            gone = rng.sample(self.active, min(len(self.active), rng.randint(1, 2)))
            for request_id in gone:
                self.active.remove(request_id)
            files: list[tuple[bytes, bytes | None]] = [
                (f"requests/active/{r}.yaml".encode(), None) for r in gone
            ]
            if rng.random() < 0.2:
                files.append((b"policies/p.yaml", b"x"))  # not only active deletes
            self.commit(rng.choice((RUNNER, self.person())), "Revoke", files)
        elif kind == 6 and self.pending:
            request_id = rng.choice(self.pending)
            self.commit(
                self.person(), "Edit", [(f"requests/{request_id}.yaml".encode(), b"edited: 1\n")]
            )
        elif kind == 7 and self.active:
            old = rng.choice(self.active)
            new = f"{old}-moved"
            self.active[self.active.index(old)] = new
            files = [(f"requests/active/{old}.yaml".encode(), None)]
            files.append((f"requests/active/{new}.yaml".encode(), self.record(new)))
            self.commit(rng.choice((RUNNER, self.person())), "Rename", files)
        elif kind == 8:
            path = rng.choice(ODD_PATHS)
            self.commit(self.person(), "Noise", [(path, b"x%d" % self.mark)])
        elif kind == 9 and (self.ended or self.active):
            request_id = rng.choice(self.ended or self.active)
            reviewer = rng.choice(("bob", "mallory"))
            lines = [f"{self.key()}: post-review\nJitflow-Request: {request_id}"]
            lines.append(f"Jitflow-{rng.choice(('Reviewed', 'Approved'))}-By: {reviewer}")
            # only the runner's evidence counts: it is drawn twice as often as each claim
            claimed = ("bob", "bob@users.noreply.github.com")
            who = rng.choice((RUNNER, RUNNER, claimed, self.person()))
            if who == RUNNER:
                lines.append(rng.choice(("Jitflow-Reviewed-At: 2026-11-02T09:30:00Z", "")))
            self.commit(who, "Post review\n\n" + "\n".join(lines), [])
        elif kind == 10:
            ids = ", ".join(rng.sample([*self.active, *self.ended, "ghost", "ghost2"], 2))
            tail = rng.choice(("", "\n\nnot a trailer paragraph"))
            message = f"jitflow: warn\n\n{self.key()}: warn\nJitflow-Request: {ids}{tail}"
            self.commit(rng.choice((RUNNER, RUNNER, self.person())), message, [])
        else:
            request_id = rng.choice(self.ended or self.active or ["none"])
            path = f"requests/{rng.choice(('archive/2026/11', 'active'))}/{request_id}.yaml"
            self.commit(self.person(), "Forge", [(path.encode(), b"forged: yes\n")])

    def request(self) -> None:
        rng = self.rng
        login = rng.choice(PEOPLE)
        request_id = f"{login}-{self.mark}"
        self.pr += 1
        path = f"requests/{request_id}.yaml".encode()
        content = f"policy: orders\nrequester: {login}\nreason: r\n".encode()
        if rng.random() < 0.25:  # squash merge: one commit on main
            self.commit(self.person(), f"Request {request_id} (#{self.pr})", [(path, content)])
        else:
            branch = f"refs/heads/pr-{self.pr}"
            files = [(path, content)]
            if rng.random() < 0.15 and self.active:  # a forged delete off main
                files.append((f"requests/active/{rng.choice(self.active)}.yaml".encode(), None))
            who = (login, f"{login}@users.noreply.github.com")
            if rng.random() < 0.1:
                who = ("caf\xe9", who[1])  # a name that is not UTF-8 (latin-1 bytes)
            tip = self.commit(who, f"Request {request_id}", files, ref=branch, parent=self.main)
            merger = self.person()
            message = f"Merge pull request #{self.pr} from {login}/request"
            self.commit(
                merger,
                message,
                [(path, content)] if rng.random() < 0.9 else [],
                parent=self.main,
                merge=tip,
                committer=("GitHub", "noreply@github.com"),
            )
        self.pending.append(request_id)


def _history(root: Path, seed: int, steps: int) -> str:
    builder = _Builder(seed)
    builder.commit(("admin", "admin@example.com"), "Start", [(b"policies/p.yaml", b"p")])
    for _ in range(steps):
        builder.step()
    subprocess.run(["git", "init", "-q", "--bare", str(root)], check=True)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=builder.stream, check=True)
    return Git(root).rev_parse("refs/heads/main")


def _fold(folder: HistoryFolder, commits: list) -> list[RequestTrail]:  # type: ignore[type-arg]
    trails = [trail for commit in commits for trail in folder.feed(commit)]
    return trails + folder.finish()


@pytest.mark.parametrize("seed", range(3))
def test_the_fast_reading_equals_the_straightforward_one(tmp_path: Path, seed: int) -> None:
    root = tmp_path / "ledger.git"
    head = _history(root, seed, steps=70)
    git = Git(root)
    commits = list(iter_commits(git, head))
    assert commits == plumbing_commits(git, head)
    trails = _fold(StraightforwardFolder(RUNNER[1]), commits)
    assert _fold(HistoryFolder(RUNNER[1]), commits) == trails
    assert len(trails) > 10 and any(t.foreign_writes for t in trails)
    assert any(t.post_reviews for t in trails) and any(t.revocation for t in trails)
    report = io.StringIO()
    options = AuditOptions(repo=root, format=ReportFormat.JSON, now=NOW, ref=head)
    run_audit(options, report)
    expected = io.StringIO()
    rows = (
        json.dumps(row_to_dict(build_row(entry.trail, entry.record)), ensure_ascii=False)
        for entry in iter_ledger(git, trails)
    )
    write_json_rows(rows, expected, generated_at="2031-01-01T00:00:00Z", head=head)
    assert report.getvalue() == expected.getvalue()
