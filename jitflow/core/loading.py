"""From file bytes to domain values, with every problem as a located finding."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from jitflow.core import schemas
from jitflow.core.durations import DurationError, parse_duration
from jitflow.core.model import (
    DEFAULT_WARN_BEFORE,
    ApprovalRule,
    BreakGlass,
    ExtensionRule,
    Finding,
    GrantKind,
    GrantSpec,
    Groups,
    Location,
    Policy,
    Principals,
    Request,
)
from jitflow.core.times import parse_time_or_none
from jitflow.core.yamlio import Document, JsonPath, YamlError, load_yaml

REQUEST_DIR = "requests"
ACTIVE_DIR = "requests/active"
ARCHIVE_DIR = "requests/archive"
POLICY_DIR = "policies"
GROUPS_PATH = "policies/groups.yaml"
ONCALL_PATH = "policies/rotations.yaml"
PINS_KEY = "github_ids"  # groups.yaml's login -> GitHub account id table (never a group name)
NOT_POLICIES = frozenset({GROUPS_PATH, ONCALL_PATH})  # files under policies/ that aren't one
ID_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")


@dataclass(frozen=True)
class Loaded:
    """A parsed value (None when unusable) and the findings that explain why."""

    value: Any
    findings: tuple[Finding, ...]


def _document(content: bytes, path: str, schema_name: str) -> tuple[Document | None, list[Finding]]:
    try:
        document = load_yaml(content, path)
    except YamlError as exc:
        return None, [Finding("yaml", exc.problem, path, exc.line, exc.column)]
    if document.data is None:
        return None, [
            Finding("schema", f"{path} is empty; expected a {schema_name} mapping", path, 1, 1)
        ]
    findings = schemas.validate(document, schema_name)
    return document, findings


def request_id_for(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.removesuffix(".yaml")


def parse_request(content: bytes, path: str) -> Loaded:
    """Parse `requests/<id>.yaml`; a request with findings may still be partly usable."""
    findings: list[Finding] = []
    request_id = request_id_for(path)
    if not ID_PATTERN.match(request_id):
        findings.append(
            Finding(
                "invalid-id",
                f"request id {request_id!r} (the file name) must be lowercase letters, digits "
                "and dashes, at most 100 characters",
                path,
                1,
                1,
            )
        )
    document, problems = _document(content, path, "request")
    findings.extend(problems)
    if document is None or not isinstance(document.data, dict):
        return Loaded(None, tuple(findings))
    data: dict[str, Any] = document.data

    def at(key: str) -> Location:
        line, column = document.position((key,))
        return Location(path, line, column)

    locations = {key: at(key) for key in data}
    locations[""] = Location(path, *document.position(()))
    duration: timedelta | None = None
    duration_text = data.get("duration")
    if "duration" in data:
        # One parser decides, so the finding is `duration-invalid` with the parser's advice.
        loc = at("duration")
        findings = [
            f
            for f in findings
            if not (f.code == "schema" and (f.line, f.column) == (loc.line, loc.column))
        ]
        try:
            duration = parse_duration(duration_text)
        except DurationError as exc:
            findings.append(Finding("duration-invalid", str(exc), path, loc.line, loc.column))
    start = parse_time_or_none(data.get("start"))
    strings = {
        key: data.get(key)
        for key in ("policy", "requester", "reason", "ticket", "ssh_public_key", "extends")
    }
    if not isinstance(strings["policy"], str) or not isinstance(strings["requester"], str):
        return Loaded(None, tuple(findings))
    request = Request(
        id=request_id,
        path=path,
        policy=strings["policy"],
        requester=strings["requester"],
        duration=duration,
        # Any written value, even an invalid one, so nothing falls back to the policy default.
        duration_text="" if duration_text is None else str(duration_text),
        reason=strings["reason"] if isinstance(strings["reason"], str) else "",
        ticket=strings["ticket"] if isinstance(strings["ticket"], str) else None,
        start=start,
        ssh_public_key=strings["ssh_public_key"]
        if isinstance(strings["ssh_public_key"], str)
        else None,
        break_glass=data.get("break_glass") is True,
        extends=strings["extends"] if isinstance(strings["extends"], str) else None,
        locations=locations,
    )
    return Loaded(request, tuple(findings))


def _principals(data: Any) -> Principals:
    data = data or {}
    return Principals(
        users=tuple(data.get("users", ())),
        groups=tuple(data.get("groups", ())),
        oncall=tuple(data.get("oncall", ())),
    )


def parse_policy(content: bytes, path: str) -> Loaded:
    """Parse `policies/<name>.yaml`; any finding makes the policy unusable (fail closed)."""
    document, findings = _document(content, path, "policy")
    if document is None or findings:
        return Loaded(None, tuple(findings))
    data: dict[str, Any] = document.data
    expected_name = path.rsplit("/", 1)[-1].removesuffix(".yaml")
    if data["name"] != expected_name:
        message = f"policy name {data['name']!r} must equal its file name {expected_name!r}"
        return Loaded(None, (_invalid(document, path, ("name",), message),))
    bad_durations = _duration_findings(document, path)
    if bad_durations:
        return Loaded(None, tuple(bad_durations))
    secret_problem = _secret_grant_finding(document, path)
    if secret_problem is not None:
        return Loaded(None, (secret_problem,))
    policy = _build_policy(data, path)
    limits_problem = _limits_finding(policy, document, path)
    if limits_problem is not None:
        return Loaded(None, (limits_problem,))
    return Loaded(policy, ())


def _limits_finding(policy: Policy, document: Document, path: str) -> Finding | None:
    """Durations of a policy that contradict each other."""
    if policy.extension is not None and policy.extension.total_max < policy.max_duration:
        return _invalid(
            document,
            path,
            ("extension", "total_max"),
            "extension.total_max is shorter than duration.max: no grant could be extended",
        )
    if policy.default_duration > policy.max_duration:
        key = ("duration", "default")
        return _invalid(document, path, key, "duration.default is longer than duration.max")
    return None


def _invalid(document: Document, path: str, key: JsonPath, message: str) -> Finding:
    """What makes the policy invalid, placed at `key` of its document."""
    line, column = document.position(key)
    return Finding("policy-invalid", message, path, line, column)


def _secret_grant_finding(document: Document, path: str) -> Finding | None:
    """A `secret` grant's parameters stay the policy's, and one that can't be revoked is capped."""
    grant = document.data["grant"]
    params, ttl_param = grant.get("params") or {}, grant.get("ttl_param")

    def finding(key: str, message: str) -> Finding:
        return _invalid(document, path, ("grant", key) if key in grant else ("grant",), message)

    if params and grant.get("method", "GET") != "POST":
        return finding("params", "grant.params are sent with a POST only: set method: POST")
    if ttl_param and ttl_param in params:
        return finding(
            "ttl_param", f"grant.ttl_param {ttl_param!r} is set by jitflow: remove it from params"
        )
    if grant.get("revocable") is False and not ttl_param:
        return finding(
            "revocable",
            "a secret that can't be revoked early must end with the grant: set grant.ttl_param "
            "to the engine's TTL parameter (e.g. ttl)",
        )
    return None


_POLICY_DURATIONS = (
    ("duration", "max"),
    ("duration", "default"),
    ("grant", "wrap_ttl"),
    ("start", "max_ahead"),
    ("break_glass", "max_duration"),
    ("break_glass", "post_review_within"),
    ("extension", "total_max"),
    ("extension", "self_approve_up_to"),
)


def _duration_findings(document: Document, path: str) -> list[Finding]:
    """Each duration the schema's pattern accepts but the parser refuses (zero, too long),
    at its own line and column."""
    findings = []
    for section, key in (*_POLICY_DURATIONS, ("", "warn_before")):
        holder = document.data.get(section) if section else document.data
        value = (holder or {}).get(key)
        if not isinstance(value, str):
            continue
        try:
            parse_duration(value)
        except DurationError as exc:
            at, name = ((section, key), f"{section}.{key}") if section else ((key,), key)
            findings.append(_invalid(document, path, at, f"{name}: {exc}"))
    return findings


def _build_policy(data: dict[str, Any], path: str) -> Policy:
    grant = data["grant"]
    max_duration = parse_duration(data["duration"]["max"])
    default = data["duration"].get("default")
    approvals = data["approvals"]
    break_glass = data.get("break_glass", {"allowed": False})
    ticket = data.get("ticket", {})
    return Policy(
        name=data["name"],
        description=data["description"],
        grant=GrantSpec(
            kind=GrantKind(grant["kind"]),
            mount=grant.get("mount", ""),
            role=grant.get("role", ""),
            policies=tuple(grant.get("policies", ())),
            principals=tuple(grant.get("principals", ())),
            group=grant.get("group", ""),
            wrap_ttl=parse_duration(grant.get("wrap_ttl", "1h")),
            path=grant.get("path", ""),
            method=grant.get("method", "GET"),
            params=tuple(sorted((grant.get("params") or {}).items())),
            ttl_param=grant.get("ttl_param", ""),
            revocable=grant.get("revocable", True),
        ),
        default_duration=parse_duration(default) if default else max_duration,
        max_duration=max_duration,
        requesters=_principals(data["requesters"]),
        approval_rules=tuple(
            ApprovalRule(count=rule["count"], approvers=_principals(rule["from"]))
            for rule in approvals["rules"]
        ),
        allow_self_approval=approvals.get("allow_self_approval", False),
        oncall_waives=tuple(approvals.get("oncall_waives", ())),
        reason_min_length=data.get("reason", {}).get("min_length", 0),
        ticket_required=ticket.get("required", False),
        ticket_pattern=ticket.get("pattern"),
        active_per_requester=data.get("limits", {}).get("active_per_requester"),
        max_start_ahead=parse_duration(data.get("start", {}).get("max_ahead", "7d")),
        break_glass=BreakGlass(
            allowed=break_glass["allowed"],
            max_duration=parse_duration(break_glass["max_duration"])
            if "max_duration" in break_glass
            else None,
            post_review_within=parse_duration(break_glass.get("post_review_within", "24h")),
        ),
        path=path,
        extension=_extension_rule(data.get("extension")),
        warn_before=parse_duration(data["warn_before"])
        if "warn_before" in data
        else DEFAULT_WARN_BEFORE,
    )


def _extension_rule(data: dict[str, Any] | None) -> ExtensionRule | None:
    if data is None:
        return None
    self_approve = data.get("self_approve_up_to")
    return ExtensionRule(
        total_max=parse_duration(data["total_max"]),
        self_approve_up_to=parse_duration(self_approve) if self_approve else None,
    )


def parse_groups(content: bytes | None, path: str = GROUPS_PATH) -> Loaded:
    """Parse `policies/groups.yaml`; a missing file means no groups (and says so)."""
    if content is None:
        return Loaded(Groups(missing=True), ())
    document, findings = _document(content, path, "groups")
    if document is None or findings:
        return Loaded(None, tuple(findings))
    data = dict(document.data)
    pins = data.pop(PINS_KEY, None) or {}
    problem = _pins_finding(document, path, pins)
    if problem is not None:
        return Loaded(None, (problem,))
    ids = {login.lower(): int(account) for login, account in pins.items()}
    members = {name: tuple(found) for name, found in data.items()}
    return Loaded(Groups(members, github_ids=ids), ())


def _pins_finding(document: Document, path: str, pins: dict[str, Any]) -> Finding | None:
    """What the schema can't say of `github_ids:`: one pin per login whatever its case (GitHub
    logins are case-insensitive), and whole numbers written as such (not 1.0)."""
    seen: dict[str, str] = {}
    for login, account in pins.items():
        line, column = document.key_position((PINS_KEY, login))
        if login.lower() in seen:
            message = (
                f"github_ids pins {seen[login.lower()]!r} and {login!r}, the same GitHub login "
                "(logins are case-insensitive): keep one"
            )
            return Finding("schema", message, path, line, column)
        seen[login.lower()] = login
        if not isinstance(account, int):
            message = (
                f"github_ids.{login} must be a whole number (a GitHub account id), got {account!r}"
            )
            return Finding("schema", message, path, line, column)
    return None


def parse_oncall(content: bytes | None, path: str = ONCALL_PATH) -> Loaded:
    """Parse `policies/rotations.yaml` into rotations by name; no file means no rotations."""
    from jitflow.core.oncall import rotations_from

    if content is None:
        return Loaded({}, ())
    document, findings = _document(content, path, "oncall")
    if document is None or findings:
        return Loaded(None, tuple(findings))
    rotations, problems = rotations_from(document.data, path, document.position)
    return Loaded(None if problems else rotations, tuple(problems))


def with_rotations(groups: Loaded, oncall: Loaded) -> Loaded:
    """groups.yaml and rotations.yaml of one commit as one value (who may ask and approve); a
    broken rotation file makes both unusable, so nothing is decided on half the rules."""
    if oncall.value is None:
        return Loaded(None, (*groups.findings, *oncall.findings))
    if groups.value is None or not oncall.value:
        return groups
    return Loaded(replace(groups.value, rotations=oncall.value), groups.findings)
