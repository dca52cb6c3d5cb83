"""`jitflow request`."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import click

from jitflow.cli.group import EXIT_CODES_HELP, cli
from jitflow.cli.options import (
    IsoTime,
    complete_policy,
    format_option,
    now_or,
    remote_option,
    repo_option,
)


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("policy", shell_complete=complete_policy)
@click.option(
    "--for",
    "duration",
    metavar="DURATION",
    help="How long, e.g. 30m, 1h30m. Default: the policy's default.",
)
@click.option(
    "--reason", metavar="TEXT", required=True, help="Why you need it; reviewers read this."
)
@click.option("--ticket", metavar="TEXT", help="Incident or change ticket, e.g. INC-4211.")
@click.option("--start", type=IsoTime(), help="Start later than the merge (UTC ISO 8601).")
@click.option(
    "--ssh-key",
    "ssh_key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Your SSH public key file, for ssh policies.",
)
@click.option(
    "--break-glass",
    is_flag=True,
    help="Emergency access where the policy allows it; reviewed afterwards.",
)
@click.option(
    "--extends",
    metavar="ID",
    help="Extend your active grant ID by --for instead of asking anew (same policy).",
)
@click.option(
    "--as", "login", metavar="LOGIN", help="Your GitHub login. Default: git config github.user."
)
@click.option(
    "--base",
    metavar="REF",
    default="HEAD",
    show_default=True,
    help="Branch the request from this commit (usually main).",
)
@click.option(
    "--open",
    "open_pr",
    is_flag=True,
    help="Push the branch and open the pull request (needs GITHUB_TOKEN; checked first).",
)
@remote_option
@click.option(
    "--into",
    metavar="BRANCH",
    default="main",
    show_default=True,
    help="With --open: the PR's base branch.",
)
@click.option("--now", type=IsoTime(), hidden=True)
@format_option("text", "json", help="json: the request's id, path, branch, commit and PR.")
@repo_option()
def request(  # noqa: PLR0913 (Click passes one parameter per option)
    policy: str,
    duration: str | None,
    reason: str,
    ticket: str | None,
    start: datetime | None,
    ssh_key: Path | None,
    break_glass: bool,
    extends: str | None,
    login: str | None,
    base: str,
    open_pr: bool,
    remote: str,
    into: str,
    now: datetime | None,
    output_format: str,
    repo: Path,
) -> None:
    """Ask for access under POLICY: writes requests/<id>.yaml on a new branch.

    The request is checked against the policy first; what check would deny is refused here
    with the same messages. Your work tree and current branch are not touched.
    """
    from jitflow.usecases.publish import OpenOptions, PublishOptions, publish_request
    from jitflow.usecases.request import RequestOptions

    request_options = RequestOptions(
        repo=repo,
        policy=policy,
        duration=duration,
        reason=reason,
        now=now_or(now),
        login=login,
        ticket=ticket,
        start=start,
        ssh_key_file=ssh_key,
        break_glass=break_glass,
        base=base,
        extends=extends,
    )
    opening = OpenOptions(remote, into, os.environ) if open_pr else None
    published = publish_request(PublishOptions(request_options, opening))
    created, opened = published.created, published.pull_request
    if output_format == "json":
        record = {
            "id": created.id,
            "path": created.path,
            "branch": created.branch,
            "commit": created.commit,
            "pull_request": opened,
        }
        click.echo(json.dumps(record, indent=2))
        return
    click.echo(f"wrote {created.path} on branch {created.branch} (commit {created.commit[:12]})")
    if opened is not None:
        click.echo(f"opened {opened}")
    else:
        click.echo(
            f"next: git push {remote} {created.branch}  (then open a pull request, or use --open)"
        )
