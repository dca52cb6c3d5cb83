"""`jitflow policy impact`: what a policy change would have decided differently.

Every request in the repository's history (pending, active and archived records at HEAD)
is replayed against the policies and groups at BASE and at HEAD; requests whose verdict or
required approvals change are listed, and so are active grants the new policies would refuse.

An extension (`extends:`) is replayed against the grant it extended as that grant stood when
the extension was decided (its end and first issue, from the ledger), so a change to the
policy's `extension:` rule (allowed at all, `self_approve_up_to`, `total_max`) shows which
extensions it would newly allow, refuse, or no longer let the requester approve alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from jitflow.adapters.git import Git
from jitflow.adapters.git.reading import files_below, read_files
from jitflow.core.evaluation import Context, RequestDecision, evaluate
from jitflow.core.loading import Loaded, parse_request
from jitflow.core.model import ActiveGrant
from jitflow.core.policy_impact import ImpactReport, ImpactRow
from jitflow.core.times import parse_time
from jitflow.core.yamlio import YamlError, dump, load_yaml
from jitflow.usecases.repository import read_policies, snapshot

_LEDGER_KEYS = ("grant", "ended")
IMPACT_MARKER = "policy-impact"


class CommentPoster(Protocol):
    """Where `--comment PR` posts the report (the GitHub gateway): one comment, kept up to date."""

    def upsert_comment(self, number: int, marker: str, body: str) -> int: ...


@dataclass(frozen=True)
class ImpactComment:
    """`--comment PR`: the report posted on PR `number` through `github`, in the words of
    `render` (the caller's reporter: the use-case renders nothing)."""

    number: int
    github: CommentPoster
    render: Callable[[ImpactReport], str]


@dataclass(frozen=True)
class ImpactOptions:
    """What `policy impact` compares: the policies at `base` and at `head`, as of `now`."""

    repo: Path
    base: str
    head: str
    now: datetime


def run_impact(options: ImpactOptions, comment: ImpactComment | None = None) -> ImpactReport:
    """The report; with `comment`, also posted on its PR (after the whole replay)."""
    report = _replay(options)
    if comment is not None:
        comment.github.upsert_comment(comment.number, IMPACT_MARKER, comment.render(report))
    return report


def _replay(options: ImpactOptions) -> ImpactReport:
    git, now = Git(options.repo), options.now
    base_sha, head_sha = git.rev_parse(options.base), git.rev_parse(options.head)
    raw = _records(git, head_sha)
    records = _history_requests(raw)
    grants = _grants(raw)
    names = [loaded.value.policy for _path, loaded, _when in records if loaded.value is not None]
    before_policies = read_policies(git, base_sha, names)
    after_policies = read_policies(git, head_sha, names)
    before_groups, after_groups = snapshot(git, base_sha).groups, snapshot(git, head_sha).groups
    changed = []
    for path, loaded, when in records:
        request = loaded.value
        if request is None:
            continue
        target = grants.get(request.extends or "")
        context = Context(
            now=when or now,
            author=request.requester,
            active_grants=(target,) if target is not None else (),
        )
        old = evaluate([loaded], before_policies, before_groups, context).requests[0]
        new = evaluate([loaded], after_policies, after_groups, context).requests[0]
        old_text, new_text = _verdict(old), _verdict(new)
        if old_text != new_text:
            changed.append(
                ImpactRow(
                    request.id,
                    path,
                    request.policy,
                    request.requester,
                    "/active/" in path,
                    old_text,
                    new_text,
                    request.extends or "",
                )
            )
    return ImpactReport(base_sha, head_sha, len(records), tuple(changed))


def _history_requests(raw: Records) -> list[tuple[str, Loaded, datetime | None]]:
    """Every request record, with ledger blocks removed, and when it was decided."""
    out = []
    for path, data in raw:
        when = _decided_at(data)
        request_only = {k: v for k, v in data.items() if k not in _LEDGER_KEYS}
        name = path.rsplit("/", 1)[-1]
        out.append((path, parse_request(dump(request_only).encode(), f"requests/{name}"), when))
    return out


Records = list[tuple[str, dict[str, object]]]


def _records(git: Git, commit: str) -> Records:
    """Every readable record under requests/ at `commit`."""
    paths = [p for p in files_below(git, commit, "requests/") if p.endswith(".yaml")]
    blobs = read_files(git, commit, paths)
    out = []
    for path, blob in zip(paths, blobs, strict=True):
        if blob is None:
            continue
        try:
            data = load_yaml(blob, path).data
        except YamlError:
            continue
        if isinstance(data, dict):
            out.append((path, data))
    return out


def _grants(raw: Records) -> dict[str, ActiveGrant]:
    """Every issued grant as an extension saw it: its end before being extended and its
    first issue."""
    out = {}
    for path, data in raw:
        grant = data.get("grant")
        if not isinstance(grant, dict):
            continue
        name = path.rsplit("/", 1)[-1].removesuffix(".yaml")
        started = _time(grant.get("started_at")) or _time(grant.get("issued_at"))
        expires = _time(grant.get("expires_at"))
        policy, requester = str(data.get("policy", "")), str(data.get("requester", ""))
        out[name] = ActiveGrant(name, policy, requester, expires, started)
    return out


def _time(value: object) -> datetime | None:
    try:
        return parse_time(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _decided_at(data: dict[str, object]) -> datetime | None:
    grant = data.get("grant")
    if isinstance(grant, dict):
        for key in ("merged_at", "issued_at"):
            value = grant.get(key)
            if isinstance(value, str):
                try:
                    return parse_time(value)
                except ValueError:
                    return None
    return None


def _verdict(decision: RequestDecision) -> str:
    codes = sorted(
        {f.code for f in decision.findings if f.is_error and f.code not in _REPLAY_NOISE}
    )
    if codes:
        return "denied (" + ", ".join(codes) + ")"
    if decision.approvals is not None and decision.approvals.waived:
        return f"allowed, needs no approval ({decision.approvals.waived})"
    rules = decision.approvals.rules if decision.approvals else ()
    needs = "; ".join(rule.describe() for rule in rules) or "no approval"
    return f"allowed, needs {needs}"


# Findings that depend on when and where a request is replayed, not on the policy.
_REPLAY_NOISE = {"duplicate-id", "start-in-past", "active-limit"}
