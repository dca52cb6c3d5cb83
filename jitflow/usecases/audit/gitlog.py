"""Reading the ledger out of git: one `git log` stream plus batched `git cat-file --batch`.

No process per commit: the whole history is one streamed `git log --raw -z` whose records are
delimited by a random marker (so a crafted commit message can't forge a record), and ledger
blobs are read a few hundred at a time by blob id.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jitflow.adapters.git import Git
from jitflow.core.history import (
    Commit,
    FileChange,
    HistoryFolder,
    RequestTrail,
)
from jitflow.core.plain_yaml import load_plain
from jitflow.core.yamlio import YamlError, load_yaml
from jitflow.errors import GitError

DEFAULT_RUNNER_EMAIL = "jitflow-sync@users.noreply.github.com"
BLOB_BATCH = 512
_FIELDS = 7  # sha+parents, author name, author email, committer email, time, body, changes


@dataclass(frozen=True)
class LedgerEntry:
    """A completed trail with the ledger texts it points at, parsed."""

    trail: RequestTrail
    record: dict[str, Any] | None
    record_text: bytes | None
    request_text: bytes | None


def head_of(git: Git, ref: str) -> str:
    return git.rev_parse(ref)


def iter_commits(git: Git, head: str, since: str | None = None) -> Iterator[Commit]:
    """Every commit reachable from `head` (and not from `since`, when given), newest first,
    each after all of its children."""
    token = secrets.token_hex(8).encode()
    record_mark = b"\x1e" + token
    field_mark = b"\x1f" + token
    fmt = "%x1e{t}%H %P%x1f{t}%an%x1f{t}%ae%x1f{t}%ce%x1f{t}%ct%x1f{t}%B%x1f{t}".format(
        t=token.decode()
    )
    chunks = git.stream_chunks(
        "log",
        "--topo-order",
        "-z",
        "--raw",
        "--no-abbrev",
        "--no-renames",
        "--diff-merges=first-parent",
        f"--format={fmt}",
        head,
        *([f"^{since}"] if since else []),
        "--",
    )
    expected_main = head
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        if record_mark not in buffer:
            continue
        *complete, buffer = buffer.split(record_mark)
        for raw in complete:
            if raw:
                commit = _parse_record(raw, field_mark, expected_main)
                if commit.on_main:
                    expected_main = commit.parents[0] if commit.parents else ""
                yield commit
    if buffer:
        yield _parse_record(buffer, field_mark, expected_main)


def _parse_record(raw: bytes, field_mark: bytes, expected_main: str) -> Commit:
    parts = raw.split(field_mark)
    if len(parts) != _FIELDS:
        raise GitError("git log printed a record jitflow cannot read; is this a git repository?")
    ids, author_name, author_email, committer_email, timestamp, body, changes_raw = parts
    sha, *parents = ids.decode().split()
    return Commit(
        sha=sha,
        parents=tuple(parents),
        author_name=author_name.decode("utf-8", "replace"),
        author_email=author_email.decode("utf-8", "replace"),
        committer_email=committer_email.decode("utf-8", "replace"),
        committed_at=datetime.fromtimestamp(int(timestamp), UTC),
        message=body.decode("utf-8", "replace"),
        changes=tuple(_parse_changes(changes_raw)),
        on_main=sha == expected_main,
    )


def _parse_changes(raw: bytes) -> Iterator[FileChange]:
    items = raw.split(b"\0")
    count = len(items)
    index = 0
    while index < count:
        meta = items[index].strip(b"\n")
        index += 1
        if meta[:1] != b":":
            continue
        fields = meta[1:].decode().split(" ")
        path = items[index].decode("utf-8", "surrogateescape") if index < count else ""
        index += 1
        if len(fields) >= 5:
            yield FileChange(fields[4][:1], path, fields[2], fields[3])


def iter_trails(git: Git, head: str, runner_email: str) -> Iterator[RequestTrail]:
    """Completed request trails, newest request first-ish, in one streaming pass."""
    folder = HistoryFolder(runner_email)
    for commit in iter_commits(git, head):
        yield from folder.feed(commit)
    yield from folder.finish()


def iter_ledger(
    git: Git, trails: Iterable[RequestTrail], *, with_request_text: bool = False
) -> Iterator[LedgerEntry]:
    """Attach each trail's parsed ledger record, reading blobs in batches."""
    batch: list[RequestTrail] = []
    for trail in trails:
        batch.append(trail)
        if len(batch) >= BLOB_BATCH:
            yield from _resolve(git, batch, with_request_text)
            batch = []
    if batch:
        yield from _resolve(git, batch, with_request_text)


def _resolve(
    git: Git, batch: Sequence[RequestTrail], with_request_text: bool
) -> Iterator[LedgerEntry]:
    specs: list[str] = []
    for trail in batch:
        specs.append(trail.record_blob or "0" * 40)
        if with_request_text:
            specs.append(trail.request_blob or "0" * 40)
    blobs = git.cat_blobs(specs)
    step = 2 if with_request_text else 1
    for position, trail in enumerate(batch):
        record_text = blobs[position * step]
        request_text = blobs[position * step + 1] if with_request_text else None
        yield LedgerEntry(trail, parse_record(record_text, trail.id), record_text, request_text)


def parse_record(content: bytes | None, request_id: str) -> dict[str, Any] | None:
    """A ledger record as data; None when missing or not YAML (the row still shows commits)."""
    if content is None:
        return None
    plain = load_plain(content)
    if plain is not None:
        return plain
    try:
        data = load_yaml(content, f"requests/{request_id}.yaml").data
    except YamlError:
        return None
    return data if isinstance(data, dict) else None
