"""Policy evaluation: (requests, policies, groups, context) -> Decision. Pure: no I/O, no clock.

Deny beats allow: any error finding denies its request, and any change-level finding denies
the whole PR. A request whose policy is unknown, invalid or has no rules is denied.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from jitflow.core.approvals import (
    ApprovalFacts,
    ApprovalStatus,
    evaluate_approvals,
    members,
    with_break_glass,
)
from jitflow.core.extension import extension_findings, find_target, self_approval_waiver
from jitflow.core.identities import team_logins, unproven
from jitflow.core.loading import Loaded
from jitflow.core.model import ActiveGrant, Finding, GrantKind, Groups, Policy, Request
from jitflow.core.oncall import at_time
from jitflow.core.sshkeys import fingerprint, is_published

# A start a few minutes in the past is clock skew or review time, not back-dating.
START_GRACE = timedelta(minutes=5)
_SSH_KEY_TYPES = {
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
}


@dataclass(frozen=True)
class Context:
    """Facts from outside the request files, gathered by the use-case."""

    now: datetime
    author: str
    active_grants: tuple[ActiveGrant, ...] = ()
    existing_ids: frozenset[str] = frozenset()
    teams: Mapping[str, frozenset[str]] = field(default_factory=dict)
    approval_facts: ApprovalFacts | None = None  # None: offline, list what is required
    # Requests merged before this change and not issued yet: they hold a place in the limits.
    waiting: tuple[ActiveGrant, ...] = ()
    # Every request of the change itself (filled in by `evaluate`): they count against each other.
    siblings: tuple[ActiveGrant, ...] = ()
    known_policies: tuple[str, ...] = ()  # every policy name at the base, for advice


@dataclass(frozen=True)
class RequestDecision:
    path: str
    id: str
    request: Request | None
    policy: Policy | None
    findings: tuple[Finding, ...]
    duration: timedelta | None
    start: datetime | None  # None: at merge
    approvals: ApprovalStatus | None

    @property
    def allowed(self) -> bool:
        return self.request is not None and not any(f.is_error for f in self.findings)

    @property
    def approved(self) -> bool:
        return self.allowed and self.approvals is not None and self.approvals.satisfied

    @property
    def break_glass(self) -> bool:
        return self.approvals is not None and self.approvals.break_glass


@dataclass(frozen=True)
class Decision:
    findings: tuple[Finding, ...]
    requests: tuple[RequestDecision, ...]

    @property
    def allowed(self) -> bool:
        return (
            bool(self.requests)
            and not any(f.is_error for f in self.findings)
            and all(r.allowed for r in self.requests)
        )

    @property
    def approved(self) -> bool:
        return self.allowed and all(r.approved for r in self.requests)

    def all_findings(self) -> list[Finding]:
        return [*self.findings, *(f for r in self.requests for f in r.findings)]


def evaluate(
    requests: Sequence[Loaded],
    policies: Mapping[str, Loaded],
    groups: Loaded,
    context: Context,
    change_findings: Sequence[Finding] = (),
) -> Decision:
    """Decide every request of a change; `policies` maps a policy name to its parsed file
    (a missing name means the policy does not exist at the base)."""
    findings = list(change_findings)
    # who is on call is decided at the decision's time: now for an open PR, the merge at sync
    group_value: Groups | None = groups.value and at_time(groups.value, context.now)
    findings.extend(groups.findings)
    if not requests and not findings:
        findings.append(Finding("no-request", "this change adds no request file under requests/"))
    siblings = tuple(
        ActiveGrant(r.value.id, r.value.policy, r.value.requester)
        for r in requests
        if r.value is not None
    )
    context = replace(context, siblings=siblings)
    decisions = tuple(
        _decide(
            loaded,
            policies,
            group_value or Groups(),
            groups.findings if group_value is None else None,
            context,
        )
        for loaded in requests
    )
    return Decision(tuple(findings), decisions)


def unknown_policy_message(name: str, known: Sequence[str]) -> str:
    """Name the policies that exist and the closest one, so a typo is one glance away."""
    import difflib

    if not known:
        return f"there is no policy {name!r} at the base, and no policies exist there at all"
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"there is no policy {name!r} at the base{hint} (known: {', '.join(sorted(known))})"


def invalid_policy_message(name: str, problems: Sequence[Finding]) -> str:
    """Why the policy file is unusable, with each problem's file, line and column."""
    return (
        f"policy {name!r} is invalid at the base, so nothing can be granted under it"
        + _problems_text(problems)
    )


def _problems_text(problems: Sequence[Finding]) -> str:
    where = "; ".join(f"{f.path}:{f.line}:{f.column}: {f.message}" for f in problems)
    return f": {where}" if where else ""


def _decide(
    loaded: Loaded,
    policies: Mapping[str, Loaded],
    groups: Groups,
    groups_problems: Sequence[Finding] | None,  # None: the groups file is usable
    context: Context,
) -> RequestDecision:
    groups_broken = groups_problems is not None
    request: Request | None = loaded.value
    findings = list(loaded.findings)
    if request is None:
        path = findings[0].path if findings else ""
        return RequestDecision(
            path,
            path.rsplit("/", 1)[-1].removesuffix(".yaml"),
            None,
            None,
            tuple(findings),
            None,
            None,
            None,
        )
    policy_loaded = policies.get(request.policy)
    policy: Policy | None = policy_loaded.value if policy_loaded else None
    if policy_loaded is None:
        known = context.known_policies or tuple(n for n, p in policies.items() if p.value)
        findings.append(
            request.finding(
                "unknown-policy",
                "policy",
                unknown_policy_message(request.policy, known),
            )
        )
    elif policy is None:
        findings.append(
            request.finding(
                "policy-invalid",
                "policy",
                invalid_policy_message(request.policy, policy_loaded.findings),
            )
        )
    if request.id in context.existing_ids:
        findings.append(
            Finding(
                "duplicate-id",
                f"the id {request.id!r} already exists under requests/ (pending, active or archived); pick a new file name",
                request.path,
                1,
                1,
            )
        )
    _check_requester(request, context, findings)
    if policy is None:
        return RequestDecision(
            request.path,
            request.id,
            request,
            None,
            tuple(findings),
            request.duration,
            request.start,
            None,
        )
    if groups_broken:
        findings.append(
            Finding(
                "groups-invalid",
                "policies/groups.yaml is invalid at the base, so group membership can't be "
                f"decided{_problems_text(groups_problems or ())}",
                request.path,
                1,
                1,
            )
        )
    duration = _duration(request, policy)
    findings.extend(_policy_findings(request, policy, groups, context, groups_broken))
    facts = context.approval_facts or ApprovalFacts(author=context.author, head_sha="")
    approvals = evaluate_approvals(policy, request.requester, facts, groups, context.teams)
    approvals = with_break_glass(approvals, policy, request.break_glass)
    waiver = self_approval_waiver(request, policy, duration)
    if waiver and not approvals.satisfied:
        approvals = replace(approvals, waived=waiver)
    if not unproven({request.requester.lower()}, facts.accounts, groups):
        approvals = _oncall_waiver(policy, request.requester, groups, approvals)
    return RequestDecision(
        request.path,
        request.id,
        request,
        policy,
        tuple(findings),
        duration,
        request.start,
        approvals,
    )


def _oncall_waiver(
    policy: Policy, requester: str, groups: Groups, approvals: ApprovalStatus
) -> ApprovalStatus:
    """A policy's `approvals.oncall_waives`: whoever is on call needs no approval (unless an
    eligible approver requested changes)."""
    on_duty = [
        r for r in policy.oncall_waives if groups.on_call.get(r, "").lower() == requester.lower()
    ]
    if not on_duty or approvals.satisfied or any(r.blocked_by for r in approvals.rules):
        return approvals
    why = f"no approval needed: @{requester} is on call in {on_duty[0]} (policies/rotations.yaml)"
    return replace(approvals, waived=why, oncall_waived=on_duty[0])


def _check_requester(request: Request, context: Context, findings: list[Finding]) -> None:
    if request.requester.lower() != context.author.lower():
        findings.append(
            request.finding(
                "requester-mismatch",
                "requester",
                f"requester is {request.requester!r} but the PR author is {context.author!r}; you can only request access for yourself",
            )
        )


def _requester_account_problem(
    request: Request, policy: Policy, groups: Groups, context: Context
) -> str | None:
    """Why the PR's author account is not the one pinned for the requester's login (None:
    it is, the requester is eligible through a live team, or the facts aren't GitHub's)."""
    requester = request.requester.lower()
    facts = context.approval_facts
    if facts is None or requester in team_logins(policy.requesters, groups, context.teams):
        return None
    return unproven({requester}, facts.accounts, groups).get(requester)


def undefined_groups_note(names: Sequence[str], groups: Groups) -> str:
    """Why a named group has nobody in it, when the reason is the groups file itself."""
    undefined = [n for n in names if n not in groups.members]
    if not undefined:
        return ""
    if groups.missing:
        return " (policies/groups.yaml does not exist, so every group is empty)"
    return f" (group {', '.join(map(repr, undefined))} is not defined in policies/groups.yaml)"


def _duration(request: Request, policy: Policy) -> timedelta | None:
    """The request's duration, or the policy's default when it names none (None: unreadable)."""
    return request.duration or (None if request.duration_text else policy.default_duration)


def _policy_findings(
    request: Request,
    policy: Policy,
    groups: Groups,
    context: Context,
    groups_broken: bool = False,
) -> list[Finding]:
    duration = _duration(request, policy)
    out: list[Finding] = []

    def add(code: str, key: str, message: str) -> None:
        out.append(request.finding(code, key, message))

    requester = request.requester.lower()
    if requester not in members(policy.requesters, groups, context.teams):
        add(
            "requester-not-eligible",
            "requester",
            f"{request.requester} may not request {policy.name}; it is for "
            f"{policy.requesters.describe()}"
            + ("" if groups_broken else undefined_groups_note(policy.requesters.groups, groups)),
        )
    elif problem := _requester_account_problem(request, policy, groups, context):
        add(
            "requester-not-eligible", "requester", f"{request.requester} may not request: {problem}"
        )
    limit = policy.max_duration
    if request.break_glass:
        if not policy.break_glass.allowed:
            add(
                "break-glass-not-allowed",
                "break_glass",
                f"policy {policy.name} does not allow break-glass requests",
            )
        elif policy.break_glass.max_duration is not None:
            limit = policy.break_glass.max_duration
    if duration is not None and duration > limit:
        from jitflow.core.durations import format_duration

        add(
            "duration-over-max",
            "duration",
            f"duration {request.duration_text} is longer than the policy's maximum of {format_duration(limit)}",
        )
    if request.start is not None:
        if request.start < context.now - START_GRACE:
            add("start-in-past", "start", "start is in the past; leave it out to start at merge")
        elif request.start > context.now + policy.max_start_ahead:
            from jitflow.core.durations import format_duration

            add(
                "start-too-far",
                "start",
                f"start is more than {format_duration(policy.max_start_ahead)} ahead, the most this policy allows",
            )
    reason = request.reason.strip()
    if len(reason) < policy.reason_min_length:
        add(
            "reason-too-short",
            "reason",
            f"reason has {len(reason)} characters; this policy asks for at least {policy.reason_min_length} so reviewers know why",
        )
    if policy.ticket_required and not request.ticket:
        add(
            "ticket-required",
            "",
            f"policy {policy.name} requires a ticket"
            + (f" matching {policy.ticket_pattern}" if policy.ticket_pattern else ""),
        )
    if (
        request.ticket
        and policy.ticket_pattern
        and not re.search(policy.ticket_pattern, request.ticket)
    ):
        add(
            "ticket-pattern",
            "ticket",
            f"ticket {request.ticket!r} does not match {policy.ticket_pattern}",
        )
    target = find_target(request, context.active_grants) if request.extends else None
    out.extend(extension_findings(request, policy, target, duration, context.now))
    facts = context.approval_facts
    out.extend(_ssh_findings(request, policy, facts.author_ssh_keys if facts else None))
    if policy.active_per_requester is not None:
        held = held_places(request, policy, context)
        if len(held) >= policy.active_per_requester:
            add(
                "active-limit",
                "policy",
                f"{request.requester} already holds or awaits {len(held)} grant(s) of "
                f"{policy.name} ({', '.join(f'{g.id} ({state})' for g, state in held)}); "
                f"the limit is {policy.active_per_requester}",
            )
    return out


def held_places(
    request: Request, policy: Policy, context: Context
) -> list[tuple[ActiveGrant, str]]:
    """What counts against `request` in its policy's per-requester limit: grants still active,
    requests merged and waiting to be issued, and the other requests of the same change."""

    def mine(grant: ActiveGrant) -> bool:
        return (
            grant.id not in (request.id, request.extends)
            and grant.policy == policy.name
            and grant.requester.lower() == request.requester.lower()
        )

    held = [
        (g, "active")
        for g in context.active_grants
        if mine(g) and (g.expires_at is None or g.expires_at > context.now)
    ]
    held += [(g, "merged, waiting") for g in context.waiting if mine(g)]
    held += [(g, "in this PR") for g in context.siblings if mine(g)]
    return held


def _ssh_findings(
    request: Request, policy: Policy, published: tuple[str, ...] | None
) -> list[Finding]:
    key = request.ssh_public_key
    if policy.grant.kind is not GrantKind.SSH:
        if key is None:
            return []
        return [
            request.finding(
                "ssh-key-invalid",
                "ssh_public_key",
                f"policy {policy.name} grants {policy.grant.kind.value}, which takes no ssh_public_key; remove it",
            )
        ]
    if key is None:
        return [
            request.finding(
                "ssh-key-required",
                "",
                f"policy {policy.name} signs an SSH key: add ssh_public_key with your public key (the contents of ~/.ssh/id_ed25519.pub)",
            )
        ]
    problem = ssh_key_problem(key)
    if problem is not None:
        return [request.finding("ssh-key-invalid", "ssh_public_key", problem)]
    if published is not None and not is_published(key, published):
        return [
            request.finding(
                "ssh-key-not-published",
                "ssh_public_key",
                f"ssh_public_key ({fingerprint(key)}) is not one of the SSH keys "
                f"@{request.requester} publishes on GitHub ({len(published)} published): add it "
                "to your GitHub account (Settings > SSH keys) or use one listed there",
            )
        ]
    return []


def ssh_key_problem(key: str) -> str | None:
    """Why `key` is not a single OpenSSH public key line, or None when it is one."""
    if "PRIVATE KEY" in key:
        return "this is a PRIVATE key: remove it from the request now and treat it as compromised; paste the .pub file instead"
    parts = key.strip().split()
    if len(parts) < 2 or "\n" in key.strip():
        return "ssh_public_key must be one line: '<type> <base64> [comment]'"
    key_type, blob = parts[0], parts[1]
    if key_type not in _SSH_KEY_TYPES:
        return f"unsupported key type {key_type!r}; use one of {', '.join(sorted(_SSH_KEY_TYPES))}"
    try:
        raw = base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError):
        return "the key's base64 part is corrupt"
    length = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else -1
    if length <= 0 or raw[4 : 4 + length].decode("ascii", "replace") != key_type:
        return f"the key data does not match its type {key_type!r}"
    return None
