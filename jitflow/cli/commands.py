"""Imports every command module so each registers its subcommand on the group."""

from jitflow.cli import (  # noqa: F401
    audit_cmd,
    audit_review_cmd,
    audit_sample_cmd,
    audit_verify_cmd,
    check_cmd,
    creds_cmd,
    demo_cmd,
    doctor_cmd,
    init_cmd,
    policies_cmd,
    policy_cmd,
    policy_impact_cmd,
    policy_pin_cmd,
    policy_test_cmd,
    request_cmd,
    revoke_cmd,
    schema_cmd,
    sync_cmd,
)
