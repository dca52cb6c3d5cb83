"""Imports every command module so each registers its subcommands on the group."""

from jitflow.cli import (  # noqa: F401
    audit_cmd,
    check_cmd,
    demo_cmd,
    doctor_cmd,
    policy_cmd,
    request_cmd,
    sync_cmd,
)
