"""Reading the ledger out of git: one `git log` stream (adapters/git/log.py) plus batched
`git cat-file --batch`.

No process per commit: request trails are folded out of the one streamed history, and ledger
blobs are read a few hundred at a time by blob id, all through one `git cat-file` process.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

from jitflow.adapters.git import Git
from jitflow.adapters.git.log import iter_commits
from jitflow.core.history import HistoryFolder, RequestTrail
from jitflow.core.plain_yaml import load_plain
from jitflow.core.yamlio import YamlError, load_yaml

DEFAULT_RUNNER_EMAIL = "jitflow-sync@users.noreply.github.com"
BLOB_BATCH = 512

T = TypeVar("T")


def runner_email_from(environ: Mapping[str, str], explicit: str | None = None) -> str:
    """The runner identity whose commits own the ledger folders."""
    return explicit or environ.get("JITFLOW_RUNNER_EMAIL") or DEFAULT_RUNNER_EMAIL


class LedgerEntry(NamedTuple):
    """A completed trail with the ledger texts it points at, parsed. (A named tuple, not a
    frozen dataclass: an audit makes one per request, and a tuple is several times cheaper.)"""

    trail: RequestTrail
    record: dict[str, Any] | None
    record_text: bytes | None
    request_text: bytes | None


def head_of(git: Git, ref: str) -> str:
    return git.rev_parse(ref)


def iter_trails(git: Git, head: str, runner_email: str) -> Iterator[RequestTrail]:
    """Completed request trails, newest request first-ish, in one streaming pass."""
    folder = HistoryFolder(runner_email)
    for commit in iter_commits(git, head):
        yield from folder.feed(commit)
    yield from folder.finish()


def iter_ledger(
    git: Git, trails: Iterable[RequestTrail], *, with_request_text: bool = False
) -> Iterator[LedgerEntry]:
    """Attach each trail's parsed ledger record, reading blobs in batches through one
    `git cat-file` process (started with the first batch: after `git log`, and not at all
    for an empty history). The next batch is asked for before this one is parsed, so git
    finds those blobs while the records are read."""
    chunks = batches(trails, BLOB_BATCH)
    batch = next(chunks, None)
    if batch is None:
        return
    with git.object_reader() as reader:
        answers = reader.ask(_specs(batch, with_request_text))
        for following in chunks:
            ahead = reader.ask(_specs(following, with_request_text))
            yield from _resolve(batch, answers, with_request_text)
            batch, answers = following, ahead
        yield from _resolve(batch, answers, with_request_text)


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of `size` (the last one shorter), read as they are needed."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _specs(batch: Sequence[RequestTrail], with_request_text: bool) -> list[str]:
    specs: list[str] = []
    for trail in batch:
        specs.append(trail.record_blob or "0" * 40)
        if with_request_text:
            specs.append(trail.request_blob or "0" * 40)
    return specs


def _resolve(
    batch: Sequence[RequestTrail], answers: Iterator[bytes | None], with_request_text: bool
) -> Iterator[LedgerEntry]:
    """Each trail's entry, its blobs read from `answers` one by one as it is parsed."""
    for trail in batch:
        record_text = next(answers)
        request_text = next(answers) if with_request_text else None
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
