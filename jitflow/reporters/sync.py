"""`jitflow sync`'s output: what was done (or would be), outbound deliveries, problems.

Every line a requester's text can reach goes through `log_line`, so a hostile request id or
reason can't forge a workflow command in the run's log.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Protocol

from jitflow.core.ledger import Transition
from jitflow.reporters.escape import log_line


class SyncOutcome(Protocol):
    """What a sync run reports (the sync use-case's report)."""

    @property
    def planned(self) -> Sequence[Transition]: ...

    @property
    def done(self) -> Sequence[tuple[str, str, str]]: ...  # (event, request id, detail)

    @property
    def warnings(self) -> Sequence[str]: ...

    @property
    def errors(self) -> Sequence[str]: ...

    @property
    def ok(self) -> bool: ...


class Delivery(Protocol):
    """One outbound endpoint's result in this run."""

    @property
    def name(self) -> str: ...

    @property
    def events(self) -> int: ...


def render_sync_text(report: SyncOutcome, dry_run: bool, deliveries: Sequence[Delivery]) -> str:
    """The plan (dry run) or what was done, then the events each endpoint accepted."""
    if dry_run:
        lines = [
            log_line(f"would {t.action.value}: {t.request_id} ({t.why})") for t in report.planned
        ]
        lines += [] if report.planned else ["nothing to do"]
    else:
        lines = [
            log_line(f"{event}: {request_id}" + (f" ({detail})" if detail else ""))
            for event, request_id, detail in report.done
        ]
        lines += [] if report.done else ["nothing to do"]
        lines += [
            f"outbound {result.name}: {result.events} events delivered"
            for result in deliveries
            if result.events
        ]
    return "".join(f"{line}\n" for line in lines)


def render_sync_problems(report: SyncOutcome) -> str:
    """The warnings, then the errors, one line each (for stderr)."""
    lines = [log_line(f"jitflow: warning: {warning}") for warning in report.warnings]
    lines += [log_line(f"jitflow: error: {error}") for error in report.errors]
    return "".join(f"{line}\n" for line in lines)


def sync_record(report: SyncOutcome, dry_run: bool) -> dict[str, object]:
    """What `--format json` prints: the plan (dry run) or what was done, and any problems."""
    record: dict[str, object] = {"dry_run": dry_run, "ok": report.ok}
    if dry_run:
        record["planned"] = [
            {"action": t.action.value, "id": t.request_id, "why": t.why} for t in report.planned
        ]
    else:
        record["done"] = [
            {"event": event, "id": request_id, "detail": detail}
            for event, request_id, detail in report.done
        ]
    record["warnings"] = list(report.warnings)
    record["errors"] = list(report.errors)
    return record


def render_sync_json(
    report: SyncOutcome, dry_run: bool, deliveries: Sequence[Delivery] | None
) -> str:
    """The record, with each outbound endpoint's result when delivery ran."""
    record = sync_record(report, dry_run)
    if deliveries is not None:
        record["outbound"] = [dict(vars(result)) for result in deliveries]
    return json.dumps(record, indent=2) + "\n"
