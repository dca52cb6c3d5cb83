"""`jitflow sync`: plan the due transitions, carry them out, record each as a commit, push.

Order of effects, so that nothing is recorded that did not happen and nothing is lost:
Vault first, then git. A sync that dies between the two leaves a Vault token with jitflow
metadata and no record; the next sync finds it and adopts it (if the request is legitimately
issuable) or revokes it. Each run keeps a heartbeat token alive in Vault and every token it
creates names it, so another run can tell a live run's tokens (in flight: left alone) from a
dead run's (jitflow.usecases.sync.inflight). Before recording an issue, a sync looks for
another live token for the same request: the earliest one wins and the others are revoked,
so two racing syncs never leave two grants. A rejected push is re-planned on the fresh main,
never forced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jitflow.adapters.git import Git, remote_auth_env
from jitflow.adapters.git.remote import fetch, push
from jitflow.adapters.git.writing import Identity, LedgerCommit, LedgerWriter
from jitflow.core.grants import GrantHandle, kind_guess
from jitflow.core.ledger import Action, EndedBlock, EndReason, Event, OrphanToken, Transition, plan
from jitflow.errors import GitError, JitflowError
from jitflow.reporters import sync_notes
from jitflow.usecases.port import PullFacts, Signer, SyncPort, VaultPort
from jitflow.usecases.sync import recording
from jitflow.usecases.sync.inflight import Scan, Waited, main_moved, split_by_run, wait_for_runs
from jitflow.usecases.sync.issuing import issue_due
from jitflow.usecases.sync.orphans import membership_held, reconcile_orphans
from jitflow.usecases.sync.post_review import (
    BreakGlassGrant,
    awaiting_review,
    record_post_reviews,
)
from jitflow.usecases.sync.recent import checkpoint_trailer
from jitflow.usecases.sync.review_trailer import stamper
from jitflow.usecases.sync.run_memory import Comment, IssueRun, RunMemory, SyncReport
from jitflow.usecases.sync.signing import ledger_signer, record_anchor
from jitflow.usecases.sync.state import MainState, read_state
from jitflow.usecases.sync.waiting import deny_unapproved_waiting
from jitflow.usecases.sync.warnings import ending_ids, warn_expiring

MAX_ATTEMPTS = 6  # pushes
MAX_REPLANS = 20  # fresh looks at main while other runs record their work


@dataclass(frozen=True)
class SyncOptions:
    repo: Path
    now: datetime
    dry_run: bool = False
    no_issue: bool = False
    revoke_ids: tuple[str, ...] = ()
    remote: str = "origin"
    branch: str = "main"


@dataclass(frozen=True)
class Carried:
    """An attempt's commits and PR comments; those that end grants come first."""

    commits: list[LedgerCommit]
    comments: list[Comment]
    ends: int  # how many of the commits end grants
    end_notes: int  # how many of the comments tell of an ending


@dataclass(frozen=True)
class _Run:
    """What every attempt of one run shares."""

    options: SyncOptions
    vault: VaultPort
    github: SyncPort
    environ: Mapping[str, str]
    git: Git
    identity: Identity
    report: SyncReport
    memory: RunMemory
    signer: Signer | None
    own_run: str | None  # this run's heartbeat accessor
    run_error: str | None  # why there is none (nothing is issued then)


def run_sync(
    options: SyncOptions, vault: VaultPort, github: SyncPort, environ: Mapping[str, str]
) -> SyncReport:
    report = SyncReport()
    signer = None if options.dry_run else ledger_signer(vault, environ, report)
    git_dir = Path(options.repo) / ".git"
    if not options.dry_run and git_dir.is_dir() and hasattr(vault, "certificate_journal"):
        # certificates Vault signs are kept here before anything else can fail
        vault.certificate_journal = git_dir / "jitflow-certificates"
    own_run, run_error = (None, None) if options.dry_run else _open_run(vault)
    run = _Run(
        options,
        vault,
        github,
        environ,
        Git(options.repo, env=remote_auth_env(environ)),
        Identity.from_env(environ),
        report,
        RunMemory(branch=options.branch, now=options.now),
        signer,
        own_run,
        run_error,
    )
    try:
        return _attempts(run)
    finally:
        if own_run is not None:
            vault.close_run()


def _open_run(vault: VaultPort) -> tuple[str | None, str | None]:
    """This run's heartbeat (its accessor), or why there is none."""
    try:
        return vault.open_run(), None
    except JitflowError as exc:
        return None, (
            f"this run could not start its heartbeat token ({exc.message}); grants due to end "
            "were ended anyway, but nothing new was issued: without one, a concurrent sync "
            "would take this run's tokens for a dead run's. The runner's Vault policy needs "
            '`update` on "auth/token/create/jitflow-run", and that role (docs/vault-setup.md)'
        )


def _attempts(run: _Run) -> SyncReport:
    options, vault, git, report = run.options, run.vault, run.git, run.report
    pushes = replans = 0
    while pushes < MAX_ATTEMPTS:
        report.attempts = pushes + 1
        report.errors.clear()
        report.done.clear()
        base = fetch(git, options.remote, options.branch)
        state = read_state(git, base, run.identity.email)
        scan, scan_error = _scan_for_orphans(vault, state, run.own_run)
        if not options.dry_run and replans < MAX_REPLANS and _replan(run, state, scan):
            replans += 1
            continue  # another run recorded its work, or ended: look again
        tokens = [OrphanToken(t.accessor, t.request_id) for t in scan.orphans if t.request_id]
        transitions = plan(state.ledger, options.now, tokens, options.revoke_ids)
        transitions = _leave_in_flight(transitions, scan, report)
        for error in (scan_error, run.run_error):
            if error is not None:
                transitions = _ends_only(transitions, error, report)
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
        trailer = checkpoint_trailer(state.ledger.deletions)
        awaiting = awaiting_review(git, state, options.now, report)
        writer = LedgerWriter(git, base, run.identity, run.signer, trailer)
        if awaiting is not None:  # each commit says which grants still await review
            writer.stamp = stamper([g.id for g in awaiting])
        # Waiting requests are decided too: a merge that lacked approval is denied at once.
        work = [*report.planned, *(t for t in transitions if t.action is Action.WAIT)]
        done = _carry_out(run, state, work, writer, awaiting or [])
        commits, comments = _still_ours(run, done)
        if not commits:
            return report
        tip = writer.write(commits)
        # Told before the push, so a run killed once its push landed has told everyone; a
        # run killed before it leaves orphans, replaced and told afresh by the next run.
        _post(run, comments)
        pushes += 1
        if push(git, options.remote, options.branch, tip, base):
            report.pushed = tip
            try:
                fetch(git, options.remote, options.branch)  # shows a later run's push, if any
            finally:
                record_anchor(vault, run.environ, tip, report, git)
            return report
    raise GitError(
        f"{options.remote}/{options.branch} kept moving: gave up after {MAX_ATTEMPTS} pushes; "
        "the Vault side is consistent and the next sync records what is missing"
    )


def _post(run: _Run, comments: Sequence[Comment]) -> None:
    """Each PR comment, in place of the one with the same marker (so a re-plan's replace an
    earlier attempt's)."""
    for number, marker, body in comments:
        try:
            run.github.upsert_comment(number, marker, body)
        except JitflowError as exc:
            run.report.errors.append(f"commenting on PR #{number}: {exc.message}")


def _replan(run: _Run, state: MainState, scan: Scan) -> bool:
    """Whether to read main again before planning: a live run's tokens of a pending request
    were recorded or their run ended meanwhile, or main moved since this attempt read it
    while a token looked orphaned (its run may have recorded it just before ending)."""
    remote, branch, base = run.options.remote, run.options.branch, state.commit
    pending = {t.run for t in scan.in_flight if t.run and t.request_id in state.request_bytes}
    if pending and not run.memory.issued:  # a run holding tokens never waits: no deadlock
        try:
            waited = wait_for_runs(run.git, (remote, branch, base), pending, run.vault)
        except JitflowError as exc:
            run.report.errors.append(f"waiting for another sync run: {exc.message}")
            return False
        if waited is not Waited.TIMEOUT:
            return True
    theirs = any(t.run != run.own_run for t in scan.orphans)
    return theirs and main_moved(run.git, remote, branch, base)


def _leave_in_flight(
    transitions: Sequence[Transition], scan: Scan, report: SyncReport
) -> list[Transition]:
    """Requests a live run is issuing are its own to record: neither issued nor settled here."""
    ids = scan.in_flight_ids
    kept = []
    for t in transitions:
        if t.request_id in ids and t.action not in (Action.EXPIRE, Action.REVOKE):
            report.warnings.append(
                f"{t.request_id}: left to another sync run that is issuing it right now"
            )
            continue
        kept.append(t)
    return kept


def _still_ours(run: _Run, done: Carried) -> tuple[list[LedgerCommit], list[Comment]]:
    """What this attempt may push. A run records tokens it made only while its heartbeat
    provably never lapsed (renewed just now): otherwise another run may have taken them for a
    dead run's orphans and revoked them, and only what ended grants is pushed."""
    if not run.memory.issued or run.vault.run_alive():
        return done.commits, done.comments
    run.report.errors.append(
        "this run's heartbeat token lapsed (Vault did not renew it): what it issued is not "
        "recorded, so no record can name a token another sync revoked; the next sync "
        "replaces those tokens and delivers fresh credentials"
    )
    return done.commits[: done.ends], done.comments[: done.end_notes]


_LIST_HINT = ': the runner\'s Vault policy needs `list` and `sudo` on "auth/token/accessors"'


def _scan_for_orphans(
    vault: VaultPort, state: MainState, own_run: str | None
) -> tuple[Scan, str | None]:
    """Vault tokens of jitflow with no record, by run; or, when Vault won't list them, why not."""
    try:
        recorded = {r.accessor for r in state.ledger.active if r.accessor}
        recorded |= {
            r.vault["receipt_accessor"]
            for r in state.ledger.active
            if r.vault.get("receipt_accessor")
        }
        listed = vault.list_jitflow_tokens(skip=recorded)
        return split_by_run([t for t in listed if t.request_id], own_run, vault), None
    except JitflowError as exc:
        hint = _LIST_HINT if "auth/token/accessors" in exc.message else ""  # not a lookup
        return Scan(), (
            f"the scan for orphan tokens failed ({exc.message}); grants due to end were "
            f"ended anyway, but nothing new was issued{hint}"
        )


def _ends_only(
    transitions: Sequence[Transition], scan_error: str, report: SyncReport
) -> list[Transition]:
    """Without the orphan scan, a crashed run's token can't be told from none: issuing could
    issue twice, so only what ends a grant is carried out (never gated on the scan)."""
    report.errors.append(scan_error)
    kept = []
    for t in transitions:
        if t.action is Action.ISSUE:
            report.errors.append(f"not issuing {t.request_id}: the orphan scan failed (above)")
        else:
            kept.append(t)
    return kept


def _carry_out(
    run: _Run,
    state: MainState,
    transitions: Sequence[Transition],
    writer: LedgerWriter,
    break_glass: Sequence[BreakGlassGrant],  # awaiting review at the base
) -> Carried:
    options, environ, memory, report = run.options, run.environ, run.memory, run.report
    runner = Identity.from_env(environ).name
    commits: list[LedgerCommit] = []
    comments: list[Comment] = []
    ends = [t for t in transitions if t.action in (Action.EXPIRE, Action.REVOKE)]
    # `--revoke` is ended in the name of whoever started this run: GITHUB_TRIGGERING_ACTOR (a
    # re-run of someone's dispatch is the re-runner's), else GITHUB_ACTOR.
    actor = environ.get("GITHUB_TRIGGERING_ACTOR") or environ.get("GITHUB_ACTOR") or runner
    issue_run = IssueRun(
        run.git,
        state,
        run.vault,
        run.github,
        environ,
        options.now,
        runner,
        memory,
        report,
        comments,
    )
    commits += _end_grants(issue_run, ends, actor, writer)
    ended = (len(commits), len(comments))
    orphans: dict[str, list[Transition]] = {}
    for t in transitions:
        if t.action is Action.ADOPT_OR_REVOKE:
            orphans.setdefault(t.request_id, []).append(t)
    issues = [t for t in transitions if t.action is Action.ISSUE]
    waiting = [t for t in transitions if t.action is Action.WAIT]
    try:
        settled, reissue = reconcile_orphans(issue_run, orphans)
        commits += settled
        commits += issue_due(issue_run, [*issues, *reissue])
        if not options.no_issue:  # --no-issue only ends grants: it records nothing else
            commits += deny_unapproved_waiting(issue_run, waiting)
            commits += record_post_reviews(run.git, break_glass, run.github, options.now, report)
            ending = ending_ids(report.done) | memory.revoked | set(memory.superseded)
            commits += warn_expiring(issue_run, ending)
    except JitflowError as exc:
        # Vault or GitHub went away mid-run: what is already done is still recorded below,
        # the rest is left for the next sync.
        report.errors.append(f"stopped early: {exc.message}")
    return Carried(commits, comments, *ended)


def _end_grants(
    run: IssueRun,
    ends: Sequence[Transition],
    actor: str,  # who asked for a --revoke
    writer: LedgerWriter,
) -> list[LedgerCommit]:
    git, state, github, now, memory = run.git, run.state, run.github, run.now, run.memory
    runner, notes = run.runner, run.comments
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
    ending = [r.id for _, r, _ in targets]
    handles = [
        GrantHandle(
            r.id,
            r.kind or kind_guess(r.vault),
            r.accessor,
            dict(r.vault),
            keep_membership=membership_held(state, r.vault, exclude=ending),
        )
        for _, r, _ in targets
        if r.id not in memory.revoked
    ]
    planned = []
    endings: dict[str, Comment] = {}
    for t, record, content in targets:
        if t.deletion_commit:
            by, pr = _revoker(github, t.deletion_commit, runner)
            how = EndedBlock(now, EndReason.REVOKED, by, pr=pr)
            commit = recording.end_commit(record, content, how, still_active_file=False)
            event = Event.REVOKE
        elif t.action is Action.REVOKE:
            by, event = actor, Event.REVOKE
            how = EndedBlock(now, EndReason.REVOKED, actor)
            commit = recording.end_commit(record, content, how)
        else:
            by, event = runner, Event.EXPIRE
            how = EndedBlock(now, EndReason.EXPIRED, runner)
            commit = recording.end_commit(record, content, how)
        planned.append((t, record, commit))
        if record.pr is not None:  # the requester hears it on the grant's own PR
            note = sync_notes.ended_note(record, event, by)
            endings[record.id] = (record.pr, f"ended:{record.id}", note)
    # git builds these commits while Vault revokes; only those revoked are kept below.
    writer.start_early([commit for _, _, commit in planned])
    outcomes = {h.request_id: o for h, o in run.vault.revoke_many(handles)}
    commits = []
    for t, record, commit in planned:
        outcome = outcomes.get(record.id)
        if isinstance(outcome, JitflowError):
            run.report.errors.append(f"revoking {record.id}: {outcome.message}")
            continue
        memory.revoked.add(record.id)
        commits.append(commit)
        if record.id in endings:
            notes.append(endings[record.id])
        run.report.done.append((t.action.value, record.id, str(outcome or "")))
    return commits


def _revoker(github: PullFacts, commit: str, runner: str) -> tuple[str, int | None]:
    """Who revoked: the author of the PR whose merge deleted the active file."""
    try:
        numbers = github.pulls_for_commit(commit)
        if numbers:
            return github.pull_request(numbers[0]).author, numbers[0]
    except JitflowError:
        pass
    return runner, None
