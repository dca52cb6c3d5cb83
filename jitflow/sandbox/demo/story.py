"""The demo's story, step by step, each step a real call: git, HTTP to the stand-in, Vault.

alice asks for access in pull requests; the check comments and sets statuses; an outsider's
approval is ignored; eligible reviewers approve; the PRs merge; the sync issues; alice
fetches and uses her credentials; time jumps past the expiry; the sync revokes; the
credentials stop working; the audit tells the whole story from git alone.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jitflow.sandbox.demo import cert_story
from jitflow.sandbox.demo.extend_story import extend, warn
from jitflow.sandbox.demo.progress import Narrator, StepFailed
from jitflow.sandbox.demo.steps import (
    Ask,
    OpenedRequest,
    alice_opens_pull,
    gate_statuses,
    run_sync_as_the_workflow,
)
from jitflow.sandbox.demo.world import BOT, DemoWorld

OUTSIDER = "mallory"


ASKS = (
    Ask(
        "staging-readonly",
        "30m",
        "Reproduce the checkout timeout on staging (reads staging secrets)",
        approver="carol",
    ),
    Ask(
        "orders-db-write",
        "30m",
        "Fix the orders stuck in 'pending' after the payment outage",
        approver="bob",
        ticket="INC-4211",
        needs_postgres=True,
    ),
    Ask(  # a `secret` grant: an X.509 client certificate from OpenBao's PKI engine
        "orders-api-cert",
        "30m",
        "Replay the stuck payment webhooks against the orders API (mTLS)",
        approver="bob",
    ),
)


def play(world: DemoWorld, narrator: Narrator, now: datetime) -> datetime:
    """Run the story; return the moment the clock jumped to (for the audit)."""
    asks = [a for a in ASKS if world.postgres is not None or not a.needs_postgres]
    opened = [_open_request(world, narrator, ask, now) for ask in asks]
    pending = _check(world, narrator, opened, now)
    _outsider_approves(world, narrator, pending, now)
    _approve(world, narrator, opened, now)
    _merge(world, narrator, opened)
    _sync(world, narrator, opened, datetime.now(UTC).replace(microsecond=0), "issue")
    secrets = _fetch_credentials(world, narrator, opened)
    _use_credentials(world, narrator, opened, secrets, expect_working=True)
    opened, secrets = _extension_chapter(world, narrator, opened, secrets)
    for batch in _by_expiry(world, opened):  # the extended grant ends 20 minutes later
        later = _expiry(world, batch) + timedelta(minutes=1)
        _sync(world, narrator, batch, later, "expire")
    _use_credentials(world, narrator, opened, secrets, expect_working=False)
    return later


def _extension_chapter(
    world: DemoWorld,
    narrator: Narrator,
    opened: list[OpenedRequest],
    secrets: dict[str, dict[str, str]],
) -> tuple[list[OpenedRequest], dict[str, dict[str, str]]]:
    """The warning before expiry, then alice extends her first grant (extend_story)."""

    warned_at = _expiry(world, opened) - timedelta(minutes=9)
    warn(world, narrator, opened, warned_at)
    first = opened[0]
    extended = extend(world, narrator, first, warned_at)
    # extended in place: the same token, renewed to the new end, nothing new to fetch
    same = {extended.request_id: secrets[first.request_id]}
    with narrator.step("the same token works on") as step:
        works, what = _try(world, same[extended.request_id])
        if not works:
            raise StepFailed(f"{extended.request_id}: the renewed token is refused: {what}")
        step.done(f"the token of {first.request_id}, renewed for {extended.request_id}: {what}")
    return [extended, *opened[1:]], {**secrets, **same}


def _open_request(world: DemoWorld, narrator: Narrator, ask: Ask, now: datetime) -> OpenedRequest:
    from jitflow.usecases.request import RequestOptions

    with narrator.step(f"alice requests {ask.policy}") as step:
        created, number = alice_opens_pull(
            world,
            RequestOptions(
                repo=world.alice.path,
                policy=ask.policy,
                duration=ask.duration,
                reason=ask.reason,
                now=now,
                login="alice",
                ticket=ask.ticket,
                base="origin/main",
            ),
        )
        step.done(
            f"alice opens PR #{number}: {ask.policy} for {ask.duration} "
            f"(jitflow request wrote {created.path})"
        )
    return OpenedRequest(ask, created.id, number, created.commit)


def _check(
    world: DemoWorld, narrator: Narrator, opened: list[OpenedRequest], now: datetime
) -> list[OpenedRequest]:
    """Run the check on every PR; return those still waiting for an approval."""
    with narrator.step("the check evaluates the PRs") as step:
        states = [gate_statuses(world, r.number, "opened", now) for r in opened]
        shown = []
        for request, state in zip(opened, states, strict=True):
            if state.get("jitflow/policy") != "success":
                raise StepFailed(f"PR #{request.number}: jitflow/policy is {state}")
            comments = world.standin.comments(request.number)
            if not any(c["user"]["login"] == BOT for c in comments):
                raise StepFailed(f"PR #{request.number}: the check posted no comment")
            approval = state.get("jitflow/approval", "?")
            why = " (self-approval: the policy allows it)" if approval == "success" else ""
            shown.append(f"#{request.number} jitflow/approval = {approval}{why}")
        step.done("the check comments, jitflow/policy = success; " + ", ".join(shown))
    return [
        r for r, s in zip(opened, states, strict=True) if s.get("jitflow/approval") != "success"
    ]


def _outsider_approves(
    world: DemoWorld, narrator: Narrator, pending: list[OpenedRequest], now: datetime
) -> None:
    if not pending:
        narrator.say(f"    note: no PR waits for an approval, so {OUTSIDER} has nothing to try")
        return
    with narrator.step(f"{OUTSIDER} approves") as step:
        for request in pending:
            world.standin.submit_review(request.number, OUTSIDER, "APPROVE")
            approval = gate_statuses(world, request.number, "submitted", now).get(
                "jitflow/approval"
            )
            if approval == "success":
                raise StepFailed(f"{OUTSIDER}'s approval of PR #{request.number} was counted")
        step.done(
            f"{OUTSIDER} (in no approver group) approves "
            + ", ".join(f"#{r.number}" for r in pending)
            + f": ignored, jitflow/approval = {approval}"
        )


def _approve(
    world: DemoWorld, narrator: Narrator, opened: list[OpenedRequest], now: datetime
) -> None:
    """Each PR's eligible approver approves (branch protection wants a review on every PR)."""
    with narrator.step("the eligible reviewers approve") as step:
        for request in opened:
            reviewer = request.ask.approver
            world.standin.submit_review(request.number, reviewer, "APPROVE")
            approval = gate_statuses(world, request.number, "submitted", now).get(
                "jitflow/approval"
            )
            if approval != "success":
                raise StepFailed(f"{reviewer} approved PR #{request.number}: still {approval}")
        step.done(
            ", ".join(f"{r.ask.approver} approves #{r.number}" for r in opened)
            + ": jitflow/approval = success"
        )


def _merge(world: DemoWorld, narrator: Narrator, opened: list[OpenedRequest]) -> None:
    with narrator.step("merging") as step:
        for request in opened:
            world.standin.merge_pull(request.number, request.ask.approver)
        step.done(
            ", ".join(f"{r.ask.approver} merges #{r.number}" for r in opened)
            + " (branch protection satisfied)"
        )


def _sync(
    world: DemoWorld, narrator: Narrator, opened: list[OpenedRequest], now: datetime, expect: str
) -> None:
    label = "time jumps past the expiry; sync" if expect == "expire" else "sync"
    with narrator.step(label) as step:
        report = run_sync_as_the_workflow(world, now)
        done = {request_id for event, request_id, _ in report.done if event == expect}
        missing = [r.request_id for r in opened if r.request_id not in done]
        if missing:
            raise StepFailed(f"sync did not {expect} {', '.join(missing)}")
        verb = "issues" if expect == "issue" else "expires and revokes"
        when = f"now = {now:%Y-%m-%dT%H:%M:%SZ}; " if expect == "expire" else ""
        step.done(
            f"{when}sync {verb} {len(opened)} grant(s), one commit each on main "
            f"(pushed {str(report.pushed)[:12]})"
        )


def _fetch_credentials(
    world: DemoWorld, narrator: Narrator, opened: list[OpenedRequest]
) -> dict[str, dict[str, str]]:
    from jitflow.usecases.creds import CredsOptions, fetch_credentials

    with narrator.step("alice runs jitflow creds") as step:
        world.alice.run("fetch", "--quiet", "origin")
        found: dict[str, dict[str, str]] = {}
        environ = {"VAULT_ADDR": world.bao.addr, "JITFLOW_BOT_LOGIN": BOT}
        with world.github_as("alice") as github:
            for request in opened:
                options = CredsOptions(
                    world.alice.path, request.request_id, world.alice_key, "json", "origin/main"
                )
                found[request.request_id] = fetch_credentials(options, github, environ)
        shown = [_masked(values) for values in found.values()]
        step.done(
            "alice runs jitflow creds: decrypted with her SSH key, unwrapped once: "
            + "; ".join(shown)
        )
    return found


def _masked(values: dict[str, str]) -> str:
    if cert_story.is_certificate(values):
        return cert_story.describe(values)
    if "token" in values:
        prefix = values["token"].split(".", 1)[0] if "." in values["token"] else ""
        return f"token {prefix + '.' if prefix else ''}****"
    if "username" in values:
        return f"database user {values['username']} with password ****"
    return "credentials ****"


def _use_credentials(
    world: DemoWorld,
    narrator: Narrator,
    opened: list[OpenedRequest],
    secrets: dict[str, dict[str, str]],
    *,
    expect_working: bool,
) -> None:
    label = "the credentials work" if expect_working else "the credentials are refused"
    with narrator.step(label) as step:
        results = []
        for request in opened:
            values = secrets[request.request_id]
            works, what = _try(world, values)
            if works != expect_working:
                raise StepFailed(f"{request.request_id}: {what}")
            results.append(what)
        step.done(("alice uses them: " if expect_working else "refused: ") + "; ".join(results))


_STAGING_SECRET = "secret/data/staging/app"  # noqa: S105 (a path)


def _try(world: DemoWorld, values: dict[str, str]) -> tuple[bool, str]:
    """Use a credential for real; (worked, what happened) with nothing secret in the text."""
    if cert_story.is_certificate(values):
        return cert_story.try_certificate(world, values)
    if "token" in values:
        import requests

        # what its policy (staging-read) allows: 404 is "allowed, no such secret". A token
        # that may be extended has no `default` policy, so no lookup-self.
        answer = requests.get(
            f"{world.bao.addr}/v1/{_STAGING_SECRET}",
            headers={"X-Vault-Token": values["token"]},
            timeout=30,
        )
        if answer.status_code not in (200, 404):
            return False, f"Vault read of {_STAGING_SECRET} denied ({answer.status_code})"
        return True, f"Vault read of {_STAGING_SECRET} allowed (staging-read)"
    if world.postgres is None:
        raise StepFailed("database credentials without a PostgreSQL server")
    result = world.postgres.psql(
        "SELECT current_user", user=values["username"], password=values["password"]
    )
    if result.returncode != 0:
        return False, "PostgreSQL login refused"
    return True, f"PostgreSQL login OK as {result.stdout.strip()}"


def _by_expiry(world: DemoWorld, opened: list[OpenedRequest]) -> list[list[OpenedRequest]]:
    """The grants in groups that end within a couple of minutes of each other, earliest first."""
    ordered = sorted(opened, key=lambda r: _expiry(world, [r]))
    batches: list[list[OpenedRequest]] = []
    for request in ordered:
        end = _expiry(world, [request])
        if batches and end - _expiry(world, batches[-1]) <= timedelta(minutes=2):
            batches[-1].append(request)
        else:
            batches.append([request])
    return batches


def _expiry(world: DemoWorld, opened: list[OpenedRequest]) -> datetime:
    from jitflow.core.ledger import active_path, parse_active_record

    ends = []
    for request in opened:
        content = world.runner.show_bytes("origin/main", active_path(request.request_id))
        record = parse_active_record(content or b"", request.request_id)
        if record.expires_at is None:
            raise StepFailed(f"the active record of {request.request_id} has no expiry")
        ends.append(record.expires_at)
    return max(ends)


def audit(world: DemoWorld, narrator: Narrator, now: datetime) -> None:
    """`jitflow audit` and `jitflow audit verify` on the runner's checkout, as of `now`."""
    from jitflow.reporters.audit_verify import render_verify_text
    from jitflow.usecases.audit.report import AuditOptions, run_audit
    from jitflow.usecases.audit.verify import VerifyOptions, run_verify

    with narrator.step("jitflow audit") as step:
        world.runner.run("fetch", "--quiet", "origin")
        table = io.StringIO()
        rows = run_audit(AuditOptions(repo=world.runner.path, ref="origin/main", now=now), table)
        step.done(f"jitflow audit: {rows} request(s), from git history alone")
    for line in table.getvalue().rstrip("\n").splitlines():
        narrator.say(f"      {line}")
    with narrator.step("jitflow audit verify") as step:
        options = VerifyOptions(
            repo=world.runner.path, ref="origin/main", now=now, vault=True, github=True
        )
        with world.github_as(BOT) as github:
            report = run_verify(options, world.runner_vault(), github)
        if not report.ok:
            raise StepFailed(render_verify_text(report))
        step.done(
            f"jitflow audit verify --vault --github: {report.requests_checked} request(s) "
            "checked, every ledger commit signed by the runner, all invariants hold"
        )


def keep_repository(world: DemoWorld, target: Path, origin: Path) -> None:
    """Leave a clone of the access repository (full history) at `target`, whose `origin` is a
    kept bare copy of the demo's remote, so `git fetch origin` and `--base origin/main` work."""
    from jitflow.adapters.git import Git

    Git(world.workdir).run("clone", "--quiet", "--bare", str(world.bare), str(origin))
    Git(world.workdir).run("clone", "--quiet", str(origin), str(target))


__all__ = ["ASKS", "Ask", "audit", "keep_repository", "play"]
