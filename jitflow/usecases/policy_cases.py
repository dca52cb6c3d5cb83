"""`jitflow policy test`: unit tests for policies, as YAML cases under policies/tests/.

A case is a request, a context (author, groups, active grants, reviews, now) and the
expected verdict with finding codes. Policies are read from the work tree, so a PR that
changes a policy is tested against its new version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jitflow.core import schemas
from jitflow.core.approvals import ApprovalFacts
from jitflow.core.evaluation import Context, RequestDecision, evaluate
from jitflow.core.loading import (
    GROUPS_PATH,
    NOT_POLICIES,
    ONCALL_PATH,
    Loaded,
    parse_groups,
    parse_oncall,
    parse_policy,
    parse_request,
    with_rotations,
)
from jitflow.core.model import ActiveGrant, Finding, Groups, Location, Review, ReviewState
from jitflow.core.policy_cases import CaseResult, PolicyTestReport
from jitflow.core.times import parse_time
from jitflow.core.yamlio import Document, YamlError, dump, load_yaml
from jitflow.errors import ConfigError

CASES_DIR = "policies/tests"
# The keys the README documents; policy-test.schema.json is the contract they mirror.
_CASE_KEYS = {"name", "request", "context", "expect"}
_CONTEXT_KEYS = {"author", "now", "groups", "active", "reviews", "id"}
_EXPECT_KEYS = {"allowed", "approved", "findings", "approvals_missing"}
_DEFAULT_NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PolicyTestOptions:
    """What `jitflow policy test` runs: the cases under `repo`'s policies/tests/, against the
    policies in `repo`'s work tree."""

    repo: Path


def run_policy_tests(options: PolicyTestOptions) -> PolicyTestReport:
    repo = options.repo
    files = sorted(
        [*(repo / CASES_DIR).glob("*.yaml"), *(repo / CASES_DIR).glob("*.yml")],
        key=lambda p: p.name,
    )
    if not files:
        raise ConfigError(f"no policy tests found: add cases under {CASES_DIR}/*.yaml")
    documents = [_case_file(path, str(path.relative_to(repo))) for path in files]
    problems = [f for _, found in documents for f in found]
    policies = _load_policies(repo)
    base_groups = with_rotations(
        parse_groups(_read(repo / GROUPS_PATH), GROUPS_PATH),
        parse_oncall(_read(repo / ONCALL_PATH), ONCALL_PATH),
    )
    problems += [f for loaded in (*policies.values(), base_groups) for f in loaded.findings]
    if problems:
        raise ConfigError(_listing("the policy tests can't run", problems))
    results: list[CaseResult] = []
    for document, _ in documents:
        assert document is not None
        for index, case in enumerate(document.data["cases"]):
            results.append(_run_case(document, index, case, policies, base_groups))
    return PolicyTestReport(tuple(results))


def _case_file(path: Path, relative: str) -> tuple[Document | None, list[Finding]]:
    """A test file checked against its JSON Schema: every problem with file:line:column."""
    try:
        document = load_yaml(path.read_bytes(), relative)
    except YamlError as exc:
        return None, [Finding("yaml", exc.problem, relative, exc.line, exc.column)]
    if document.data is None:
        return None, [Finding("schema", f"{relative} is empty; expected `cases:`", relative, 1, 1)]
    return document, schemas.validate(document, "policy-test")


def _listing(title: str, findings: list[Finding]) -> str:
    lines = [f"  {f.path}:{f.line}:{f.column}: {f.message}" for f in findings]
    return f"{title}:\n" + "\n".join(lines)


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def _load_policies(repo: Path) -> dict[str, Loaded]:
    return {
        path.stem: parse_policy(path.read_bytes(), f"policies/{path.name}")
        for path in sorted((repo / "policies").glob("*.yaml"))
        if f"policies/{path.name}" not in NOT_POLICIES
    }


def _run_case(
    document: Document,
    index: int,
    case: dict[str, Any],
    policies: dict[str, Loaded],
    base_groups: Loaded,
) -> CaseResult:
    """Case `index` of `document`; its shape was checked by the schema, so only values can
    still be wrong."""
    line, column = document.position(("cases", index))
    where = Location(document.path, line, column)
    context_data: dict[str, Any] = case.get("context", {})
    expect: dict[str, Any] = case["expect"]
    request_data: dict[str, Any] = case["request"]
    request_id = str(context_data.get("id", "case-request"))
    loaded = parse_request(dump(request_data).encode(), f"requests/{request_id}.yaml")
    groups = base_groups
    if "groups" in context_data:
        members = {k: tuple(v) for k, v in context_data["groups"].items()}
        rotations = base_groups.value.rotations if base_groups.value else {}
        groups = Loaded(Groups(members, rotations=rotations), ())  # the rotations stay
    author = str(context_data.get("author", request_data.get("requester", "")))
    now = _time(document, index, context_data, ("now",)) or _DEFAULT_NOW
    active = tuple(
        ActiveGrant(
            id=str(g.get("id", f"active-{i}")),
            policy=g["policy"],
            requester=g["requester"],
            expires_at=_time(document, index, g, ("active", i, "expires_at")),
            started_at=_time(document, index, g, ("active", i, "started_at")),
        )
        for i, g in enumerate(context_data.get("active", []))
    )
    reviews = tuple(
        Review(r["reviewer"], ReviewState(r.get("state", "APPROVED")), "head", now)
        for r in context_data.get("reviews", [])
    )
    facts = ApprovalFacts(
        author=author, head_sha="head", reviews=reviews, content_digests={"head": "same"}
    )
    context = Context(now=now, author=author, active_grants=active, approval_facts=facts)
    decision = evaluate([loaded], policies, groups, context).requests[0]
    actual = _observed(decision, expect)
    expected = {
        key: (sorted(value) if key == "findings" else value) for key, value in expect.items()
    }
    messages = tuple(f"[{f.code}] {f.message}" for f in decision.findings)
    return CaseResult(
        where.path,
        where.line,
        str(case.get("name", f"case at line {where.line}")),
        actual == expected,
        expected,
        actual,
        messages,
    )


def _time(
    document: Document, index: int, data: dict[str, Any], where: tuple[str | int, ...]
) -> datetime | None:
    """The time at `context.<where>` (its last key read from `data`), or None when absent."""
    key = str(where[-1])
    if key not in data:
        return None
    try:
        return parse_time(data[key])
    except ValueError as exc:
        line, column = document.position(("cases", index, "context", *where))
        name = ".".join(str(part) for part in where)
        raise ConfigError(f"{document.path}:{line}:{column}: context.{name}: {exc}") from exc


def _observed(decision: RequestDecision, expect: dict[str, Any]) -> dict[str, Any]:
    observed: dict[str, Any] = {
        "allowed": decision.allowed,
        "approved": decision.approved,
        "findings": sorted({f.code for f in decision.findings}),
        "approvals_missing": sum(rule.missing for rule in decision.approvals.rules)
        if decision.approvals
        else 0,
    }
    return {key: observed[key] for key in expect}
