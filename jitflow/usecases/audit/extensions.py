"""`audit verify` for extensions: each extension was approved, extends what its request file
names, and links to a grant of the same requester and policy that it replaced.

Codes (README, for auditors):

- `extension-not-requested`: the record's `grant.extends` is not the request file's `extends:`
  (the runner claimed an extension nobody asked for, or hid one).
- `extension-unapproved`: the approvals in the record satisfy neither the policy's rules nor
  its `extension.self_approve_up_to` (or the policy allows no extensions) at the merge's parent.
- `extension-over-total-max`: from the first issue (`grant.started_at`) to the end, the grant
  lasts longer than the policy's `extension.total_max`.
- `extension-of-unknown-grant`: the extended grant is not, in history, a grant of the same
  requester and policy, first issued at `started_at`, and ended as `extended` by this one; or
  the record says `extension: in-place` but does not hold that grant's own credentials (same
  accessor, ended as extended in place).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from jitflow.core.audit_rows import AuditRow, approval_shortfalls, as_mapping
from jitflow.core.durations import DurationError, format_duration, parse_duration
from jitflow.core.extension import SLACK
from jitflow.core.history import parse_time
from jitflow.core.model import Groups, Policy
from jitflow.core.verify_report import Violation


def extends_of(record: Mapping[str, Any] | None) -> str:
    """What a record says it extends: the runner's claim, or else the request's own."""
    data = as_mapping(record)
    claimed = as_mapping(data.get("grant")).get("extends") or data.get("extends")
    return claimed if isinstance(claimed, str) else ""


@dataclass(frozen=True)
class _Grant:
    requester: str
    policy: str
    started_at: datetime | None
    extended_by: str
    accessor: str = ""
    ended_in_place: bool = False


@dataclass(frozen=True)
class _Claim:
    id: str
    extends: str
    requester: str
    policy: str
    started_at: datetime | None
    commit: str
    accessor: str = ""
    in_place: bool = False


@dataclass
class Extensions:
    """Collects grants and extension claims while verify streams history; checks the links."""

    grants: dict[str, _Grant] = field(default_factory=dict)
    claims: list[_Claim] = field(default_factory=list)

    def add(self, row: AuditRow, record: Mapping[str, Any] | None, commit: str) -> None:
        grant = as_mapping(as_mapping(record).get("grant"))
        if not grant:
            return
        started = parse_time(grant.get("started_at")) or row.issued_at
        accessor = str(as_mapping(grant.get("vault")).get("accessor") or "")
        ended = as_mapping(as_mapping(record).get("ended"))
        self.grants[row.id] = _Grant(
            row.requester,
            row.policy,
            started,
            row.extended_by,
            accessor,
            ended.get("extension") == "in-place",
        )
        extends = extends_of(record)
        if extends:
            in_place = grant.get("extension") == "in-place"
            claim = _Claim(
                row.id, extends, row.requester, row.policy, started, commit, accessor, in_place
            )
            self.claims.append(claim)

    def check(self) -> list[Violation]:
        return [
            Violation("extension-of-unknown-grant", claim.id, claim.commit, problem)
            for claim in self.claims
            if (problem := self._problem(claim))
        ]

    def _problem(self, claim: _Claim) -> str:
        target = self.grants.get(claim.extends)
        if target is None:
            return f"extends {claim.extends}, which was never issued"
        if target.requester.lower() != claim.requester.lower() or target.policy != claim.policy:
            return (
                f"extends {claim.extends}, a grant of {target.requester} under {target.policy}, "
                f"not of {claim.requester} under {claim.policy}"
            )
        if target.extended_by != claim.id:
            return (
                f"extends {claim.extends}, which was not ended as extended by it "
                f"(extended_by: {target.extended_by or 'none'})"
            )
        if target.started_at != claim.started_at:
            return f"started_at differs from the first issue of {claim.extends}"
        if claim.in_place and (target.accessor != claim.accessor or not target.ended_in_place):
            return (
                f"says it extends {claim.extends} in place, but holds accessor "
                f"{claim.accessor or 'none'} where that grant held "
                f"{target.accessor or 'none'} (ended in place: {target.ended_in_place})"
            )
        return ""


# kinds whose anchor token's expiry is the grant's end as Vault enforces it (a database or
# secret lease may end before its token; an ssh certificate has its own end)
_TOKEN_ENDS = ("vault-token", "identity-group")


def vault_claims(
    accessor: str,
    grant: Mapping[str, Any],
    row: AuditRow,
    owners: dict[str, str],
    ends: dict[str, datetime],
) -> None:
    """What `--vault` compares for one active grant: the request its token's metadata names
    (the first of a chain extended in place), and the end Vault must enforce: a grant
    extended in place (its token and lease renewed to the same end) or whose token is it."""
    vault = as_mapping(grant.get("vault"))
    owner = vault.get("token_request")
    if isinstance(owner, str) and owner:
        owners[accessor] = owner
    in_place = grant.get("extension") == "in-place"
    if row.expires_at is not None and (in_place or grant.get("kind") in _TOKEN_ENDS):
        ends[accessor] = row.expires_at


def check_extension(
    row: AuditRow,
    record: Mapping[str, Any] | None,
    policy: tuple[Policy | None, Groups],
    commit: str,
) -> list[Violation]:
    """The checks one extension record allows on its own (see the module docstring)."""
    data = as_mapping(record)
    grant = as_mapping(data.get("grant"))
    claimed, asked = grant.get("extends") or "", data.get("extends") or ""
    if not claimed and not asked:
        return []
    found = []
    if claimed != asked:
        found.append(
            Violation(
                "extension-not-requested",
                row.id,
                commit,
                f"the record says it extends {claimed or 'nothing'}, the request file "
                f"{asked or 'nothing'}",
            )
        )
    terms, groups = policy
    if terms is None:
        return found  # policy-missing says so
    rule = terms.extension
    duration = _duration(data.get("duration"), terms)
    shortfalls = approval_shortfalls(terms, groups, row.requester, row.approvers)
    self_ok = bool(
        rule and rule.self_approve_up_to and duration and duration <= rule.self_approve_up_to
    )
    if rule is None or (shortfalls and not self_ok):
        why = (
            f"policy {terms.name} allows no extensions"
            if rule is None
            else "; ".join(shortfalls)
            + (
                f", and {format_duration(duration)} is more than extension.self_approve_up_to"
                if duration
                else ""
            )
        )
        found.append(Violation("extension-unapproved", row.id, commit, why))
    started = parse_time(grant.get("started_at"))
    if rule is not None and started and row.expires_at:
        total = row.expires_at - started
        if total > rule.total_max + SLACK:
            found.append(
                Violation(
                    "extension-over-total-max",
                    row.id,
                    commit,
                    f"from its first issue to its end the grant lasts {format_duration(total)}, "
                    f"above extension.total_max {format_duration(rule.total_max)}",
                )
            )
    return found


def _duration(value: object, terms: Policy) -> timedelta | None:
    if value is None:
        return terms.default_duration
    try:
        return parse_duration(str(value))
    except DurationError:
        return None
