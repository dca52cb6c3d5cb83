"""Imports every command module so each registers its subcommands on the group."""

from jitflow.cli import check_cmd, request_cmd  # noqa: F401
