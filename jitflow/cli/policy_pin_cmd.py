"""`jitflow policy pin`: pin the logins policies/ names to their GitHub account ids."""

from __future__ import annotations

from pathlib import Path

import click

from jitflow.cli import wiring
from jitflow.cli.group import EXIT_CODES_HELP
from jitflow.cli.policy_cmd import REPO_OPTION, policy


@policy.command("pin", epilog=EXIT_CODES_HELP)
@click.option("--check", is_flag=True, help="Report only; write nothing (exit 1 if not clean).")
@click.option(
    "--repin",
    multiple=True,
    metavar="LOGIN",
    help="Pin LOGIN again to whoever holds it now (after checking it is the person meant).",
)
@REPO_OPTION
def policy_pin(check: bool, repin: tuple[str, ...], repo: Path) -> None:
    """Pin every login named in policies/ to its GitHub account id.

    A login can be renamed and then registered by someone else; the account id never
    changes. Writes the `github_ids:` block of policies/groups.yaml for logins without a
    pin, drops pins of logins named nowhere, and reports pins that no longer match the
    account holding the login (never replaced unless --repin names it). Needs GITHUB_TOKEN
    and GITHUB_REPOSITORY (any token that can read public profiles). Exit 1 when something
    is left for a person to fix (or, with --check, anything to change).
    """
    from jitflow.reporters.pins import render_pins
    from jitflow.usecases.pins import PinOptions, run_pin

    with wiring.github(wiring.environment()) as github:
        outcome = run_pin(PinOptions(repo, check, repin), github)
    click.echo(render_pins(outcome, check), nl=False)
    raise SystemExit(0 if outcome.clean else 1)
