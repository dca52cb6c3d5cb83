"""The one object the rest of jitflow uses to talk to Vault / OpenBao."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar, Unpack

from jitflow.adapters.vault import issue, issue_ssh, lookup, renew, secret
from jitflow.adapters.vault.heartbeat import Heartbeat
from jitflow.adapters.vault.ledger import LedgerSettings, LedgerVault
from jitflow.adapters.vault.login import DEFAULT_RUN_ROLE, settings_from_env
from jitflow.adapters.vault.outbound import OutboundVault
from jitflow.adapters.vault.transport import Transport, VaultApiError, VaultConnection
from jitflow.adapters.vault.types import (
    GrantHandle,
    GrantOrder,
    IssuedGrant,
    RevokeOutcome,
    Secret,
    TokenInfo,
    WrappingTokenUsedError,
)
from jitflow.core.model import GrantKind
from jitflow.errors import ConfigError, VaultError

# Concurrent calls for bulk work: enough to keep a server busy, few enough to be polite.
DEFAULT_REVOKE_WORKERS = 16

A = TypeVar("A")
R = TypeVar("R")


@dataclass(frozen=True)
class GatewayNames:
    """What the runner's things are called in Vault: the token role grants are created
    through, the auth mount of identity-group grants, and its heartbeat token's role."""

    token_role: str = "jitflow-grant"  # noqa: S105 (a role name)
    identity_mount: str = "userpass"
    run_role: str = DEFAULT_RUN_ROLE


class VaultGateway:
    """Issue, revoke, list and wrap through one runner token (never shown in repr)."""

    def __init__(
        self,
        addr: str,
        token: str,
        *,
        names: GatewayNames = GatewayNames(),
        confirm_by_listing_from: int = 32,
        **connection: Unpack[VaultConnection],
    ) -> None:
        self.addr = addr.rstrip("/")
        self.token_role = names.token_role
        self.run_role = names.run_role
        self._heartbeat: Heartbeat | None = None
        self.identity_mount = names.identity_mount.strip("/")
        # From this many token revocations in one batch, one LIST of the accessors confirms
        # them all, instead of one lookup each (a LIST costs about as much as a few lookups).
        self.confirm_by_listing_from = confirm_by_listing_from
        # Where signed certificates are kept on the runner's disk the moment Vault answers
        # (set by sync: inside the repository's git directory); None: Vault's receipt only.
        self.certificate_journal: Path | None = None
        self._transport = Transport(addr, token, **connection)

    def __repr__(self) -> str:
        return f"VaultGateway(addr={self.addr!r}, token=<redacted>)"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> VaultGateway:
        """VAULT_ADDR plus VAULT_TOKEN, or a GitHub Actions OIDC login (docs/vault-setup.md)."""
        settings = settings_from_env(environ)
        names = GatewayNames(settings.token_role, settings.identity_mount, settings.run_role)
        return cls(
            settings.addr,
            settings.token,
            names=names,
            namespace=settings.namespace,
            verify=settings.verify,
            timeout=settings.timeout,
        )

    # -- this run's heartbeat -----------------------------------------------------------

    def open_run(self) -> str:
        """Start this sync run's heartbeat token (jitflow.adapters.vault.heartbeat); every
        token issued from now on names it. Returns its accessor."""
        if self._heartbeat is None:
            self._heartbeat = Heartbeat.open(self._transport, self.run_role)
        return self._heartbeat.accessor

    def run_alive(self) -> bool:
        """Renew the heartbeat now: True proves it never lapsed (no other run can have taken
        this run's tokens for a dead run's orphans)."""
        return self._heartbeat is not None and self._heartbeat.renew()

    def close_run(self) -> None:
        """End the heartbeat: this run's unrecorded tokens are orphans from now on."""
        heartbeat, self._heartbeat = self._heartbeat, None
        if heartbeat is not None:
            heartbeat.close()

    # -- health -------------------------------------------------------------------------

    def health(self) -> None:
        """Raise a VaultError saying what is wrong when Vault is down, sealed or uninitialised."""
        try:
            self._transport.call("GET", "sys/health?standbyok=true&perfstandbyok=true")
        except VaultApiError as exc:
            if exc.status == 503:
                raise VaultError(
                    f"Vault at {self.addr} (VAULT_ADDR) is sealed: an operator must unseal it "
                    "(`bao operator unseal`) before grants can be issued or revoked"
                ) from exc
            if exc.status == 501:
                raise VaultError(
                    f"Vault at {self.addr} (VAULT_ADDR) is not initialised (`bao operator init`)"
                ) from exc
            raise

    def whoami(self) -> TokenInfo:
        """The runner token's own facts (policies, expiry): checks that it works."""
        answer = self._transport.call("GET", "auth/token/lookup-self")
        return _token_info((answer or {}).get("data") or {})

    def ledger(self, environ: Mapping[str, str]) -> LedgerVault:
        """The ledger's signing certificate and anchor (jitflow.adapters.vault.ledger)."""
        return LedgerVault(self._transport.call, LedgerSettings.from_env(environ))

    def outbound(self, environ: Mapping[str, str]) -> OutboundVault:
        """Outbound delivery's marks and secrets (jitflow.adapters.vault.outbound)."""
        return OutboundVault(self._transport.call, LedgerSettings.from_env(environ).anchor_path)

    # -- issue --------------------------------------------------------------------------

    def issue(self, order: GrantOrder) -> IssuedGrant:
        if order.duration_seconds <= 0:
            raise ConfigError(f"request {order.request_id}: duration must be positive")
        token_role = order.token_role or self.token_role
        if self._heartbeat is not None and not order.run:
            order = replace(order, run=self._heartbeat.accessor)
        if order.kind is GrantKind.VAULT_TOKEN:
            return issue.issue_vault_token(self._transport, order, token_role)
        if order.kind is GrantKind.DATABASE:
            return issue.issue_database(self._transport, order, token_role)
        if order.kind is GrantKind.SSH:
            return issue_ssh.issue_ssh(self._transport, order, token_role, self.certificate_journal)
        if order.kind is GrantKind.IDENTITY_GROUP:
            return issue.issue_identity_group(
                self._transport, order, self.identity_mount, token_role
            )
        if order.kind is GrantKind.SECRET:
            return secret.issue_secret(self._transport, order, token_role)
        raise ConfigError(f"unknown grant kind {order.kind!r}")

    def renew_in_place(self, handle: GrantHandle, until: datetime) -> IssuedGrant | None:
        """Extend the grant's own credentials to `until` (jitflow.adapters.vault.renew), or
        None when Vault can't do it securely: the caller extends by replacement."""
        return renew.renew_in_place(self._transport, handle, until)

    def recover_certificate(self, anchor: TokenInfo, receipt: TokenInfo) -> IssuedGrant:
        """An ssh grant whose run died after signing, from its receipt: nothing is re-signed."""
        return issue_ssh.recover_certificate(anchor, receipt)

    def recover_journaled(self, anchor: TokenInfo) -> IssuedGrant | None:
        """The certificate an ssh anchor's run signed and kept in this runner's journal, but
        died before recording in Vault; None when this runner never saw it."""
        return issue_ssh.read_journal(self.certificate_journal, anchor)

    def adopt_membership(self, anchor: TokenInfo) -> IssuedGrant:
        """An identity-group grant whose run died, completed from what its anchor recorded."""
        return self._transport.run_with_retry(
            lambda: issue.adopt_membership(self._transport, anchor)
        )

    # -- revoke -------------------------------------------------------------------------

    def revoke(self, handle: GrantHandle) -> RevokeOutcome:
        """Revoke and confirm. Already expired or revoked is success; anything else raises."""
        return self._revoke(handle, confirm=True)

    def _revoke(self, handle: GrantHandle, *, confirm: bool) -> RevokeOutcome:
        """Revoke; a token is confirmed gone by a lookup unless the caller confirms in bulk."""
        if handle.kind is GrantKind.SSH:
            self._revoke_markers(handle)  # the certificate itself lives until it expires
            return RevokeOutcome.NOT_REVOCABLE
        if handle.kind is GrantKind.IDENTITY_GROUP:
            # The membership first: while it may remain, the anchor stays as its record.
            outcome = self._transport.run_with_retry(lambda: self._remove_membership(handle))
            self._revoke_markers(handle)
            return outcome
        if not handle.accessor:
            raise VaultError(
                f"grant {handle.request_id} has no token accessor recorded: cannot revoke it; "
                "find it with `bao list auth/token/accessors` and revoke it by hand"
            )
        lease_id = handle.identifiers.get("lease_id")
        if lease_id:
            # Revoke the credentials first and synchronously, so the database role is gone
            # when we report success (the token's revocation would also revoke it, later).
            self._transport.call("POST", "sys/leases/revoke", {"lease_id": lease_id, "sync": True})
        outcome = self._revoke_accessor(handle.request_id, handle.accessor, confirm=confirm)
        if handle.kind is GrantKind.SECRET and handle.identifiers.get("revocable") == "false":
            return RevokeOutcome.NOT_REVOCABLE  # lease and token are gone, the secret lives on
        return outcome

    def _revoke_accessor(self, request_id: str, accessor: str, *, confirm: bool) -> RevokeOutcome:
        answer = self._transport.call("POST", "auth/token/revoke-accessor", {"accessor": accessor})
        warnings = " ".join((answer or {}).get("warnings") or []).lower()
        outcome = (
            RevokeOutcome.ALREADY_GONE if "no token found" in warnings else RevokeOutcome.REVOKED
        )
        if confirm:
            self._confirm_gone(request_id, accessor)
        return outcome

    def _confirm_gone(self, request_id: str, accessor: str) -> None:
        if self.lookup_accessor(accessor) is not None:
            raise VaultError(
                f"grant {request_id}: Vault at {self.addr} still knows token accessor "
                f"{accessor} after revoking it; it is NOT revoked, try again"
            )

    def _revoke_markers(self, handle: GrantHandle) -> None:
        """End the tokens that only record a grant (its anchor, a certificate receipt)."""
        for accessor in (handle.accessor, handle.identifiers.get("receipt_accessor")):
            if accessor:
                self._revoke_accessor(handle.request_id, accessor, confirm=True)

    def _remove_membership(self, handle: GrantHandle) -> RevokeOutcome:
        """Whether the membership goes is decided by the caller from the ledger
        (`keep_membership`), never from what Vault looked like when the grant began."""
        group = handle.identifiers.get("group", "")
        entity_id = handle.identifiers.get("entity_id", "")
        if not group or not entity_id:
            raise VaultError(f"grant {handle.request_id} has no group/entity recorded")
        if handle.keep_membership:
            return RevokeOutcome.REVOKED  # another active grant holds it: it stays for that one
        try:
            _, members = issue.read_group(self._transport, group)
        except ConfigError:
            return RevokeOutcome.ALREADY_GONE  # the group itself is gone
        if entity_id not in members:
            return RevokeOutcome.ALREADY_GONE
        issue.write_members(self._transport, group, [m for m in members if m != entity_id])
        _, members = issue.read_group(self._transport, group)
        if entity_id in members:
            raise VaultError(f"grant {handle.request_id}: entity is still in group {group!r}")
        return RevokeOutcome.REVOKED

    def revoke_many(
        self, handles: Iterable[GrantHandle], max_workers: int = DEFAULT_REVOKE_WORKERS
    ) -> list[tuple[GrantHandle, RevokeOutcome | VaultError]]:
        """Revoke concurrently; one failure does not stop the others. Results in input order.

        Every token is confirmed gone by a read after its revocation: one lookup each for a
        few, or for a large batch one LIST of the accessors afterwards (an accessor still
        listed is revoked again and looked up; if it survives that, its grant gets an error).
        """
        items = list(handles)
        in_bulk = sum(1 for h in items if _is_token(h)) >= self.confirm_by_listing_from

        def attempt(handle: GrantHandle) -> RevokeOutcome | VaultError:
            try:
                return self._revoke(handle, confirm=not (in_bulk and _is_token(handle)))
            except VaultError as exc:
                return exc

        outcomes = _concurrently(attempt, items, max_workers)
        if in_bulk:
            outcomes = self._confirm_in_bulk(items, outcomes, max_workers)
        return list(zip(items, outcomes, strict=True))

    def _confirm_in_bulk(
        self,
        items: Sequence[GrantHandle],
        outcomes: Sequence[RevokeOutcome | VaultError],
        max_workers: int,
    ) -> list[RevokeOutcome | VaultError]:
        unconfirmed = [
            i
            for i, h in enumerate(items)
            if _is_token(h) and isinstance(outcomes[i], RevokeOutcome)
        ]
        try:
            listed: set[str] | None = set(self._listed_accessors())
        except VaultApiError:
            listed = None  # no `list`+`sudo` on the accessors: confirm one by one
        checks = [i for i in unconfirmed if listed is None or items[i].accessor in listed]

        def confirm(index: int) -> RevokeOutcome | VaultError:
            handle, outcome = items[index], outcomes[index]
            accessor = handle.accessor or ""
            try:
                if listed is None:
                    self._confirm_gone(handle.request_id, accessor)
                else:  # still there after a revoke that succeeded: once more, then look
                    self._revoke_accessor(handle.request_id, accessor, confirm=True)
            except VaultError as exc:
                return exc
            return outcome

        confirmed = list(outcomes)
        for index, result in zip(checks, _concurrently(confirm, checks, max_workers), strict=True):
            confirmed[index] = result
        return confirmed

    # -- look up and list ---------------------------------------------------------------

    def lookup_accessor(self, accessor: str) -> TokenInfo | None:
        """The token's facts, or None when Vault says it is gone or ending (a 403 is judged
        first: jitflow.adapters.vault.lookup)."""
        data = lookup.lookup_accessor(self._transport, accessor)
        return None if data is None else _token_info(data)

    def list_jitflow_tokens(
        self, max_workers: int = DEFAULT_REVOKE_WORKERS, skip: Collection[str] = ()
    ) -> list[TokenInfo]:
        """Tokens carrying `jitflow_request` metadata (needs `list`+`sudo` on accessors).

        Accessors in `skip` (already known, e.g. recorded in active grants) are not looked up.
        """
        known = set(skip)
        accessors = [a for a in self._listed_accessors() if a not in known]
        infos = _concurrently(self.lookup_accessor, accessors, max_workers)
        return [info for info in infos if info is not None and info.request_id]

    def _listed_accessors(self) -> list[str]:
        """Every token accessor Vault knows (needs `list`+`sudo`); Vault says 404 for none."""
        try:
            answer = self._transport.call("LIST", "auth/token/accessors")
        except VaultApiError as exc:
            if exc.status == 404:
                return []
            raise
        keys = ((answer or {}).get("data") or {}).get("keys") or []
        return [str(key) for key in keys] if isinstance(keys, list) else []

    def group_members(self, group: str) -> list[str] | None:
        """The member entity ids of an identity group, or None when Vault has no such group."""
        try:
            return issue.read_group(self._transport, group)[1]
        except ConfigError:
            return None

    # -- delivery -----------------------------------------------------------------------

    def wrap(self, secret: Secret, ttl_seconds: int) -> str:
        """A single-use wrapping token holding `secret` for `ttl_seconds`."""
        answer = self._transport.call(
            "POST", "sys/wrapping/wrap", dict(secret.values), wrap_ttl=ttl_seconds, retry=False
        )
        token = ((answer or {}).get("wrap_info") or {}).get("token")
        if not isinstance(token, str) or not token:
            raise VaultError(f"Vault at {self.addr} returned no wrapping token")
        self._transport.forget_secret_later(token)
        return token

    def unwrap(self, wrapping_token: str) -> Secret:
        """Open a wrapping token. Used or expired -> WrappingTokenUsedError (interception?)."""
        transport = self._transport.with_token(wrapping_token)
        try:
            answer = transport.call("POST", "sys/wrapping/unwrap", retry=False)
        except VaultApiError as exc:
            if exc.status in (400, 403):
                raise WrappingTokenUsedError(
                    "this wrapping token was already used or has expired. If you did not "
                    "unwrap it yourself, someone else may have intercepted the secret: "
                    "tell your security team and have the grant revoked"
                ) from exc
            raise
        data = (answer or {}).get("data") or {}
        return Secret({str(k): str(v) for k, v in data.items()})


def _is_token(handle: GrantHandle) -> bool:
    """Revoked by accessor (vault tokens, database grants), so confirmable by listing."""
    return bool(handle.accessor) and handle.kind not in (GrantKind.SSH, GrantKind.IDENTITY_GROUP)


def _concurrently(work: Callable[[A], R], items: Sequence[A], max_workers: int) -> list[R]:
    """`work` over `items` on up to `max_workers` threads; results in input order."""
    if not items:
        return []
    if len(items) == 1:
        return [work(items[0])]
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(items)))) as pool:
        return list(pool.map(work, items))


def _token_info(data: Mapping[str, object]) -> TokenInfo:
    meta = data.get("meta") or {}
    meta = meta if isinstance(meta, dict) else {}
    policies = data.get("policies") or []
    ttl = data.get("ttl") or 0
    return TokenInfo(
        accessor=str(data.get("accessor") or ""),
        request_id=meta.get("jitflow_request"),
        policy=meta.get("jitflow_policy"),
        requester=meta.get("jitflow_requester"),
        expire_time=issue.parse_vault_time(data.get("expire_time")),
        ttl=int(ttl) if isinstance(ttl, int | str) else 0,
        policies=tuple(str(p) for p in policies) if isinstance(policies, list) else (),
        display_name=str(data.get("display_name") or ""),
        meta={str(k): str(v) for k, v in meta.items() if str(k).startswith("jitflow_")},
        created_at=_created_at(data.get("creation_time")),
    )


def _created_at(value: object) -> datetime | None:
    """Vault's `creation_time` is Unix seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    return None
