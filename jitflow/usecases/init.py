"""`jitflow init`: scaffold an access repository that works with `jitflow check` at once.

Files come from package data (the embedded examples and templates), so what `init` writes
is what the tests check: the workflows are the ones this project runs, except that they
install the released jitflow they were written by (pinned) instead of this checkout.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from jitflow import __version__
from jitflow.errors import UsageError

EXAMPLE_POLICY = "staging-readonly.yaml"
WORKFLOWS = ("check.yml", "sync.yml")


def pinned_requirement() -> str:
    """What the scaffolded workflows install: this very release, so runs are reproducible."""
    return f"jitflow=={__version__}"


def workflow_templates() -> dict[str, bytes]:
    """`.github/workflows/<name>` -> the content `init` writes (and `doctor` expects)."""
    templates = resources.files("jitflow") / "templates" / "workflows"
    return {f".github/workflows/{name}": (templates / name).read_bytes() for name in WORKFLOWS}


@dataclass(frozen=True)
class InitOptions:
    directory: Path
    force: bool = False


@dataclass(frozen=True)
class InitResult:
    directory: Path
    written: tuple[str, ...]
    overwritten: tuple[str, ...]


class ExistingFilesError(UsageError):
    """init would overwrite files; nothing was written."""

    def __init__(self, directory: Path, paths: tuple[str, ...]) -> None:
        listing = "\n".join(f"  {p}" for p in paths)
        super().__init__(
            f"{directory} already has files init would overwrite:\n{listing}\n"
            "Nothing was written. Re-run with --force to overwrite them."
        )
        self.paths = paths


def scaffold_files() -> dict[str, bytes]:
    """Repository path -> content of everything `init` writes."""
    package = resources.files("jitflow")
    examples = package / "examples" / "policies"
    templates = package / "templates"
    files = {
        "policies/groups.yaml": (examples / "groups.yaml").read_bytes(),
        f"policies/{EXAMPLE_POLICY}": (examples / EXAMPLE_POLICY).read_bytes(),
        "requests/.gitkeep": b"",
        "requests/active/.gitkeep": b"",
        "requests/archive/.gitkeep": b"",
        **workflow_templates(),
        ".github/CODEOWNERS": (templates / "CODEOWNERS").read_bytes(),
        ".pre-commit-hooks.yaml": (templates / "pre-commit-hooks.yaml").read_bytes(),
    }
    return files


def run_init(options: InitOptions) -> InitResult:
    """Write the scaffold; refuse (writing nothing) to overwrite a file unless `force`."""
    directory = options.directory
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} is not a directory")
    files = scaffold_files()
    existing = tuple(p for p in files if (directory / p).exists())
    if existing and not options.force:
        raise ExistingFilesError(directory, existing)
    _write(directory, files)
    written = tuple(p for p in files if p not in existing)
    return InitResult(directory, written, existing)


def _write(directory: Path, files: Mapping[str, bytes]) -> None:
    try:
        for path, content in files.items():
            target = directory / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    except OSError as exc:
        raise UsageError(f"cannot write into {directory}: {exc.strerror} ({exc.filename})") from exc


def next_steps(directory: Path) -> str:
    """What an operator still has to do outside the repository."""
    return f"""\
Next steps:
  1. Review policies/ (who may ask for what, who approves) and replace @your-org/access-admins
     in .github/CODEOWNERS with the team that owns access policy.
  2. Commit and push:  git -C {directory} add -A && git -C {directory} commit -m "jitflow init"
  3. Set up Vault / OpenBao as in docs/vault-setup.md, e.g.:
       bao write auth/token/roles/jitflow-grant allowed_policies="..." orphan=true \\
           token_type=service renewable=false token_explicit_max_ttl=24h
       bao policy write jitflow-runner -      # the runner policy from the docs
       bao auth enable jwt && bao write auth/jwt/role/jitflow-sync ...   # GitHub OIDC
     then set the repository variables VAULT_ADDR and JITFLOW_VAULT_ROLE (environment `jitflow`).
  4. Protect main (Settings > Branches):
       - require status checks: jitflow/policy and jitflow/approval
       - require a pull request with at least 1 approving review
       - require review from Code Owners
       - do not allow bypassing: include administrators
  5. Requesters: `jitflow request POLICY --reason ... --open`; `jitflow creds ID` after merge.
"""
