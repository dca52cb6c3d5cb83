"""The typed ports through which the gate and sync ask GitHub for a PR's facts, and sync asks
Vault for credentials.

Modelled on policy-bot's `pull.Context`: the decision may ask exactly these questions and no
others, so what decides a grant is visible in one place and a test can answer them with a
plain-struct fake (`tests/port_fake.py`). The GitHub adapter implements it; nothing here
imports an adapter. `VaultPort` is the same for Vault: exactly what sync asks of it, which the
hvac-based `VaultGateway` satisfies structurally.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from jitflow.core.anchor import LedgerAnchor
from jitflow.core.grants import (
    GrantHandle,
    GrantOrder,
    IssuedGrant,
    RevokeOutcome,
    Secret,
    TokenInfo,
)
from jitflow.core.model import PullRequestFacts
from jitflow.errors import VaultError


class PullFacts(Protocol):
    """What deciding a request PR may ask GitHub (read only)."""

    def pull_request(self, number: int) -> PullRequestFacts:
        """The PR: author, base (branch and commit) and head, files, commits with the
        identities GitHub resolves, reviews with their commit and time, and the merge facts
        (merged, merged_at, merged_by, merge_commit_sha as GitHub reports them)."""
        ...

    def pulls_for_commit(self, sha: str) -> list[int]:
        """Merged PRs GitHub associates with commit `sha` (merge, squash, rebased copies)."""
        ...

    def open_pulls_with_head_sha(self, sha: str) -> list[int]:
        """Open PRs whose head is `sha` (merge queue entries)."""
        ...

    def ssh_public_keys(self, login: str) -> list[str]:
        """The SSH public keys @login publishes on GitHub."""
        ...

    def is_team_member(self, org: str, slug: str, login: str) -> bool:
        """Whether @login is an active member of org/slug; raises when it can't be read."""
        ...


class Commenter(Protocol):
    """Writing the one jitflow comment per marker on a PR."""

    def upsert_comment(self, number: int, marker: str, body: str) -> int: ...


class GatePort(PullFacts, Commenter, Protocol):
    """The gate: the decision's facts, plus posting its statuses and comment."""

    def set_status(
        self,
        sha: str,
        context: str,
        state: str,
        description: str,
        target_url: str | None = None,
    ) -> None: ...


class SyncPort(PullFacts, Commenter, Protocol):
    """Sync: the decision's facts, plus telling the PR what happened."""


class Signer(Protocol):
    """Makes the armored SSH signature of a commit payload (adapters/vault/ledger.py)."""

    def sign(self, payload: bytes) -> str: ...


class LedgerSettingsView(Protocol):
    @property
    def enabled(self) -> bool: ...

    @property
    def anchor_path(self) -> str: ...


class LedgerPort(Protocol):
    """What Vault holds for the ledger itself: the signing certificate and the anchor."""

    @property
    def settings(self) -> LedgerSettingsView: ...

    def signer(self) -> Signer:
        """A fresh ephemeral key with its Vault certificate; raises when Vault refuses."""
        ...

    def write_anchor(self, tip: str) -> None: ...

    def read_anchor(self) -> LedgerAnchor | None: ...

    def ca_public_key(self) -> str: ...


@runtime_checkable
class LedgerSource(Protocol):
    """Vault seen from the ledger: its signing certificate and anchor."""

    def ledger(self, environ: Mapping[str, str]) -> LedgerPort: ...


class VaultPort(LedgerSource, Protocol):
    """Everything sync asks Vault: issue, revoke (confirmed), look up and list jitflow's
    tokens, complete the grant of a run that died, wrap a secret, and the ledger's side."""

    def open_run(self) -> str:
        """Start this run's heartbeat token; the tokens it issues name it. Its accessor."""
        ...

    def run_alive(self) -> bool:
        """Renew the heartbeat now; True proves it never lapsed."""
        ...

    def close_run(self) -> None:
        """End the heartbeat (this run's unrecorded tokens become orphans)."""
        ...

    def issue(self, order: GrantOrder) -> IssuedGrant: ...

    def renew_in_place(self, handle: GrantHandle, until: datetime) -> IssuedGrant | None:
        """Extend the grant's own credentials to `until`; None: extend by replacement."""
        ...

    def revoke_many(
        self, handles: Iterable[GrantHandle]
    ) -> Sequence[tuple[GrantHandle, RevokeOutcome | VaultError]]:
        """Revoke and confirm each; a failure is returned in its place, never raised."""
        ...

    def lookup_accessor(self, accessor: str) -> TokenInfo | None:
        """The token's facts, or None when Vault says it is gone."""
        ...

    def list_jitflow_tokens(self, *, skip: Collection[str] = ()) -> Sequence[TokenInfo]:
        """Live tokens carrying jitflow metadata (accessors in `skip` are not looked up)."""
        ...

    def recover_certificate(self, anchor: TokenInfo, receipt: TokenInfo) -> IssuedGrant: ...

    def recover_journaled(self, anchor: TokenInfo) -> IssuedGrant | None:
        """The certificate an ssh anchor's run signed and journaled before dying; None
        when this runner never saw it."""
        ...

    def adopt_membership(self, anchor: TokenInfo) -> IssuedGrant: ...

    def wrap(self, secret: Secret, ttl_seconds: int) -> str:
        """A single-use wrapping token holding `secret`."""
        ...
