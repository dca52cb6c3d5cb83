"""`jitflow audit`: one row per request, built from git history alone (works offline)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TextIO

from jitflow.adapters.git import Git
from jitflow.core.audit_rows import AuditRow, build_row, format_time
from jitflow.errors import UsageError
from jitflow.reporters.audit_text import (
    write_csv,
    write_json,
    write_json_rows,
    write_markdown,
    write_table,
)
from jitflow.usecases.audit.gitlog import (
    LedgerEntry,
    head_of,
    iter_ledger,
    iter_trails,
    runner_email_from,
)


class ReportFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"
    MARKDOWN = "markdown"
    HTML = "html"
    OCSF = "ocsf"


@dataclass(frozen=True)
class AuditOptions:
    """What `jitflow audit` was asked for; `None` filters select everything."""

    repo: Path = Path(".")
    ref: str = "HEAD"
    since: datetime | None = None
    until: datetime | None = None
    requester: str | None = None
    policy: str | None = None
    resource: str | None = None
    format: ReportFormat = ReportFormat.TABLE
    output: Path | None = None
    now: datetime | None = None
    runner_email: str | None = None
    incremental: bool = False  # use and refresh the row cache (jitflow.usecases.audit.cache)


def iter_rows(options: AuditOptions, git: Git, head: str, now: datetime) -> Iterator[AuditRow]:
    """Rows that pass the filters, streamed (newest requests first); nothing is read before
    the first row is asked for."""
    if options.incremental:
        from jitflow.usecases.audit.cache import CacheRun, cache_path, cached_rows

        runner = runner_email_from(os.environ, options.runner_email)
        run = CacheRun(cache_path(git))
        yield from (r for r in cached_rows(git, head, runner, run) if _wanted(options, r, now))
        return
    yield from (row for _, row in iter_entries(options, git, head, now))


def _cached_json_rows(options: AuditOptions, git: Git, head: str) -> Iterator[str] | None:
    """The JSON report's rows copied from the incremental cache where they can be: every row
    is wanted (no filter). None otherwise."""
    if not options.incremental or any(
        (options.requester, options.policy, options.resource, options.since, options.until)
    ):
        return None
    from jitflow.usecases.audit.cache import CacheRun, cache_path, cached_report_rows

    runner = runner_email_from(os.environ, options.runner_email)
    return cached_report_rows(git, head, runner, CacheRun(cache_path(git)))


def iter_entries(
    options: AuditOptions, git: Git, head: str, now: datetime
) -> Iterator[tuple[LedgerEntry, AuditRow]]:
    """Ledger entries with their rows, for the rows that pass the filters."""
    runner = runner_email_from(os.environ, options.runner_email)
    for entry in iter_ledger(git, iter_trails(git, head, runner)):
        row = build_row(entry.trail, entry.record)
        if _wanted(options, row, now):
            yield entry, row


def _wanted(options: AuditOptions, row: AuditRow, now: datetime) -> bool:
    if options.requester and row.requester != options.requester:
        return False
    if options.policy and row.policy != options.policy:
        return False
    resource = (options.resource or "").lower()
    if resource and resource not in f"{row.kind} {row.resource}".lower():
        return False
    return row.overlaps(options.since, options.until, now)


@contextmanager
def _opened(output: Path | None, stdout: TextIO) -> Iterator[TextIO]:
    if output is None:
        yield stdout
        return
    try:
        handle = output.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise UsageError(f"cannot write the report to {output}: {exc.strerror}") from exc
    with handle:
        yield handle


def _filters(options: AuditOptions) -> tuple[tuple[str, str], ...]:
    named = (
        ("requester", options.requester),
        ("policy", options.policy),
        ("resource", options.resource),
        ("ref", None if options.ref == "HEAD" else options.ref),
    )
    return tuple((name, value) for name, value in named if value)


def _evidence_pack(
    options: AuditOptions, rows: list[AuditRow], git: Git, head: str, now: datetime
) -> str:
    from jitflow.reporters.audit_html import ReportContext
    from jitflow.usecases.audit.evidence import render_evidence_pack, verify_result

    header = ReportContext(
        generated_at=now,
        head=head,
        repository="",  # the pack names it from the repository's remote
        since=options.since,
        until=options.until,
        filters=_filters(options),
        verify=verify_result(options.repo, head, now, options.runner_email),
    )
    return render_evidence_pack(rows, git, header)


def run_audit(options: AuditOptions, stdout: TextIO | None = None) -> int:
    """Write the report; return the number of rows written."""
    if options.since and options.until and options.since > options.until:
        raise UsageError("--since is after --until; swap them")
    now = options.now or datetime.now(UTC)
    git = Git(options.repo)
    head = head_of(git, options.ref)
    rows = iter_rows(options, git, head, now)
    generated = format_time(now)
    if options.format is ReportFormat.HTML:
        collected = list(rows)
        html = _evidence_pack(options, collected, git, head, now)  # before opening the file
        with _opened(options.output, stdout or sys.stdout) as out:
            out.write(html)
        return len(collected)
    with _opened(options.output, stdout or sys.stdout) as out:
        if options.format is ReportFormat.JSON:
            copied = _cached_json_rows(options, git, head)
            if copied is not None:
                return write_json_rows(copied, out, generated_at=generated, head=head)
            return write_json(rows, out, generated_at=generated, head=head)
        if options.format is ReportFormat.CSV:
            return write_csv(rows, out)
        if options.format is ReportFormat.MARKDOWN:
            return write_markdown(rows, out, generated_at=generated, head=head)
        if options.format is ReportFormat.OCSF:
            from jitflow.usecases.audit.ocsf_export import write_ocsf

            return write_ocsf(iter_entries(options, git, head, now), out, git)
        return write_table(rows, out, fit=out.isatty())
