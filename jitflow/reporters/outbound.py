"""Request bodies for outbound endpoints, from ledger events. Pure.

- `json`: `{"delivery", "repository", "format": "json", "events": [...]}`, one jitflow event
  object per ledger event (`event_json`), `id` being the event's stable id.
- `ocsf`: the same envelope with OCSF events (`jitflow.reporters.ocsf`), `metadata.uid` the id.
- `splunk-hec`: HEC's `/services/collector/event` batch format: one `{"time", "host",
  "source", "sourcetype", "event"}` object per OCSF event, concatenated.
- `slack`: one incoming-webhook message, a line per event, every user-written value inert.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from jitflow.core.audit_rows import format_time
from jitflow.core.ledger_events import EventKind, LedgerEvent
from jitflow.reporters.escape import slack_text
from jitflow.reporters.ocsf import OcsfContext, linked, to_ocsf


def event_json(event: LedgerEvent, context: OcsfContext) -> dict[str, Any]:
    """One ledger event as the `json` webhook sends it."""
    row = event.row
    body: dict[str, Any] = {
        "id": event.uid,
        "type": event.kind.value,
        "time": format_time(event.at),
        "request": row.id,
        "requester": row.requester,
        "actor": event.actor,
        "policy": row.policy,
        "kind": row.kind or None,
        "resource": row.resource or None,
        "reason": row.reason or None,
        "ticket": row.ticket or None,
        "break_glass": row.break_glass,
        "approvers": list(row.approvers),
        "approved_by_oncall": dict(row.oncall) or None,
        "oncall_waived": row.oncall_waived or None,
        "merged_by": row.merged_by or None,
        "pr": row.pr,
        "issued_at": format_time(row.issued_at) or None,
        "expires_at": format_time(row.expires_at) or None,
        "extends": row.extends or None,
        "extended_by": row.extended_by or None,
        "not_revocable": row.not_revocable or None,
        "end_note": row.end_note or None,
        "detail": event.detail or None,
        "commit": event.commit,
    }
    return linked(body, event, context)


def _dumps(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def envelope(
    delivery: str, kind: str, events: Sequence[LedgerEvent], context: OcsfContext
) -> bytes:
    """The `json` and `ocsf` body."""
    render = to_ocsf if kind == "ocsf" else event_json
    return _dumps(
        {
            "delivery": delivery,
            "repository": context.repository,
            "format": kind,
            "events": [render(event, context) for event in events],
        }
    )


def hec_body(
    events: Sequence[LedgerEvent], context: OcsfContext, index: str = "", sourcetype: str = ""
) -> bytes:
    """Splunk HEC's event batch: JSON objects back to back, each wrapping one OCSF event."""
    lines = []
    for event in events:
        wrapped: dict[str, Any] = {
            "time": event.at.timestamp(),
            "host": context.repository or "jitflow",
            "source": "jitflow",
            "sourcetype": sourcetype or "_json",
            "event": to_ocsf(event, context),
        }
        if index:
            wrapped["index"] = index
        lines.append(_dumps(wrapped))
    return b"\n".join(lines)


_VERBS = {
    EventKind.MERGED: "merged",
    EventKind.ISSUED: "issued",
    EventKind.DENIED: "denied",
    EventKind.EXPIRED: "expired",
    EventKind.REVOKED: "revoked",
    EventKind.FAILED: "failed",
    EventKind.EXTENDED: "extended",
    EventKind.REVIEWED: "break-glass reviewed",
    EventKind.WARNED: "expiry warned",
}


def slack_line(event: LedgerEvent, context: OcsfContext) -> str:
    row = event.row
    what = slack_text(row.resource or row.policy)
    parts = [
        f"{_VERBS.get(event.kind, event.kind.value)}: {slack_text(row.id)}",
        f"requester {slack_text(row.requester)}",
        f"by {slack_text(event.actor)}",
        f"{slack_text(row.policy)} ({what})",
    ]
    if event.kind is EventKind.MERGED and row.reason:
        parts.append(f"reason: {slack_text(row.reason)}")
    if event.kind is EventKind.MERGED and (row.approvers or row.oncall_waived):
        parts.append(f"approved by {slack_text(', '.join(row.approvers_shown()))}")
    if row.extends and event.kind in (EventKind.MERGED, EventKind.ISSUED):
        parts.append(f"extends {slack_text(row.extends)}")
    if event.kind is EventKind.EXTENDED and row.extended_by:
        parts.append(f"replaced by its extension {slack_text(row.extended_by)}")
    elif event.detail:
        parts.append(slack_text(event.detail[:300]))
    if context.links is not None:
        # a link jitflow builds from the remote, never from request text
        parts.append(context.links.commit(event.commit))
    return " · ".join(parts)


def slack_payload(events: Sequence[LedgerEvent], context: OcsfContext) -> bytes:
    """A Slack incoming-webhook message: plain text (no mrkdwn), no link previews."""
    header = f"jitflow · {slack_text(context.repository or 'access repository')}"
    text = "\n".join([header, *(slack_line(event, context) for event in events)])
    return _dumps({"text": text, "mrkdwn": False, "unfurl_links": False, "unfurl_media": False})
