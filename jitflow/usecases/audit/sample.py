"""`jitflow audit sample`: a reproducible random sample of provisioning and termination events,
each with the evidence an auditor asks for, as one HTML (or, through Chromium, PDF) document."""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from jitflow.adapters.git import Git
from jitflow.adapters.git.log import summaries
from jitflow.core.audit_rows import AuditRow, build_row
from jitflow.core.history import RequestTrail
from jitflow.core.sampling import SampleEvent, SampleKind, draw, population
from jitflow.errors import UsageError
from jitflow.reporters.audit_html import Flag
from jitflow.reporters.audit_sample_html import (
    CommitInfo,
    SampleContext,
    SampledGrant,
    render_sample,
)
from jitflow.usecases.audit.evidence import verify_result
from jitflow.usecases.audit.gitlog import head_of, iter_ledger, iter_trails, runner_email_from
from jitflow.usecases.audit.repo_links import repository_links, repository_name

ALL_KINDS = (SampleKind.ISSUE, SampleKind.END)


@dataclass(frozen=True)
class SampleOptions:
    repo: Path = Path(".")
    ref: str = "HEAD"
    count: int = 25
    seed: int | None = None  # None: a fresh seed, printed so the pick can be repeated
    kinds: tuple[SampleKind, ...] = ALL_KINDS
    since: datetime | None = None
    until: datetime | None = None
    now: datetime | None = None
    runner_email: str | None = None
    output: Path | None = None  # .pdf prints through Chromium; anything else is HTML


@dataclass(frozen=True)
class SampleResult:
    seed: int
    sampled: int
    population: int


def _rows(git: Git, head: str, runner: str) -> dict[str, tuple[RequestTrail, AuditRow]]:
    rows: dict[str, tuple[RequestTrail, AuditRow]] = {}
    for entry in iter_ledger(git, iter_trails(git, head, runner)):
        rows[entry.trail.id] = (entry.trail, build_row(entry.trail, entry.record))
    return rows


def _commit_infos(git: Git, row: AuditRow) -> tuple[CommitInfo, ...]:
    ev = row.evidence
    steps = [
        (label, sha)
        for label, sha in (
            ("request", ev.request_commit),
            ("merge", ev.merge_commit),
            ("issue", ev.issue_commit),
            ("revocation", ev.revocation_commit),
            ("end", ev.end_commit),
        )
        if sha
    ]
    if not steps:
        return ()
    found = summaries(git, [s for _, s in steps])
    return tuple(
        CommitInfo(label, sha, *found.get(sha, ("(not in this history)", "", None)))
        for label, sha in steps
    )


def _text(data: bytes | None) -> str:
    return data.decode("utf-8", "replace") if data else ""


def _evidence(
    git: Git, event: SampleEvent, trail: RequestTrail, flags: tuple[Flag, ...]
) -> SampledGrant:
    row = event.row
    policy_path = f"policies/{row.policy}.yaml"
    at = row.evidence.policy_commit
    request = git.cat_blobs([trail.request_blob])[0] if trail.request_blob else None
    return SampledGrant(
        event=event,
        request_text=_text(request),
        policy_path=policy_path,
        policy_text=_text(git.show_bytes(at, policy_path)) if at else "",
        groups_text=_text(git.show_bytes(at, "policies/groups.yaml")) if at else "",
        commits=_commit_infos(git, row),
        flags=flags,
    )


def run_sample(options: SampleOptions, stdout: TextIO | None = None) -> SampleResult:
    if options.count < 1:
        raise UsageError("--count must be at least 1")
    if options.since and options.until and options.since > options.until:
        raise UsageError("--since is after --until; swap them")
    now = options.now or datetime.now(UTC)
    seed = options.seed if options.seed is not None else secrets.randbelow(10**9)
    git = Git(options.repo)
    head = head_of(git, options.ref)
    rows = _rows(git, head, runner_email_from(os.environ, options.runner_email))
    events = population((r for _, r in rows.values()), options.kinds, options.since, options.until)
    chosen = draw(events, options.count, seed)
    verdict = verify_result(options.repo, head, now, options.runner_email)
    grants = [
        _evidence(
            git,
            event,
            rows[event.row.id][0],
            tuple(v for v in verdict.violations if v.request_id == event.row.id),
        )
        for event in chosen
    ]
    links = repository_links(git)
    context = SampleContext(
        generated_at=now,
        head=head,
        repository=repository_name(git, links),
        seed=seed,
        count=options.count,
        kinds=options.kinds,
        population=len(events),
        links=links,
        since=options.since,
        until=options.until,
    )
    _write(render_sample(grants, context), options.output, stdout or sys.stdout)
    return SampleResult(seed, len(grants), len(events))


def _write(html: str, output: Path | None, stdout: TextIO) -> None:
    if output is None:
        stdout.write(html)
        return
    if output.suffix.lower() != ".pdf":
        try:
            output.write_text(html, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write the sample to {output}: {exc.strerror}") from exc
        return
    from jitflow.adapters.chromium import print_to_pdf

    with tempfile.TemporaryDirectory(prefix="jitflow-sample-") as scratch:
        page = Path(scratch) / "sample.html"
        page.write_text(html, encoding="utf-8")
        print_to_pdf(page, output)
