"""Request trails and audit rows as JSON-ready data and back (pure, no I/O).

The incremental audit keeps both in a cache file. Reading one back validates every field's
type: a cache is data from disk, so anything unexpected raises `ValueError` and the caller
rebuilds from history instead of guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import astuple
from datetime import datetime
from typing import Any

from jitflow.core.audit_rows import AuditRow, Evidence, Outcome
from jitflow.core.history import CommitRef, ForeignWrite, RequestTrail

Json = dict[str, Any]


def trail_to_json(trail: RequestTrail) -> Json:
    return {
        "id": trail.id,
        "requested": _ref_out(trail.requested),
        "merge": _ref_out(trail.merge),
        "merge_parents": list(trail.merge_parents),
        "merge_pr": trail.merge_pr,
        "request_blob": trail.request_blob,
        "issue": _ref_out(trail.issue),
        "issue_trailers": dict(trail.issue_trailers),
        "end": _ref_out(trail.end),
        "end_event": trail.end_event,
        "revocation": _ref_out(trail.revocation),
        "record_blob": trail.record_blob,
        "post_reviews": [[_ref_out(ref), who] for ref, who in trail.post_reviews],
        "foreign_writes": [list(astuple(w)) for w in trail.foreign_writes],
        "modified_after_merge": list(trail.modified_after_merge),
        "warnings": [_ref_out(ref) for ref in trail.warnings],
    }


def trail_from_json(data: object) -> RequestTrail:
    d = _mapping(data)
    trailers = _mapping(d["issue_trailers"])
    return RequestTrail(
        id=_str(d["id"]),
        requested=_ref_in(d["requested"]),
        merge=_ref_in(d["merge"]),
        merge_parents=tuple(_str(p) for p in _list(d["merge_parents"])),
        merge_pr=_opt_int(d["merge_pr"]),
        request_blob=_opt_str(d["request_blob"]),
        issue=_ref_in(d["issue"]),
        issue_trailers={_str(k): _str(v) for k, v in trailers.items()},
        end=_ref_in(d["end"]),
        end_event=_str(d["end_event"]),
        revocation=_ref_in(d["revocation"]),
        record_blob=_opt_str(d["record_blob"]),
        post_reviews=[_review_in(item) for item in _list(d["post_reviews"])],
        foreign_writes=[ForeignWrite(*_strs(w, 4)) for w in _list(d["foreign_writes"])],
        modified_after_merge=[_str(s) for s in _list(d["modified_after_merge"])],
        warnings=[ref for ref in (_ref_in(w) for w in _list(d["warnings"])) if ref is not None],
    )


def row_to_json(row: AuditRow) -> Json:
    data = {name: getattr(row, name) for name in _ROW_PLAIN}
    data.update({name: _time_out(getattr(row, name)) for name in _ROW_TIMES})
    data["approvers"] = list(row.approvers)
    data["outcome"] = row.outcome.value
    data["evidence"] = list(row.evidence)
    data["approved_at"] = [[who, at.isoformat()] for who, at in row.approved_at]
    data["oncall"] = [list(pair) for pair in row.oncall]
    return data


def row_from_json(data: object) -> AuditRow:
    d = _mapping(data)
    text = {name: _str(d[name]) for name in _ROW_TEXT}
    times = {name: _time_in(d[name]) for name in _ROW_TIMES}
    return AuditRow(
        id=text["id"],
        requester=text["requester"],
        policy=text["policy"],
        kind=text["kind"],
        resource=text["resource"],
        reason=text["reason"],
        ticket=text["ticket"],
        merged_by=text["merged_by"],
        ended_by=text["ended_by"],
        outcome_detail=text["outcome_detail"],
        extends=text["extends"],
        extended_by=text["extended_by"],
        oncall_waived=text["oncall_waived"],
        not_revocable=text["not_revocable"],
        end_note=text["end_note"],
        oncall=tuple((w, r) for w, r in (_strs(i, 2) for i in _list(d["oncall"]))),
        warned_at=times["warned_at"],
        requested_at=times["requested_at"],
        merged_at=times["merged_at"],
        issued_at=times["issued_at"],
        expires_at=times["expires_at"],
        ended_at=times["ended_at"],
        break_glass=_bool(d["break_glass"]),
        pr=_opt_int(d["pr"]),
        requested_seconds=_opt_int(d["requested_seconds"]),
        granted_seconds=_opt_int(d["granted_seconds"]),
        approvers=tuple(_str(a) for a in _list(d["approvers"])),
        outcome=Outcome(_str(d["outcome"])),
        evidence=Evidence(*_strs(d["evidence"], 6)),
        approved_at=tuple(
            (w, _when(at)) for w, at in (_strs(i, 2) for i in _list(d["approved_at"]))
        ),
    )


_ROW_TEXT = (
    "id",
    "requester",
    "policy",
    "kind",
    "resource",
    "reason",
    "ticket",
    "merged_by",
    "ended_by",
    "outcome_detail",
    "extends",
    "extended_by",
    "oncall_waived",
    "not_revocable",
    "end_note",
)
_ROW_PLAIN = (*_ROW_TEXT, "break_glass", "pr", "requested_seconds", "granted_seconds")
_ROW_TIMES = ("requested_at", "merged_at", "issued_at", "expires_at", "ended_at", "warned_at")


def _ref_out(ref: CommitRef | None) -> list[str] | None:
    return None if ref is None else [ref.sha, ref.at.isoformat(), ref.name, ref.email]


def _ref_in(value: object) -> CommitRef | None:
    if value is None:
        return None
    sha, at, name, email = _strs(value, 4)
    return CommitRef(sha, _when(at), name, email)


def _review_in(value: object) -> tuple[CommitRef, str]:
    ref, who = _list(value)
    found = _ref_in(ref)
    if found is None:
        raise ValueError("a post-review without its commit")
    return found, _str(who)


def _time_out(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _time_in(value: object) -> datetime | None:
    return None if value is None else _when(value)


def _when(value: object) -> datetime:
    parsed = datetime.fromisoformat(_str(value))
    if parsed.tzinfo is None:
        raise ValueError("a time without its zone")
    return parsed


def _mapping(value: object) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("expected an object")
    return value


def _list(value: object) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError("expected a list")
    return value


def _strs(value: object, count: int) -> list[str]:
    items = [_str(item) for item in _list(value)]
    if len(items) != count:
        raise ValueError(f"expected {count} strings")
    return items


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def _opt_str(value: object) -> str | None:
    return None if value is None else _str(value)


def _opt_int(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("expected an integer")
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return value
