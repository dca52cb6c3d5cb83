"""Walking history (one streamed `git log --raw -z` parsed into commits), one commit's facts,
and searches of commit messages.

No process per commit: records are delimited by a random marker (so a crafted commit message
can't forge a record), and the output is read in chunks, never held whole.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from jitflow.adapters.git.runner import Git
from jitflow.core.history import Commit, FileChange, parse_time
from jitflow.core.times import format_time
from jitflow.errors import GitError

_FIELDS = 7  # sha+parents, author name, author email, committer email, time, body, changes


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
    ids_raw, author_name, author_email, committer_email, timestamp, body, changes_raw = parts
    ids = ids_raw.decode().split()
    sha = ids[0]
    return Commit(  # positional: several times cheaper than keywords for a named tuple
        sha,
        tuple(ids[1:]),
        author_name.decode("utf-8", "replace"),
        author_email.decode("utf-8", "replace"),
        committer_email.decode("utf-8", "replace"),
        _from_timestamp(int(timestamp), UTC),
        body.decode("utf-8", "replace"),
        _parse_changes(changes_raw),
        sha == expected_main,
    )


_from_timestamp = datetime.fromtimestamp


def _parse_changes(raw: bytes) -> tuple[FileChange, ...]:
    """`:<old mode> <new mode> <old id> <new id> <status>` NUL `<path>` NUL, repeated, after
    the NUL that ends the message. Decoded at once: surrogateescape gives each path what
    decoding it alone would (UTF-8 resynchronises at every ASCII byte), and the rest is ASCII.
    Read pairwise; anything else than that shape is read item by item."""
    items = raw.decode("utf-8", "surrogateescape").split("\0")
    changes = []
    for meta, path in zip(items[1::2], items[2::2], strict=False):
        fields = meta.split(" ")  # "[\n]:<old mode>", new mode, old id, new id, status
        if len(fields) != _META_FIELDS or fields[0][-7:-6] != ":":
            return _parse_changes_itemwise(items)
        changes.append(FileChange(fields[4][:1], path, fields[2], fields[3]))
    return tuple(changes)


_META_FIELDS = 5


def _parse_changes_itemwise(items: list[str]) -> tuple[FileChange, ...]:
    count = len(items)
    changes = []
    index = 0
    while index < count:
        meta = items[index].strip("\n")
        index += 1
        if meta[:1] != ":":
            continue
        fields = meta.split(" ")
        path = items[index] if index < count else ""
        index += 1
        if len(fields) >= _META_FIELDS:
            changes.append(FileChange(fields[4][:1], path, fields[2], fields[3]))
    return tuple(changes)


# -- one commit's facts, and message searches ------------------------------------------------


def author_name(git: Git, commit: str) -> str:
    return git.run("log", "-1", "--format=%an", commit)


def committed_at(git: Git, commit: str) -> datetime:
    return datetime.fromisoformat(git.run("log", "-1", "--format=%cI", commit))


def last_change_of(git: Git, tip: str, path: str) -> str:
    """The newest commit of `tip`'s first-parent line that changed `path` ("" when none)."""
    return git.run("log", "-1", "--first-parent", "--format=%H", tip, "--", path)


def paths_changed_between(git: Git, base: str, tip: str) -> list[str]:
    """The paths the commits after `base` up to `tip` changed (one entry per change)."""
    return git.run("log", "--format=", "--name-only", f"{base}..{tip}").split()


def summaries(git: Git, shas: Sequence[str]) -> dict[str, tuple[str, str, datetime]]:
    """Subject, author name and commit time of each of `shas` present here."""
    out = git.run("log", "--no-walk=unsorted", "--format=%H%x1f%s%x1f%an%x1f%ct", *shas)
    found = {}
    for line in out.splitlines():
        sha, subject, author, stamp = line.split("\x1f")
        found[sha] = (subject, author, datetime.fromtimestamp(int(stamp), UTC))
    return found


def first_parent_messages(git: Git, tip: str, since: datetime, pattern: str) -> list[str]:
    """Messages of `tip`'s first-parent commits since `since` with a line matching the basic
    regular expression `pattern`."""
    log = git.run(
        "log",
        "--first-parent",
        f"--since={format_time(since)}",
        "--format=%B%x00",
        f"--grep={pattern}",
        tip,
    )
    return log.split("\0")


def messages_containing(git: Git, tip: str, since: datetime, text: str) -> list[str]:
    """Messages of the commits in `tip`'s history since `since` that contain `text`."""
    out = git.execute(
        [
            "log",
            "-z",
            "--format=%B",
            "--fixed-strings",
            f"--grep={text}",
            f"--since={format_time(since)}",
            tip,
        ]
    ).stdout.decode(errors="replace")
    return out.split("\0")


# -- main's first-parent line with the files each commit changed -----------------------------


@dataclass(frozen=True)
class FirstParentCommit:
    sha: str
    committer_email: str
    committed_at: datetime | None
    trailer: str  # the values of the trailer asked for, comma-separated ("" when none)
    changes: tuple[tuple[str, str], ...]  # (status letter, path)
    second_trailer: str = ""  # the values of the second trailer asked for, if any


def first_parent_commits(
    git: Git, tip: str, limit: int | None, trailer: str, second: str = ""
) -> Iterator[FirstParentCommit]:
    """Main's first-parent commits from `tip`, newest first, with the files each changed and
    the values of the `trailer` key (and of the `second` key) in its message."""
    args = ["log", "--first-parent", "--no-renames", "--name-status", "-z"]
    args.append(f"--format={_first_parent_format(trailer, second)}")
    if limit is not None:
        args.append(f"--max-count={limit}")
    out = git.execute([*args, tip, "--"]).stdout.decode("utf-8", errors="replace")
    for chunk in out.split("\x01"):
        if chunk:
            yield _parse_first_parent(chunk)


def first_parent_count(git: Git, tip: str, limit: int) -> int:
    """How many of main's first-parent commits from `tip` are here, counting up to `limit`
    (in a shallow clone the walk stops at the boundary)."""
    return int(git.run("rev-list", "--first-parent", "--count", f"--max-count={limit}", tip))


def first_parents_oldest_first(
    git: Git, tip: str, trailer: str, second: str = ""
) -> Iterator[FirstParentCommit]:
    """The same as `first_parent_commits`, oldest first, streamed (the whole line)."""
    args = ["log", "--reverse", "--first-parent", "--no-renames", "--name-status", "-z"]
    args.append(f"--format={_first_parent_format(trailer, second)}")
    buffer = ""
    for line in git.stream(*args, tip, "--"):
        buffer += line.decode("utf-8", errors="replace")
        *complete, buffer = buffer.split("\x01")
        for chunk in complete:
            if chunk:
                yield _parse_first_parent(chunk)
    if buffer:
        yield _parse_first_parent(buffer)


def _first_parent_format(trailer: str, second: str) -> str:
    first, other = (
        f"%(trailers:key={key},valueonly,separator=%x2C)" if key else ""
        for key in (trailer, second)
    )
    return f"%x01%H%x02%ce%x02%cI%x02{first}%x02{other}%x02"


def _parse_first_parent(chunk: str) -> FirstParentCommit:
    sha, email, when, trailer, second, rest = chunk.split("\x02", 5)
    items = [i for i in (i.strip("\n") for i in rest.split("\0")) if i]
    changes = tuple(zip(items[0::2], items[1::2], strict=False))
    return FirstParentCommit(sha, email, parse_time(when), trailer, changes, second)


def first_mention(git: Git, text: str, folder: str) -> datetime | None:
    """The committer date of the oldest commit that added or removed `text` in `folder`
    (`git log -S`, pickaxe over that folder's history only); None: no such commit."""
    dates = git.run("log", "--reverse", "--format=%cI", f"-S{text}", "--", folder).split()
    return datetime.fromisoformat(dates[0]) if dates else None
