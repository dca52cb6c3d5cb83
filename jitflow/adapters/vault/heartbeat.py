"""A sync run's heartbeat: a periodic token that lives exactly as long as the run does.

Each run creates one through its own token role (`jitflow-run`: periodic, renewable, the
`default` policy only) and renews it (`auth/token/renew-self`, which `default` allows) from a
thread, every third of its period. Every token the run creates names it (`jitflow_run`
metadata = the heartbeat's accessor). Another run that finds such a token unrecorded treats
it as in flight while the heartbeat lives, and as a dead run's orphan once Vault has let it
expire or revoked it: Vault's own clock decides, never a guess of how long a run may take.

Before a run records tokens it created, it renews the heartbeat once more: a heartbeat that
renews never expired, so no other run can have taken those tokens for orphans.
"""

from __future__ import annotations

import contextlib
import threading

from jitflow.adapters.vault.transport import Transport
from jitflow.errors import ConfigError, VaultError


class Heartbeat:
    """The run's periodic token, renewed by a daemon thread until `close`."""

    def __init__(
        self, transport: Transport, checker: Transport, accessor: str, period: int
    ) -> None:
        # both act with the heartbeat token: the beats on a connection and breaker of their
        # own (a slow beat must not silence the run's calls), the check before a push on
        # the run's (a hung Vault fails it at once)
        self._transport = transport
        self._checker = checker
        self.accessor = accessor
        self.period = period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew_until_closed, daemon=True)

    def __repr__(self) -> str:
        return f"Heartbeat(accessor={self.accessor!r}, period={self.period})"

    @classmethod
    def open(cls, transport: Transport, role: str) -> Heartbeat:
        """Create the heartbeat through `role` and start renewing it."""
        answer = transport.call(
            "POST",
            f"auth/token/create/{role}",
            {
                "policies": ["default"],
                "display_name": "jitflow-run",
                "meta": {"jitflow_run_of": "sync"},
            },
            retry=False,
        )
        auth = (answer or {}).get("auth") or {}
        token, accessor = auth.get("client_token"), auth.get("accessor")
        period = int(auth.get("lease_duration") or 0)
        if not isinstance(token, str) or not isinstance(accessor, str):
            raise VaultError(f"Vault created no token through auth/token/create/{role}")
        transport.forget_secret_later(token)
        if not auth.get("renewable") or period <= 0:
            with contextlib.suppress(VaultError):
                transport.with_token(token).call("POST", "auth/token/revoke-self", retry=False)
            raise ConfigError(
                f"the token role {role} (JITFLOW_VAULT_RUN_ROLE) must make renewable periodic "
                "tokens: bao write auth/token/roles/jitflow-run allowed_policies=default "
                "orphan=true renewable=true token_period=15s (docs/vault-setup.md)"
            )
        beats = Transport(
            transport.addr,
            token,
            namespace=transport.namespace,
            verify=transport.verify,
            timeout=max(1.0, min(transport.timeout, period / 3)),
            retries=0,
            pool_size=2,
        )
        heartbeat = cls(beats, transport.with_token(token), accessor, period)
        heartbeat._thread.start()
        return heartbeat

    def renew(self) -> bool:
        """Renew now: True when Vault did, which proves the heartbeat never lapsed."""
        return _renewed(self._checker)

    def _renew_until_closed(self) -> None:
        interval = max(0.5, self.period / 3)
        while not self._stop.wait(interval):
            _renewed(self._transport)  # a failed beat is tried again at the next one

    def close(self) -> None:
        """Stop renewing and end the heartbeat (best effort: unrenewed, it expires anyway)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        with contextlib.suppress(VaultError):
            self._transport.call("POST", "auth/token/revoke-self", retry=False)


def _renewed(transport: Transport) -> bool:
    try:
        transport.call("POST", "auth/token/renew-self", {}, retry=False)
    except VaultError:
        return False
    return True
