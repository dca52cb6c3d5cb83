"""`jitflow init`: scaffold an access repository that works with `jitflow check` at once.

Files come from package data (the embedded examples and templates), so what `init` writes
is what the tests check. The workflows run jitflow through its composite action pinned to a
full commit SHA (`--action OWNER/NAME@SHA`), which installs jitflow from that commit's own
files: no workflow installs a package by name from an index, where anyone could register it.
Everything else `init` writes works in the user's repository alone: the JSON Schemas the
files' `yaml-language-server` lines point at, a pre-commit configuration, and next steps that
link to the documentation at that same commit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from jitflow.errors import UsageError

EXAMPLE_POLICY = "staging-readonly.yaml"
WORKFLOWS = ("check.yml", "sync.yml")
SCHEMA_DIR = ".jitflow/schemas"
# What the templates say where `init` writes the pinned action (kept a valid `uses:` so the
# templates themselves pass the workflow linters).
ACTION_PLACEHOLDER = "jitflow-init/jitflow@" + "0" * 40
ACTION_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+@[0-9a-f]{40}")
_GITHUB_URL = re.compile(r"https://github\.com/([A-Za-z0-9-]+/[A-Za-z0-9._-]+?)(?:\.git)?/?")


def workflow_templates(action: str) -> dict[str, bytes]:
    """`.github/workflows/<name>` -> the content `init` writes (and `doctor` expects) for the
    jitflow action pinned as `action` (`OWNER/NAME@SHA`)."""
    templates = resources.files("jitflow") / "templates" / "workflows"
    pinned = ACTION_PLACEHOLDER.encode(), action.encode()
    return {
        f".github/workflows/{name}": (templates / name).read_bytes().replace(*pinned)
        for name in WORKFLOWS
    }


def installed_action() -> str | None:
    """`OWNER/NAME@SHA` when this jitflow was installed from a GitHub commit
    (`pip install git+https://github.com/OWNER/NAME@SHA`), from its PEP 610 record."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        record = distribution("jitflow").read_text("direct_url.json")
        data = json.loads(record or "null")
    except (PackageNotFoundError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("vcs_info"), dict):
        return None
    where = _GITHUB_URL.fullmatch(str(data.get("url", "")))
    ref = f"{where.group(1)}@{data['vcs_info'].get('commit_id', '')}" if where else ""
    return ref if ACTION_REF.fullmatch(ref) else None


def resolve_action(given: str | None) -> str:
    """The pinned action the workflows use: `--action`, else the commit jitflow came from."""
    if given is not None:
        if not ACTION_REF.fullmatch(given):
            raise UsageError(
                f"--action {given!r}: expected OWNER/NAME@SHA with a full 40-character commit "
                "SHA (a tag or branch can be moved to other code)"
            )
        return given
    found = installed_action()
    if found is None:
        raise UsageError(
            "init needs the jitflow commit your workflows will run: pass --action "
            "OWNER/NAME@SHA (the GitHub repository of jitflow you use and a full commit SHA "
            "of it you reviewed), e.g. --action acme/jitflow@$(git -C jitflow rev-parse HEAD)"
        )
    return found


@dataclass(frozen=True)
class InitOptions:
    directory: Path
    force: bool = False
    action: str | None = None


@dataclass(frozen=True)
class InitResult:
    directory: Path
    written: tuple[str, ...]
    overwritten: tuple[str, ...]
    action: str  # the pinned jitflow action the workflows run (OWNER/NAME@SHA)


class ExistingFilesError(UsageError):
    """init would overwrite files; nothing was written."""

    def __init__(self, directory: Path, paths: tuple[str, ...]) -> None:
        listing = "\n".join(f"  {p}" for p in paths)
        super().__init__(
            f"{directory} already has files init would overwrite:\n{listing}\n"
            "Nothing was written. Re-run with --force to overwrite them."
        )
        self.paths = paths


def scaffold_files(action: str) -> dict[str, bytes]:
    """Repository path -> content of everything `init` writes."""
    package = resources.files("jitflow")
    examples = package / "examples" / "policies"
    templates = package / "templates"
    schemas = package / "core" / "schemas"
    files = {
        "policies/groups.yaml": (examples / "groups.yaml").read_bytes(),
        f"policies/{EXAMPLE_POLICY}": (examples / EXAMPLE_POLICY).read_bytes(),
        "requests/.gitkeep": b"",
        "requests/active/.gitkeep": b"",
        "requests/archive/.gitkeep": b"",
        **workflow_templates(action),
        ".github/CODEOWNERS": (templates / "CODEOWNERS").read_bytes(),
        ".pre-commit-config.yaml": (templates / "pre-commit-config.yaml").read_bytes(),
    }
    for schema in sorted(schemas.iterdir(), key=lambda entry: entry.name):
        if schema.name.endswith(".schema.json"):
            files[f"{SCHEMA_DIR}/{schema.name}"] = schema.read_bytes()
    return files


def run_init(options: InitOptions) -> InitResult:
    """Write the scaffold; refuse (writing nothing) to overwrite a file unless `force`."""
    directory = options.directory
    action = resolve_action(options.action)
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} is not a directory")
    files = scaffold_files(action)
    existing = tuple(p for p in files if (directory / p).exists())
    if existing and not options.force:
        raise ExistingFilesError(directory, existing)
    _write(directory, files)
    written = tuple(p for p in files if p not in existing)
    return InitResult(directory, written, existing, action)


def _write(directory: Path, files: Mapping[str, bytes]) -> None:
    try:
        for path, content in files.items():
            target = directory / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    except OSError as exc:
        raise UsageError(f"cannot write into {directory}: {exc.strerror} ({exc.filename})") from exc
