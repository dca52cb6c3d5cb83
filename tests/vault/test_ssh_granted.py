"""What an ssh grant records as granted: the certificate's life from signing, never more than asked."""

from __future__ import annotations

import pytest

from jitflow.adapters.vault.issue_ssh import SignedCertificate, ssh_grant
from jitflow.adapters.vault.sshcert import SshCertificate
from jitflow.core.grants import GrantOrder
from jitflow.core.model import GrantKind

ASKED = 1800
STARTED = 1_700_000_000


def _order() -> GrantOrder:
    return GrantOrder("r-1", "ssh-prod", "alice", GrantKind.SSH, ASKED, mount="ssh", role="user")


def _cert(valid_before: int) -> SshCertificate:
    return SshCertificate(
        "ssh-ed25519-cert-v01@openssh.com", 7, "k", ("ubuntu",), STARTED - 1, valid_before
    )


@pytest.mark.parametrize(
    ("signed_after", "life", "granted", "capped"),
    [
        (0, ASKED, ASKED, False),  # signed in the same second
        (3, ASKED, ASKED, False),  # a slow signing: Vault's clock started later than ours
        (0, 600, 600, True),  # the role capped the certificate
    ],
)
def test_granted_is_the_certificate_life_bounded_by_what_was_asked(
    signed_after: int, life: int, granted: int, capped: bool
) -> None:
    cert = _cert(STARTED + signed_after + life)
    issued = ssh_grant(SignedCertificate("acc", cert, "signed", {}), _order(), STARTED)
    assert issued.granted_ttl_seconds == granted
    assert issued.capped is capped
