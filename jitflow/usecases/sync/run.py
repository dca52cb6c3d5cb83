"""`jitflow sync`: plan the due transitions, carry them out, record each as a commit, push.

Order of effects, so that nothing is recorded that did not happen and nothing is lost:
Vault first, then git. A sync that dies between the two leaves a Vault token with jitflow
metadata and no record; the next sync finds it and adopts it (if the request is legitimately
issuable) or revokes it. Before recording an issue, a sync looks for another live token for
the same request: the earliest one wins and the others are revoked, so two racing syncs
never leave two grants. A rejected push is re-planned on the fresh main, never forced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from jitflow.adapters.git import Git
from jitflow.core.ledger import Action, Event, OrphanToken, Transition, plan
from jitflow.errors import ConfigError, DeliveryError, GitError, JitflowError
from jitflow.usecases.sync import steps
from jitflow.usecases.sync.decide import Verdict, decide
from jitflow.usecases.sync.state import MainState, read_state
from jitflow.usecases.sync.writer import Identity, LedgerCommit, fetch, push, write_commits

MAX_ATTEMPTS = 6


@dataclass(frozen=True)
class SyncOptions:
    repo: Path
    now: datetime
    dry_run: bool = False
    no_issue: bool = False
    revoke_ids: tuple[str, ...] = ()
    remote: str = "origin"
    branch: str = "main"


@dataclass
class SyncReport:
    planned: list[Transition] = field(default_factory=list)
    done: list[tuple[str, str, str]] = field(default_factory=list)  # (event, id, detail)
    errors: list[str] = field(default_factory=list)
    attempts: int = 0
    pushed: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Memory:
    """Vault work already done in this run, kept across re-plans after a rejected push."""

    issued: dict[str, Any] = field(default_factory=dict)  # request id -> IssuedGrant
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)  # request ids whose grant is revoked


def run_sync(
    options: SyncOptions, vault: Any, github: Any, environ: Mapping[str, str]
) -> SyncReport:
    git = Git(options.repo)
    identity = Identity.from_env(environ)
    report = SyncReport()
    memory = _Memory()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        report.attempts = attempt
        report.errors.clear()
        report.done.clear()
        base = fetch(git, options.remote, options.branch)
        state = read_state(git, base)
        tokens = [
            OrphanToken(t.accessor, t.request_id)
            for t in vault.list_jitflow_tokens(
                skip={r.accessor for r in state.ledger.active if r.accessor}
            )
            if t.request_id
        ]
        transitions = plan(state.ledger, options.now, tokens, options.revoke_ids)
        missing = set(options.revoke_ids) - {r.id for r in state.ledger.active}
        for grant_id in sorted(missing):
            report.errors.append(f"--revoke {grant_id}: there is no active grant {grant_id}")
        report.planned = [t for t in transitions if t.action is not Action.WAIT]
        if options.no_issue:
            report.planned = [
                t for t in report.planned if t.action in (Action.EXPIRE, Action.REVOKE)
            ]
        if options.dry_run:
            return report
        commits, comments = _carry_out(
            git, state, report.planned, options, vault, github, environ, memory, report
        )
        if not commits:
            return report
        tip = write_commits(git, base, commits, identity)
        if push(git, options.remote, options.branch, tip):
            report.pushed = tip
            fetch(git, options.remote, options.branch)
            for number, marker, body in comments:
                try:
                    github.upsert_comment(number, marker, body)
                except JitflowError as exc:
                    report.errors.append(f"commenting on PR #{number}: {exc.message}")
            return report
    raise GitError(
        f"{options.remote}/{options.branch} kept moving: gave up after {MAX_ATTEMPTS} pushes; "
        "the Vault side is consistent and the next sync records what is missing"
    )


def _carry_out(
    git: Git,
    state: MainState,
    transitions: Sequence[Transition],
    options: SyncOptions,
    vault: Any,
    github: Any,
    environ: Mapping[str, str],
    memory: _Memory,
    report: SyncReport,
) -> tuple[list[LedgerCommit], list[tuple[int, str, str]]]:
    now = options.now
    runner = Identity.from_env(environ).name
    commits: list[LedgerCommit] = []
    comments: list[tuple[int, str, str]] = []
    ends = [t for t in transitions if t.action in (Action.EXPIRE, Action.REVOKE)]
    commits += _end_grants(git, state, ends, vault, github, now, runner, memory, report)
    orphans: dict[str, list[Transition]] = {}
    for t in transitions:
        if t.action is Action.ADOPT_OR_REVOKE:
            orphans.setdefault(t.request_id, []).append(t)
    for request_id, found in sorted(orphans.items()):
        commits += _reconcile(
            state, request_id, found, vault, github, git, now, runner, memory, report, comments
        )
    issues = [t for t in transitions if t.action is Action.ISSUE]
    commits += _issue(
        git, state, issues, vault, github, environ, now, runner, memory, report, comments
    )
    return commits, comments


def _end_grants(
    git: Git,
    state: MainState,
    ends: Sequence[Transition],
    vault: Any,
    github: Any,
    now: datetime,
    runner: str,
    memory: _Memory,
    report: SyncReport,
) -> list[LedgerCommit]:
    from jitflow.adapters.vault.types import GrantHandle

    records = {r.id: r for r in state.ledger.active}
    targets = []
    for t in ends:
        if t.deletion_commit:
            content = git.show_bytes(
                f"{t.deletion_commit}^", f"requests/active/{t.request_id}.yaml"
            )
            from jitflow.core.ledger import parse_active_record

            record = parse_active_record(content or b"", t.request_id)
            targets.append((t, record, content or b""))
        else:
            targets.append((t, records[t.request_id], state.active_bytes[t.request_id]))
    handles = [
        GrantHandle(r.id, r.kind or _kind_guess(r.vault), r.accessor, dict(r.vault))
        for _, r, _ in targets
        if r.id not in memory.revoked
    ]
    outcomes = {h.request_id: o for h, o in vault.revoke_many(handles)}
    commits = []
    for t, record, content in targets:
        outcome = outcomes.get(record.id)
        if isinstance(outcome, JitflowError):
            report.errors.append(f"revoking {record.id}: {outcome.message}")
            continue
        memory.revoked.add(record.id)
        if t.deletion_commit:
            by, pr = _revoker(github, t.deletion_commit, runner)
            commit = steps.end_commit(
                record, content, Event.REVOKE, now, by, pr=pr, still_active_file=False
            )
        elif t.action is Action.REVOKE:
            by = environ_actor if (environ_actor := _actor()) else runner
            commit = steps.end_commit(record, content, Event.REVOKE, now, by)
        else:
            commit = steps.end_commit(record, content, Event.EXPIRE, now, runner)
        commits.append(commit)
        report.done.append((t.action.value, record.id, str(outcome or "")))
    return commits


def _actor() -> str:
    import os

    return os.environ.get("GITHUB_ACTOR", "")


def _kind_guess(vault: Mapping[str, str]) -> Any:
    from jitflow.core.model import GrantKind

    if vault.get("entity_id"):
        return GrantKind.IDENTITY_GROUP
    if vault.get("lease_id"):
        return GrantKind.DATABASE
    return GrantKind.VAULT_TOKEN


def _revoker(github: Any, commit: str, runner: str) -> tuple[str, int | None]:
    """Who revoked: the author of the PR whose merge deleted the active file."""
    try:
        numbers = github.pulls_for_commit(commit)
        if numbers:
            return github.pull_request(numbers[0]).author, numbers[0]
    except JitflowError:
        pass
    return runner, None


def _verdict(git: Git, github: Any, state: MainState, request_id: str, memory: _Memory) -> Verdict:
    cached = memory.verdicts.get(request_id)
    merge_commit = state.added_by.get(request_id, "")
    if cached is not None and cached.merge_commit == merge_commit:
        return cached
    verdict = decide(git, github, request_id, merge_commit)
    memory.verdicts[request_id] = verdict
    return verdict


def _names(verdict: Verdict, state: MainState) -> tuple[str, str]:
    decision = verdict.decision
    if decision is not None and decision.request is not None:
        return decision.request.policy, decision.request.requester
    from jitflow.core.loading import parse_request

    loaded = parse_request(state.request_bytes.get(verdict.request_id, b""), "requests/x.yaml")
    if loaded.value is None:
        return "", verdict.pr.author if verdict.pr else ""
    return loaded.value.policy, loaded.value.requester


def _deny(
    verdict: Verdict,
    state: MainState,
    now: datetime,
    runner: str,
    comments: list[tuple[int, str, str]],
) -> LedgerCommit:
    policy, requester = _names(verdict, state)
    commit = steps.deny_commit(
        verdict, state.request_bytes[verdict.request_id], policy, requester, now, runner
    )
    if verdict.pr is not None:
        note = steps.denied_note(verdict.request_id, verdict.all_findings())
        comments.append((verdict.pr.number, f"status:{verdict.request_id}", note))
    return commit


def _reconcile(
    state: MainState,
    request_id: str,
    found: list[Transition],
    vault: Any,
    github: Any,
    git: Git,
    now: datetime,
    runner: str,
    memory: _Memory,
    report: SyncReport,
    comments: list[tuple[int, str, str]],
) -> list[LedgerCommit]:
    """Adopt the earliest orphan of a pending, issuable request; revoke every other one."""
    from jitflow.adapters.vault.types import GrantHandle

    commits: list[LedgerCommit] = []
    infos = sorted(
        (info for t in found if (info := vault.lookup_accessor(t.accessor or "")) is not None),
        key=lambda i: (i.expire_time is None, i.expire_time, i.accessor),
    )
    keep = None
    verdict = None
    if request_id in state.request_bytes and infos:
        try:
            verdict = _verdict(git, github, state, request_id, memory)
        except JitflowError as exc:
            report.errors.append(f"deciding {request_id}: {exc.message}")
            return []
        if verdict.approved:
            keep = infos[0]
    for info in infos:
        if info is keep:
            continue
        handle = GrantHandle(request_id, _kind_guess({}), info.accessor)
        [(_, outcome)] = vault.revoke_many([handle])
        if isinstance(outcome, JitflowError):
            report.errors.append(f"revoking orphan token of {request_id}: {outcome.message}")
            continue
        why = "its request is not pending and issuable"
        commits.append(
            steps.orphan_revoke_commit(
                request_id, info.accessor, info.policy or "", info.requester or "", now, why
            )
        )
        report.done.append(("revoke", request_id, f"orphan token {info.accessor}"))
    if verdict is not None and request_id in state.request_bytes:
        if keep is not None:
            own = memory.issued.get(request_id)
            if own is not None and own.accessor == keep.accessor:
                facts = steps.facts_of(own, verdict.decision.policy.grant.kind)  # type: ignore[union-attr]
                event = Event.ISSUE
            else:
                facts = steps.IssueFacts(
                    verdict.decision.policy.grant.kind,  # type: ignore[union-attr]
                    keep.expire_time or now,
                    keep.ttl,
                    {"accessor": keep.accessor},
                )
                event = Event.ADOPT
            commits.append(
                steps.issue_commit(verdict, state.request_bytes[request_id], facts, now, event)
            )
            report.done.append((event.value, request_id, keep.accessor))
        elif not verdict.approved:
            commits.append(_deny(verdict, state, now, runner, comments))
            report.done.append(("deny", request_id, "orphan token revoked"))
    return commits


def _issue(
    git: Git,
    state: MainState,
    issues: Sequence[Transition],
    vault: Any,
    github: Any,
    environ: Mapping[str, str],
    now: datetime,
    runner: str,
    memory: _Memory,
    report: SyncReport,
    comments: list[tuple[int, str, str]],
) -> list[LedgerCommit]:
    commits: list[LedgerCommit] = []
    fresh: list[tuple[Verdict, Any]] = []
    for t in issues:
        try:
            verdict = _verdict(git, github, state, t.request_id, memory)
        except JitflowError as exc:
            report.errors.append(f"deciding {t.request_id}: {exc.message}")
            continue
        if not verdict.approved:
            commits.append(_deny(verdict, state, now, runner, comments))
            report.done.append(
                ("deny", t.request_id, "; ".join(f.code for f in verdict.all_findings()))
            )
            continue
        issued = memory.issued.get(t.request_id)
        if issued is None:
            try:
                issued = vault.issue(steps.order_for(verdict))
            except ConfigError as exc:
                report.errors.append(f"issuing {t.request_id}: {exc.message}")
                continue
            except JitflowError as exc:
                report.errors.append(f"issuing {t.request_id}: {exc.message} (will retry)")
                continue
            memory.issued[t.request_id] = issued
        fresh.append((verdict, issued))
    fresh = _drop_duplicates(fresh, vault, report, memory)
    for verdict, issued in fresh:
        kind = verdict.decision.policy.grant.kind  # type: ignore[union-attr]
        try:
            steps.deliver(github, vault, verdict, issued, environ)
        except (DeliveryError, JitflowError) as exc:
            report.errors.append(f"delivering {verdict.request_id}: {exc.message}")
        facts = steps.facts_of(issued, kind)
        commits.append(
            steps.issue_commit(
                verdict, state.request_bytes[verdict.request_id], facts, now, Event.ISSUE
            )
        )
        report.done.append(
            ("issue", verdict.request_id, f"until {issued.expires_at:%Y-%m-%dT%H:%M:%SZ}")
        )
    return commits


def _drop_duplicates(
    fresh: list[tuple[Verdict, Any]], vault: Any, report: SyncReport, memory: _Memory
) -> list[tuple[Verdict, Any]]:
    """Another sync may have issued the same request meanwhile: the earliest token wins."""
    from jitflow.adapters.vault.types import GrantHandle

    with_accessor = [(v, i) for v, i in fresh if i.accessor]
    if not with_accessor:
        return fresh
    live: dict[str, list[Any]] = {}
    for info in vault.list_jitflow_tokens():
        live.setdefault(info.request_id, []).append(info)
    kept = []
    for verdict, issued in fresh:
        rivals = sorted(
            live.get(verdict.request_id, []),
            key=lambda i: (i.expire_time is None, i.expire_time, i.accessor),
        )
        if issued.accessor and rivals and rivals[0].accessor != issued.accessor:
            handle = GrantHandle(verdict.request_id, _kind_guess({}), issued.accessor)
            vault.revoke_many([handle])
            memory.issued.pop(verdict.request_id, None)
            report.done.append(("yield", verdict.request_id, "another sync issued it first"))
            continue
        kept.append((verdict, issued))
    return kept
