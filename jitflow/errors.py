"""The one exception root. Messages are written for the person at the terminal."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, documented in `jitflow --help` and the README."""

    OK = 0
    DENIED = 1
    USAGE = 2
    UNEXPECTED = 3


class JitflowError(Exception):
    """Base of every error jitflow raises on purpose.

    The message is complete and safe to print: it never contains a secret.
    """

    exit_code: ExitCode = ExitCode.UNEXPECTED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(JitflowError):
    """Bad flags, missing files, a repository that is not set up: the user can fix it."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """A policy, groups file or environment setting is wrong."""


class DeniedError(JitflowError):
    """A request or action is refused by policy."""

    exit_code = ExitCode.DENIED


class GitError(JitflowError):
    """A git command failed."""


class GitHubError(JitflowError):
    """A GitHub API call failed (after retries)."""


class VaultError(JitflowError):
    """A Vault call failed (after retries)."""


class WrappingTokenUsedError(VaultError):
    """A wrapping token was already unwrapped or has expired: maybe someone else unwrapped it."""


class DeliveryError(JitflowError):
    """Encrypting or decrypting a delivered secret failed."""
