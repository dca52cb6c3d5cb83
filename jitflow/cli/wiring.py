"""The CLI's composition root: the one CLI module that builds adapters (GitHub, Vault)
from the environment and hands them to use-cases.

Each builder imports its adapter when called, so `jitflow --help` loads no Vault or GitHub
library.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jitflow.adapters.github import GitHubGateway
    from jitflow.adapters.vault import VaultGateway


def environment() -> dict[str, str]:
    """A copy of the process environment, the one source of settings and tokens."""
    return dict(os.environ)


def github(environ: Mapping[str, str]) -> GitHubGateway:
    """The GitHub gateway from GITHUB_TOKEN, GITHUB_REPOSITORY and jitflow's optional settings."""
    from jitflow.adapters.github import GitHubGateway

    return GitHubGateway.from_env(environ)


def vault(environ: Mapping[str, str]) -> VaultGateway:
    """The Vault gateway from VAULT_ADDR plus VAULT_TOKEN, or a GitHub Actions OIDC login."""
    from jitflow.adapters.vault import VaultGateway

    return VaultGateway.from_env(environ)
