"""`jitflow audit --incremental`: the cache gives the same report as a full read, reads only
new commits, is rebuilt when deleted, damaged or stale, and `audit verify` never reads it."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from jitflow.adapters.git import Git
from jitflow.core.audit_codec import row_from_json, row_to_json
from jitflow.usecases.audit import cache as cache_module
from jitflow.usecases.audit.cache import CacheRun, cache_path, cached_rows
from jitflow.usecases.audit.report import AuditOptions, ReportFormat, run_audit
from jitflow.usecases.audit.verify import VerifyOptions, run_verify
from tests.audit.history_builder import RUNNER_EMAIL, RUNNER_NAME, T0, Handle, HistoryBuilder
from tests.audit.synthetic import synthetic_rows

NOW = T0 + timedelta(days=30)


def report(builder: HistoryBuilder, *, incremental: bool, **filters: str) -> str:
    out = builder.root.parent / f"report-{incremental}.json"
    options = AuditOptions(
        repo=builder.root,
        format=ReportFormat.JSON,
        output=out,
        now=NOW,
        incremental=incremental,
        **filters,  # type: ignore[arg-type]
    )
    run_audit(options)
    return out.read_text()


def cache_run(builder: HistoryBuilder) -> CacheRun:
    """One incremental read, consumed; what it did with the cache."""
    git = Git(builder.root)
    run = CacheRun(cache_path(git))
    for _ in cached_rows(git, builder.head(), RUNNER_EMAIL, run):
        pass
    return run


def assert_same_as_full(builder: HistoryBuilder) -> None:
    assert report(builder, incremental=True) == report(builder, incremental=False)


def first_days(builder: HistoryBuilder) -> tuple[Handle, Handle]:
    """An expired grant, one still active and one merged but not issued."""
    builder.lifecycle("alice", "bob", T0)
    active = builder.request("carol", at=T0 + timedelta(hours=1), duration="2h")
    builder.merge(active, "erin", T0 + timedelta(hours=1, minutes=1))
    builder.issue(active, T0 + timedelta(hours=1, minutes=2))
    waiting = builder.request("dave", at=T0 + timedelta(hours=2))
    builder.merge(waiting, "bob", T0 + timedelta(hours=2, minutes=1))
    return active, waiting


@pytest.fixture
def builder(tmp_path: Path) -> HistoryBuilder:
    built = HistoryBuilder(tmp_path / "ledger")
    first_days(built)
    return built


def test_new_commits_are_folded_into_the_cached_rows(tmp_path: Path) -> None:
    builder = HistoryBuilder(tmp_path / "ledger")
    active, waiting = first_days(builder)
    cold = cache_run(builder)
    assert (cold.used, cold.reason) == (False, "no cache yet")
    assert cache_path(Git(builder.root)) == builder.root / ".git" / "jitflow" / "audit-cache.jsonl"
    before = builder.head()

    # New commits continue cached trails (issue, revoke, post-review) and add new ones.
    builder.issue(waiting, T0 + timedelta(hours=3))
    builder.revoke(active, "erin", "bob", T0 + timedelta(hours=3, minutes=5))
    glass = builder.lifecycle("dave", "erin", T0 + timedelta(days=1), break_glass=True)
    builder.commit(  # the runner records bob's review
        RUNNER_NAME,
        f"Review\n\nJitflow-Event: post-review\nJitflow-Request: {glass.id}\n"
        "Jitflow-Reviewed-By: bob",
        T0 + timedelta(days=1, hours=2),
        email=RUNNER_EMAIL,
        allow_empty=True,
        signer=builder.kit,
    )
    warm = cache_run(builder)
    new_commits = int(builder.git.run("rev-list", "--count", f"{before}..HEAD"))
    assert (warm.used, warm.commits_read, warm.rows) == (True, new_commits, 4)
    assert_same_as_full(builder)
    assert (cache_run(builder).used, cache_run(builder).commits_read) == (True, 0)


def test_the_json_report_copies_cached_rows_and_renders_only_touched_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """O(new commits): with a warm cache, no unchanged row is decoded or rendered again."""
    builder = HistoryBuilder(tmp_path / "ledger")
    _, waiting = first_days(builder)
    full_before = report(builder, incremental=False)
    assert report(builder, incremental=True) == full_before  # builds the cache
    builder.issue(waiting, T0 + timedelta(hours=3))  # touches one cached row
    rendered: list[str] = []
    real_row_json = cache_module.row_json
    monkeypatch.setattr(cache_module, "row_from_json", _never)
    monkeypatch.setattr(
        cache_module, "row_json", lambda row: rendered.append(row.id) or real_row_json(row)
    )
    warm = report(builder, incremental=True)
    monkeypatch.undo()
    assert rendered == [waiting.id]
    assert warm == report(builder, incremental=False) != full_before


def _never(data: object) -> object:
    raise AssertionError("a cached row was decoded")


def test_filters_apply_to_cached_rows(builder: HistoryBuilder) -> None:
    cache_run(builder)
    for filters in ({"requester": "carol"}, {"policy": "billing-read"}):
        assert report(builder, incremental=True, **filters) == report(
            builder, incremental=False, **filters
        )


def test_a_deleted_cache_is_rebuilt(builder: HistoryBuilder) -> None:
    cache_run(builder)
    cache_path(Git(builder.root)).unlink()
    assert cache_run(builder).used is False
    assert cache_run(builder).used is True
    assert_same_as_full(builder)


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


@pytest.mark.parametrize(
    "damage",
    [
        lambda lines: lines[:-1],  # the trailer lost (a truncated write)
        lambda lines: [lines[0].replace(b'"requester":"', b'"requester":"x'), *lines[1:]],
        lambda lines: lines[1:],  # a row dropped
        lambda lines: [b"not a cache\n"],
        lambda lines: [],
    ],
    ids=["truncated", "row-edited", "row-dropped", "garbage", "empty"],
)
def test_a_damaged_or_edited_cache_is_ignored_and_rebuilt(
    builder: HistoryBuilder, damage: object
) -> None:
    cache_run(builder)
    path = cache_path(Git(builder.root))
    path.write_bytes(b"".join(damage(_lines(path))))  # type: ignore[operator]
    rebuilt = cache_run(builder)
    assert rebuilt.used is False and rebuilt.reason
    assert cache_run(builder).used is True  # the rebuilt cache is good again
    assert_same_as_full(builder)


def test_a_cache_for_another_runner_or_a_rewritten_main_is_not_used(
    builder: HistoryBuilder,
) -> None:
    git = Git(builder.root)
    run = CacheRun(cache_path(git))
    list(cached_rows(git, builder.head(), "someone-else@example.com", run))
    assert cache_run(builder).reason == "the cache was written for another runner or format"

    builder.git.run("reset", "-q", "--hard", "HEAD~2")  # main rewritten below the cached head
    cache_run(builder)
    builder.git.run("commit", "-q", "--amend", "-m", "rewritten", env=builder._identity("x", T0))
    stale = cache_run(builder)
    assert (stale.used, stale.reason) == (False, "the cached head is not in today's history")
    assert_same_as_full(builder)


def test_audit_verify_never_reads_the_cache(builder: HistoryBuilder) -> None:
    """A well-forged cache (digest recomputed) that hides a hand-made grant: the report
    believes it, as documented; verify reads history and still flags the grant."""
    builder.write("requests/active/mallory-sneaky.yaml", "policy: orders-db-write\n")
    builder.commit("mallory", "add access", T0 + timedelta(days=1))
    cache_run(builder)
    path = cache_path(Git(builder.root))
    *body, trailer = _lines(path)
    kept = [line for line in body if not line.startswith(b"mallory-sneaky\t")]
    assert len(kept) == len(body) - 1
    fields = json.loads(trailer)
    fields.update(rows=len(kept), sha256=hashlib.sha256(b"".join(kept)).hexdigest())
    path.write_bytes(b"".join(kept) + json.dumps(fields).encode() + b"\n")
    assert "mallory-sneaky" not in report(builder, incremental=True)

    verdict = run_verify(VerifyOptions(repo=builder.root, now=NOW))
    assert "mallory-sneaky" in {v.request_id for v in verdict.violations}
    assert "mallory-sneaky" in report(builder, incremental=False)


def test_rows_round_trip_through_the_cache_codec() -> None:
    rows = synthetic_rows(300)
    assert [row_from_json(json.loads(json.dumps(row_to_json(r)))) for r in rows] == rows


def test_ids_and_times_read_back_exactly() -> None:
    (row,) = synthetic_rows(1)
    data = row_to_json(row)
    data["issued_at"] = datetime(2026, 1, 1).isoformat()  # no zone: not a ledger time
    with pytest.raises(ValueError, match="zone"):
        row_from_json(data)
