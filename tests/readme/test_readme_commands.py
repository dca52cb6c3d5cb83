"""Every command the README shows is run: marked blocks in their world, the rest checked.

A `sh` block is either marked `<!-- readme-test: SCENARIO STEP -->` (run by
`test_readme_scenario`) or listed in NOT_EXECUTABLE with the reason and a structural check.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.readme import readme
from tests.readme.session import substitute
from tests.readme.worlds import EXAMPLES, SCENARIOS

pytestmark = pytest.mark.slow


def _pip_install_then_demo() -> None:
    """`pip install -e .` installs the `jitflow` command; the demo scenario runs `jitflow demo`."""
    project = tomllib.loads((readme.ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"] == {"jitflow": "jitflow.cli:main"}
    first = readme.marked("demo")[0]
    assert first.text.startswith("jitflow demo "), first.text


def _ci_run() -> None:
    """.ci/run is CI itself (running it here would recurse): it exists, is executable, and
    ends with the README's test command."""
    script = readme.ROOT / ".ci" / "run"
    assert script.is_file() and os.access(script, os.X_OK)
    lines = [line.strip() for line in script.read_text(encoding="utf-8").splitlines()]
    assert lines[-1] == "python3 -m pytest -n 2 -q"
    assert "python3 -m pip install -q -e '.[dev]'" in lines


def _test_command() -> None:
    """The suite's own command (it is running now); CI runs exactly it, from .ci/run."""
    _ci_run()


def _workflow_dispatch() -> None:
    """Needs GitHub Actions; the sync workflow must offer the `revoke` input it passes on."""
    workflow = (readme.ROOT / ".github" / "workflows" / "sync.yml").read_text(encoding="utf-8")
    assert "workflow_dispatch:" in workflow and "revoke:" in workflow
    assert 'args+=(--no-issue --revoke "$REVOKE_ID")' in workflow


def readme_ruleset() -> dict[str, object]:
    """The ruleset the README tells admins to create (the json block after its marker)."""
    import json

    text = readme.readme_text()
    block = text.split("<!-- readme-ruleset -->\n```json\n", 1)[1].split("\n```", 1)[0]
    loaded: dict[str, object] = json.loads(block)
    return loaded


def _ruleset_through_the_api() -> None:
    """tests/adoption POSTs the README's ruleset to the stand-in and lives under it; here: the
    command reads the file the README writes, and the ruleset has the App as only bypass."""
    ruleset = readme_ruleset()
    assert ruleset["bypass_actors"] == [
        {"actor_id": 123456, "actor_type": "Integration", "bypass_mode": "always"}
    ]


def _completion_scripts() -> None:
    """Each line's `_JITFLOW_COMPLETE=<shell>_source jitflow` prints that shell's script."""
    from click.testing import CliRunner

    from jitflow.cli import cli

    for shell in ("bash", "zsh", "fish"):
        env = {"_JITFLOW_COMPLETE": f"{shell}_source"}
        result = CliRunner().invoke(cli, [], env=env, prog_name="jitflow")
        assert result.exit_code == 0 and "_JITFLOW_COMPLETE" in result.output, shell


def _outbound_secrets() -> None:
    """tests/readme/test_readme_outbound.py runs these lines against OpenBao; here: they fill
    the very paths and keys the README's `.jitflow/outbound.yaml` names."""
    text = readme.readme_text()
    config = text.split("<!-- readme-outbound -->\n```yaml\n", 1)[1].split("\n```", 1)[0]
    assert "{vault: jitflow-kv/data/outbound/splunk, key: hec-token}" in config
    assert "{vault: jitflow-kv/data/outbound/hooks, key: hmac}" in config


NOT_EXECUTABLE: dict[str, tuple[str, Callable[[], None]]] = {
    (
        'bao kv put -mount=jitflow-kv outbound/splunk hec-token="$SPLUNK_HEC_TOKEN"\n'
        'bao kv put -mount=jitflow-kv outbound/hooks hmac="$(openssl rand -hex 32)"\n'
    ): (
        "needs an admin's Vault login; run by tests/readme/test_readme_outbound.py",
        _outbound_secrets,
    ),
    "gh api -X POST repos/acme/access/rulesets --input ruleset.json\n": (
        "needs GitHub; the adoption story test sends the same body through the REST API",
        _ruleset_through_the_api,
    ),
    "pip install -e '.[demo]' && jitflow demo\n": (
        "CI installs the project itself; `jitflow demo` runs in the demo scenario",
        _pip_install_then_demo,
    ),
    (
        'eval "$(_JITFLOW_COMPLETE=bash_source jitflow)"      # ~/.bashrc\n'
        'eval "$(_JITFLOW_COMPLETE=zsh_source jitflow)"       # ~/.zshrc\n'
        "_JITFLOW_COMPLETE=fish_source jitflow | source        "
        "# ~/.config/fish/completions/jitflow.fish\n"
    ): ("changes the reader's own shell start-up", _completion_scripts),
    "bash .ci/run\n": ("the CI entry point: running it inside the suite would recurse", _ci_run),
    "python3 -m pytest -n 2 -q\n": ("the suite's own command", _test_command),
    "gh workflow run sync.yml -f revoke=alice-orders-db-write-20261122-k3p9\n": (
        "dispatches a GitHub Actions workflow",
        _workflow_dispatch,
    ),
}


def test_every_shell_block_is_run_or_explained() -> None:
    unexplained = [
        f"{b.where}: {b.text.splitlines()[0]}"
        for b in readme.shell_blocks()
        if b.scenario is None and b.text not in NOT_EXECUTABLE
    ]
    assert not unexplained, "mark these blocks or list them in NOT_EXECUTABLE:\n" + "\n".join(
        unexplained
    )
    marked_other = [b.where for b in readme.blocks() if b.scenario and b.language != "sh"]
    assert not marked_other, f"only sh blocks can be run: {marked_other}"


@pytest.mark.parametrize("text", sorted(NOT_EXECUTABLE))
def test_a_block_that_is_not_run_is_in_the_readme_and_checked(text: str) -> None:
    assert text in [b.text for b in readme.shell_blocks()], f"stale NOT_EXECUTABLE entry {text!r}"
    reason, check = NOT_EXECUTABLE[text]
    assert reason
    check()


def test_markers_name_known_scenarios_and_unique_steps() -> None:
    steps: dict[str, list[str]] = {}
    for block in readme.blocks():
        if block.scenario is not None and block.step is not None:
            assert block.scenario in SCENARIOS, f"{block.where}: unknown scenario"
            steps.setdefault(block.scenario, []).append(block.step)
    for scenario, names in steps.items():
        assert len(names) == len(set(names)), f"{scenario}: duplicate steps {names}"
        hooked = SCENARIOS[scenario][1].hooked_steps()
        assert hooked <= set(names), f"{scenario}: hooks for steps not in the README: {hooked}"
    assert set(steps) == set(SCENARIOS), "a scenario without README blocks"


def test_the_substituted_examples_appear_in_the_readme() -> None:
    text = readme.readme_text()
    for example in EXAMPLES:
        assert example in text, f"{example!r} is substituted but no longer in the README"


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_readme_scenario(scenario: str, tmp_path: Path) -> None:
    """Run the scenario's blocks in README order, in one shell session, in its world."""
    make_world, _ = SCENARIOS[scenario]
    with make_world(tmp_path) as world:
        for block in readme.marked(scenario):
            assert block.step is not None
            stdin = world.before(block.step)
            ran = world.session.run(substitute(block.text, world.substitutions), stdin)
            assert ran.returncode == 0, (
                f"{block.where} ({scenario} {block.step}) exited {ran.returncode}:\n{ran.output}"
            )
            world.after(block.step, ran)
