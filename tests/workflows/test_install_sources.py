"""No workflow anywhere installs jitflow by name from a package index.

Whoever registers the name on the index would run code in the sync job, which holds
`id-token: write` (Vault) and pushes to main. Workflows get jitflow from content they pin: the
checkout itself (`.`), the jitflow action at a full commit SHA (`$GITHUB_ACTION_PATH`), or
hash-pinned requirements.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from jitflow.cli import cli
from tests.readme.readme import blocks

ROOT = Path(__file__).resolve().parents[2]
_INSTALL = re.compile(r"\b(?:pip|pipx|uv pip)\s+install\b(?P<args>[^\n;&|]*)")
_ALLOWED = re.compile(r"""^["']?(?:\.|\$GITHUB_ACTION_PATH|"\$GITHUB_ACTION_PATH")["']?$""")


def bare_name_installs(text: str) -> list[str]:
    """Each `pip install` of jitflow that names the package (with or without a version)."""
    found = []
    for match in _INSTALL.finditer(text):
        args = match.group("args").split()
        if "--require-hashes" in args:
            continue
        targets = [a for a in args if not a.startswith("-")]
        for target in targets:
            name = target.strip("\"'")
            if re.match(r"(?i)jitflow\b", name) and "@" not in name:
                found.append(match.group(0).strip())
    return found


def workflow_texts(root: Path) -> dict[str, str]:
    paths = [
        *root.glob(".github/workflows/*.y*ml"),
        *root.glob("jitflow/templates/workflows/*.y*ml"),
        root / "action.yml",
    ]
    texts = {str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in paths}
    for block in blocks():
        if block.language in ("yaml", "yml"):
            texts[block.where] = block.text
    return texts


def test_the_scan_finds_bare_name_installs() -> None:
    assert bare_name_installs('run: python -m pip install --quiet "jitflow==0.1.0"')
    assert bare_name_installs("run: pip install jitflow")
    assert bare_name_installs("run: pipx install 'jitflow[demo]'")
    assert not bare_name_installs('run: python -m pip install --quiet "$GITHUB_ACTION_PATH"')
    assert not bare_name_installs("run: pip install --require-hashes -r requirements.txt")
    assert not bare_name_installs("run: pip install .")


@pytest.mark.parametrize("name", sorted(workflow_texts(ROOT)))
def test_no_workflow_installs_jitflow_by_name(name: str) -> None:
    text = workflow_texts(ROOT)[name]
    assert bare_name_installs(text) == [], name
    for match in _INSTALL.finditer(text):
        targets = [a for a in match.group("args").split() if not a.startswith("-")]
        assert all(_ALLOWED.match(t) for t in targets) or "--require-hashes" in match.group(0), (
            f"{name}: {match.group(0)}"
        )


def test_the_pre_commit_template_suggests_no_bare_name_install() -> None:
    text = (ROOT / "jitflow/templates/pre-commit-config.yaml").read_text(encoding="utf-8")
    assert bare_name_installs(text) == []


def test_generated_workflows_install_nothing_by_name(tmp_path: Path) -> None:
    action = "acme/jitflow@" + "7" * 40
    result = CliRunner().invoke(cli, ["init", str(tmp_path), "--action", action])
    assert result.exit_code == 0, result.output
    for path in sorted((tmp_path / ".github" / "workflows").iterdir()):
        text = path.read_text(encoding="utf-8")
        assert _INSTALL.search(text) is None, path.name
        uses = re.findall(r"(?m)^\s*(?:- )?uses: (\S+)", text)
        assert uses and all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u) for u in uses), uses
        assert f"uses: {action} # jitflow action" in text
