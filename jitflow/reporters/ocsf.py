"""Ledger events as OCSF 1.8.0 events (JSON objects a SIEM ingests as they are). Pure.

Class: User Access Management (3005, category Identity & Access Management). A grant is the
assignment of privileges to a user for a while, and its end is their revocation, which are
exactly this class's activities `Assign Privileges` (1) and `Revoke Privileges` (2); the
privileges, the user who gets them, the actor who made it happen and the resource are its
own attributes. Account Change (3001) is about the account itself (create, lock, password),
Authorize Session (3003) about one logon session, Group Management (3006) only fits
identity-group grants; keeping every jitflow event in one class lets one SIEM query follow
a grant through its whole life (`metadata.correlation_uid` is the request id).

- issued: Assign Privileges, Success.  denied: Assign Privileges, Failure (never issued).
- expired, revoked: Revoke Privileges, Success.  failed (issued, undeliverable, revoked at
  once): Revoke Privileges, Success, with the finding in `status_detail`.
- extended (the grant was replaced by its approved extension, which is issued as a grant of
  its own): Revoke Privileges, Success; `unmapped.jitflow.extended_by` names the extension,
  and the extension's events carry `extends` (the grant it replaced).
- request merged (the approval), break-glass reviewed (the post-hoc approval): Other (99),
  named in `activity_name`; they change no privilege but are the evidence for one.
- expiry warned (the runner told the requester on the PR that the grant ends soon): Other
  (99) "Warn Before Expiry", Success; it changes no privilege. `status_detail` and
  `end_time` say when the grant ends.

The git commit that records the event is `metadata.original_event_uid` (plus its URL and the
PR's under `unmapped.jitflow` when the remote is a GitHub repository). Approvals given as on
call are `unmapped.jitflow.approved_by_oncall` ({login: rotation}), a waiver for an on-call
requester `oncall_waived` (the rotation); a secret that can't be revoked early says why in
`not_revocable`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jitflow import __version__
from jitflow.core.audit_rows import format_time
from jitflow.core.ledger_events import EventKind, LedgerEvent
from jitflow.core.links import RepoLinks

OCSF_VERSION = "1.8.0"
CLASS_UID, CLASS_NAME = 3005, "User Access Management"
CATEGORY_UID, CATEGORY_NAME = 3, "Identity & Access Management"
ASSIGN, REVOKE, OTHER = 1, 2, 99
_ACTIVITY_NAMES = {ASSIGN: "Assign Privileges", REVOKE: "Revoke Privileges"}
_SUCCESS, _FAILURE = (1, "Success"), (2, "Failure")
_INFO, _LOW, _MEDIUM = (1, "Informational"), (2, "Low"), (3, "Medium")

# kind -> (activity_id, activity name when "Other", status)
_MAPPING: Mapping[EventKind, tuple[int, str, tuple[int, str]]] = {
    EventKind.MERGED: (OTHER, "Approve Request", _SUCCESS),
    EventKind.ISSUED: (ASSIGN, "", _SUCCESS),
    EventKind.DENIED: (ASSIGN, "", _FAILURE),
    EventKind.EXPIRED: (REVOKE, "", _SUCCESS),
    EventKind.REVOKED: (REVOKE, "", _SUCCESS),
    EventKind.FAILED: (REVOKE, "", _SUCCESS),
    EventKind.EXTENDED: (REVOKE, "", _SUCCESS),
    EventKind.REVIEWED: (OTHER, "Review Break-Glass Grant", _SUCCESS),
    EventKind.WARNED: (OTHER, "Warn Before Expiry", _SUCCESS),
}


@dataclass(frozen=True)
class OcsfContext:
    """What every event of one export shares."""

    runner: str = "jitflow-sync"
    repository: str = ""  # owner/name, or the local path when there is no GitHub remote
    links: RepoLinks | None = None


def _millis(moment: datetime | None) -> int | None:
    return int(moment.timestamp() * 1000) if moment else None


def _user(login: str, runner: str) -> dict[str, Any]:
    system = login == runner
    return {
        "name": login,
        "type_id": 3 if system else 1,
        "type": "System" if system else "User",
    }


def _severity(event: LedgerEvent) -> tuple[int, str]:
    if event.kind is EventKind.DENIED or (event.kind is EventKind.ISSUED and event.row.break_glass):
        return _MEDIUM
    return _LOW if event.kind is EventKind.FAILED else _INFO


def _message(event: LedgerEvent) -> str:
    row = event.row
    what = f"{row.policy} ({row.resource or row.kind})" if row.resource or row.kind else row.policy
    text = {
        EventKind.MERGED: f"{event.actor} merged {row.requester}'s request for {what}",
        EventKind.ISSUED: f"{row.requester} was granted {what}"
        + (f", extending {row.extends}" if row.extends else ""),
        EventKind.DENIED: f"{row.requester}'s request for {what} was denied",
        EventKind.EXPIRED: f"{row.requester}'s grant of {what} expired",
        EventKind.REVOKED: f"{event.actor} revoked {row.requester}'s grant of {what}",
        EventKind.FAILED: f"{row.requester}'s grant of {what} failed and was revoked",
        EventKind.EXTENDED: f"{row.requester}'s grant of {what} was extended: replaced by "
        + (row.extended_by or "its extension"),
        EventKind.REVIEWED: f"{event.actor} reviewed {row.requester}'s break-glass grant",
        EventKind.WARNED: f"{row.requester} was warned that the grant of {what} ends soon",
    }[event.kind]
    return f"{text}: {event.detail}" if event.detail else text


def _evidence(event: LedgerEvent, context: OcsfContext) -> dict[str, Any]:
    row = event.row
    evidence: dict[str, Any] = {
        "event": event.kind.value,
        "request_id": row.id,
        "policy": row.policy,
        "grant_kind": row.kind or None,
        "approvers": list(row.approvers),
        "approved_at": {login: format_time(at) for login, at in row.approved_at} or None,
        "approved_by_oncall": dict(row.oncall) or None,
        "oncall_waived": row.oncall_waived or None,
        "merged_by": row.merged_by or None,
        "reason": row.reason or None,
        "ticket": row.ticket or None,
        "break_glass": row.break_glass,
        "expires_at": format_time(row.expires_at) or None,
        "extends": row.extends or None,
        "extended_by": row.extended_by or None,
        "not_revocable": row.not_revocable or None,
        "end_note": row.end_note or None,
        "commit": event.commit,
        "pr": row.pr,
        "repository": context.repository or None,
    }
    return linked(evidence, event, context)


def linked(body: dict[str, Any], event: LedgerEvent, context: OcsfContext) -> dict[str, Any]:
    """`body` with the links to the event's commit and PR (when the context knows where
    they are), its empty (None) values left out."""
    if context.links is not None:
        body["commit_url"] = context.links.commit(event.commit)
        if event.row.pr is not None:
            body["pr_url"] = context.links.pull(event.row.pr)
    return {k: v for k, v in body.items() if v is not None}


def to_ocsf(event: LedgerEvent, context: OcsfContext) -> dict[str, Any]:
    """One OCSF User Access Management event."""
    row = event.row
    activity_id, other_name, (status_id, status) = _MAPPING[event.kind]
    severity_id, severity = _severity(event)
    activity = _ACTIVITY_NAMES.get(activity_id, other_name)
    ocsf: dict[str, Any] = {
        "class_uid": CLASS_UID,
        "class_name": CLASS_NAME,
        "category_uid": CATEGORY_UID,
        "category_name": CATEGORY_NAME,
        "activity_id": activity_id,
        "activity_name": activity,
        "type_uid": CLASS_UID * 100 + activity_id,
        "type_name": f"{CLASS_NAME}: {activity}",
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status_id,
        "status": status,
        "time": _millis(event.at),
        "message": _message(event),
        "actor": {"user": _user(event.actor, context.runner), "app_name": "jitflow"},
        "user": _user(row.requester, context.runner),
        "privileges": [row.resource or row.policy],
        "resource": {"name": row.resource or row.policy, "type": row.kind or "policy"},
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "jitflow", "vendor_name": "jitflow", "version": __version__},
            "uid": event.uid,
            "correlation_uid": row.id,
            "original_event_uid": event.commit,
            "event_code": event.kind.value,
            "log_name": context.repository or "jitflow",
            "log_provider": "git",
        },
        "unmapped": {"jitflow": _evidence(event, context)},
    }
    if event.detail:
        ocsf["status_detail"] = event.detail
    if row.issued_at is not None and event.kind is not EventKind.MERGED:
        ocsf["start_time"] = _millis(row.issued_at)
        end = row.ended_at or row.expires_at
        if end is not None:
            ocsf["end_time"] = _millis(end)
    return ocsf
