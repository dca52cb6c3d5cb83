"""The HTML evidence pack of `jitflow audit --format html`: the rows, plus what the header
needs (repository and its GitHub links, filters, the commit, `audit verify`'s verdict)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from jitflow.adapters.git import Git
from jitflow.core.audit_rows import AuditRow
from jitflow.reporters.audit_html import ReportContext, VerifyResult, render_html
from jitflow.usecases.audit.repo_links import repository_links, repository_name


def verify_result(repo: Path, ref: str, now: datetime, runner_email: str | None) -> VerifyResult:
    """`audit verify` over the same history (offline checks), for the report's verdict."""
    from jitflow.usecases.audit.verify import VerifyOptions, run_verify

    report = run_verify(VerifyOptions(repo=repo, ref=ref, now=now, runner_email=runner_email))
    return VerifyResult(report.requests_checked, report.violations)


def render_evidence_pack(rows: Sequence[AuditRow], git: Git, header: ReportContext) -> str:
    """The pack under `header`, whose repository name and GitHub links are `git`'s."""
    links = repository_links(git)
    context = replace(header, repository=repository_name(git, links), links=links)
    return render_html(rows, context)
