"""`jitflow audit --incremental`: a cache of the rows, so a repeated audit reads only the
commits made since the last one.

The cache is one file, `<git dir>/jitflow/audit-cache.jsonl` (the common git directory of
the clone: `git rev-parse --git-common-dir`), safe to delete at any time. Each line is one
request: `<id> TAB <open> TAB <row JSON> TAB <trail JSON> TAB <report JSON>`, in the order a
full read yields them (the report JSON is the row as the JSON report writes it); the last line
names the head it was read at, the runner identity and a SHA-256 of the lines above it. A run
with the cache:

- checks the last line (format, runner, digest) and that the cached head is on the first-parent
  line of today's head; anything else -- a deleted, truncated, edited or foreign file, a
  rewritten main -- and the cache is ignored and rebuilt from the whole history;
- reads the commits since the cached head only, folds them into request trails, continues the
  cached trails they touch (`core.history.continue_trail`) and rereads those records;
- writes the new cache next to the old one and renames it over it (a killed run leaves the
  old one).

What a repeated run costs: git and Python work for the new commits only, plus one pass over
the cache's bytes (its digest, and the copy into the new cache). The JSON report without
filters (`cached_report_rows`) copies each unchanged row's report text as it is, so nothing of
an old row is parsed or rendered again; the other formats and the filters decode the cached
rows (`cached_rows`), which is per-row work again, though still no git.

Only the report reads it: `audit verify` always reads the whole history and never this file.
The cache is as trustworthy as the `.git` directory it lives in.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

from jitflow.adapters.git import Git
from jitflow.adapters.git.clone import common_dir
from jitflow.adapters.git.graph import is_ancestor
from jitflow.adapters.git.log import iter_commits
from jitflow.core.audit_codec import row_from_json, row_to_json, trail_from_json, trail_to_json
from jitflow.core.audit_rows import AuditRow, build_row
from jitflow.core.history import HistoryFolder, RequestTrail, continue_trail
from jitflow.reporters.audit_text import row_json
from jitflow.usecases.audit.gitlog import iter_ledger, parse_record

FORMAT = "jitflow-audit-cache/4"  # 3: ended.note, ssh; 4: the report JSON of each row
_FIELDS = 5  # id, open, row JSON, trail JSON, report JSON
_Row = TypeVar("_Row", bound=AuditRow | None)
_SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?\Z")


@dataclass
class CacheRun:
    """What a run did with the cache (for the user's note and the tests)."""

    path: Path
    used: bool = False  # False: the whole history was read
    reason: str = ""  # why the cache was not used
    commits_read: int = 0
    rows: int = 0


def cache_path(git: Git) -> Path:
    return common_dir(git) / "jitflow" / "audit-cache.jsonl"


def cached_rows(git: Git, head: str, runner: str, run: CacheRun) -> Iterator[AuditRow]:
    """Every audit row at `head` (unfiltered), from the cache and the commits since."""
    for row, _ in _cached(git, head, runner, run, decode=True):
        assert row is not None
        yield row


def cached_report_rows(git: Git, head: str, runner: str, run: CacheRun) -> Iterator[str]:
    """Every row of the JSON report at `head` (unfiltered, as `row_json` writes them): the
    cached rows' texts copied, only the rows new commits touched rendered."""
    for _, text in _cached(git, head, runner, run, decode=False):
        yield text


def _cached(
    git: Git, head: str, runner: str, run: CacheRun, *, decode: bool
) -> Iterator[tuple[AuditRow | None, str]]:
    plan = _Plan.make(git, head, runner, run)
    writer = _Writer(run.path, head, runner)
    try:
        rows = plan.rows(git, writer, decode) if plan else _full(git, head, runner, writer, run)
        for row in rows:
            run.rows += 1
            yield row
        writer.commit()
    finally:
        writer.discard()
        if plan:
            plan.handle.close()
    run.used = plan is not None


@dataclass
class _Plan:
    """The commits since the cached head, folded: new trails and continued cached ones."""

    handle: BinaryIO  # the cache, open once so a concurrent rename cannot swap it
    new: list[RequestTrail]
    continued: dict[str, tuple[RequestTrail, bytes | None]]  # id -> (trail, record text)

    @classmethod
    def make(cls, git: Git, head: str, runner: str, run: CacheRun) -> _Plan | None:
        try:
            handle = run.path.open("rb")
        except OSError:
            run.reason = "no cache yet"
            return None
        try:
            plan = cls._fold(git, head, runner, run, handle)
        except (OSError, ValueError, KeyError, TypeError):
            run.reason = "the cache is unreadable"
            plan = None
        if plan is None:
            handle.close()
        return plan

    @classmethod
    def _fold(
        cls, git: Git, head: str, runner: str, run: CacheRun, handle: BinaryIO
    ) -> _Plan | None:
        trailer = _trailer(handle)
        if (trailer["format"], trailer["runner"]) != (FORMAT, runner):
            run.reason = "the cache was written for another runner or format"
            return None
        since = str(trailer["head"])
        if not _SHA.match(since) or not is_ancestor(git, since, head):
            run.reason = "the cached head is not in today's history"
            return None
        folder = HistoryFolder(runner)
        new: list[RequestTrail] = []
        main_tail = head
        for commit in iter_commits(git, head, since=since):
            run.commits_read += 1
            if commit.on_main:
                main_tail = commit.parents[0] if commit.parents else ""
            new += folder.feed(commit)
        if main_tail != since:
            run.reason = "the cached head is not on main's first-parent line"
            return None
        partial = folder.take_open()
        older = _checked_body(handle, trailer, set(partial))
        if older is None:
            run.reason = "the cache does not match its digest"
            return None
        continued: dict[str, RequestTrail] = {}
        for rid, trail in partial.items():
            before = older.get(rid)
            merged = continue_trail(trail, before) if before else None
            if merged is None and (trail.is_on_main or rid in older):
                run.reason = f"new commits touch {rid} in a way only a full read can fold"
                return None
            if merged is not None:
                continued[rid] = merged
        blobs = git.cat_blobs([t.record_blob or "0" * 40 for t in continued.values()])
        return cls(
            handle, new, {r: (t, b) for (r, t), b in zip(continued.items(), blobs, strict=True)}
        )

    def rows(
        self, git: Git, writer: _Writer, decode: bool
    ) -> Iterator[tuple[AuditRow | None, str]]:
        for entry in iter_ledger(git, self.new):
            yield writer.add(entry.trail, build_row(entry.trail, entry.record), is_open=False)
        self.handle.seek(0)
        for line in self.handle:
            if line.count(b"\t") != _FIELDS - 1:
                continue  # the trailer
            rid, flag, row_json, _, report = line.split(b"\t")
            found = self.continued.pop(rid.decode(), None) if flag == b"0" else None
            if found is None:
                row = row_from_json(json.loads(row_json)) if decode else None
                yield writer.copy(line, row, report[:-1].decode())
                continue
            trail, text = found
            yield writer.add(trail, build_row(trail, parse_record(text, trail.id)), is_open=False)


def _trailer(handle: BinaryIO) -> dict[str, object]:
    size = handle.seek(0, os.SEEK_END)
    handle.seek(max(0, size - 4096))
    tail = handle.read()
    if not tail.endswith(b"\n"):
        raise ValueError("a truncated cache")
    trailer = json.loads(tail[:-1].rpartition(b"\n")[2])
    if not isinstance(trailer, dict):
        raise ValueError("not a cache trailer")
    return trailer


def _checked_body(
    handle: BinaryIO, trailer: dict[str, object], wanted: set[str]
) -> dict[str, RequestTrail | None] | None:
    """Whether the lines match the trailer's digest and count; with the first completed
    cached trail of each wanted id (None: only open ones), keyed by id."""
    handle.seek(0)
    hasher = hashlib.sha256()
    count = 0
    found: dict[str, RequestTrail | None] = {}
    for line in handle:
        if line.count(b"\t") != _FIELDS - 1:
            break  # the trailer
        hasher.update(line)
        count += 1
        rid, flag, _, trail_json, _ = line.split(b"\t")
        key = rid.decode()
        if key in wanted and found.get(key) is None:
            found[key] = trail_from_json(json.loads(trail_json)) if flag == b"0" else None
    if (hasher.hexdigest(), count) != (trailer["sha256"], trailer["rows"]):
        return None
    return found


def _full(
    git: Git, head: str, runner: str, writer: _Writer, run: CacheRun
) -> Iterator[tuple[AuditRow, str]]:
    folder = HistoryFolder(runner)
    finished: set[int] = set()

    def trails() -> Iterator[RequestTrail]:
        for commit in iter_commits(git, head):
            run.commits_read += 1
            yield from folder.feed(commit)
        rest = folder.finish()
        finished.update(id(t) for t in rest)
        yield from rest

    for entry in iter_ledger(git, trails()):
        row = build_row(entry.trail, entry.record)
        yield writer.add(entry.trail, row, is_open=id(entry.trail) in finished)


class _Writer:
    """The next cache, written beside the old one and renamed over it when complete."""

    def __init__(self, path: Path, head: str, runner: str) -> None:
        self.path, self.head, self.runner = path, head, runner
        self.temp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        self.hasher = hashlib.sha256()
        self.count = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = self.temp.open("wb")

    def add(self, trail: RequestTrail, row: AuditRow, *, is_open: bool) -> tuple[AuditRow, str]:
        dumps = json.dumps
        report = row_json(row)  # JSON escapes tabs and line breaks: one field on one line
        line = "\t".join(
            (
                trail.id,
                "1" if is_open else "0",
                dumps(row_to_json(row), separators=(",", ":")),
                dumps(trail_to_json(trail), separators=(",", ":")),
                report,
            )
        )
        return self.copy(line.encode() + b"\n", row, report)

    def copy(self, line: bytes, row: _Row, report: str) -> tuple[_Row, str]:
        self.hasher.update(line)
        self.handle.write(line)
        self.count += 1
        return row, report

    def commit(self) -> None:
        trailer = {
            "format": FORMAT,
            "head": self.head,
            "runner": self.runner,
            "rows": self.count,
            "sha256": self.hasher.hexdigest(),
        }
        self.handle.write(json.dumps(trailer).encode() + b"\n")
        self.handle.close()
        os.replace(self.temp, self.path)

    def discard(self) -> None:
        self.handle.close()
        with contextlib.suppress(FileNotFoundError):
            self.temp.unlink()
