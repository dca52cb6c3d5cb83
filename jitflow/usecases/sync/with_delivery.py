"""`jitflow sync` as the command runs it: the sync run, then outbound delivery.

Once the run is over, what main holds now goes to `.jitflow/outbound.yaml`'s endpoints
(jitflow.usecases.outbound.deliver.after_sync); a delivery that can't run is a warning of
the run, never a failure of it (the run's work is pushed). A dry run delivers nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from jitflow.adapters.git import Git, remote_auth_env
from jitflow.usecases.outbound.deliver import EndpointResult, OutboundStore, after_sync
from jitflow.usecases.port import SyncPort, VaultPort
from jitflow.usecases.sync.run import SyncOptions, run_sync
from jitflow.usecases.sync.run_memory import SyncReport


class SyncVault(VaultPort, Protocol):
    """Vault as sync asks it, and where outbound delivery keeps its marks and secrets."""

    def outbound(self, environ: Mapping[str, str]) -> OutboundStore: ...


@dataclass(frozen=True)
class SyncRun:
    """The run's report (delivery's warnings included) and each endpoint's result; no
    results (None) when delivery did not run (a dry run)."""

    report: SyncReport
    deliveries: tuple[EndpointResult, ...] | None


def run_sync_with_delivery(
    options: SyncOptions, vault: SyncVault, github: SyncPort, environ: Mapping[str, str]
) -> SyncRun:
    report = run_sync(options, vault, github, environ)
    if options.dry_run:
        return SyncRun(report, None)
    git = Git(options.repo, env=remote_auth_env(environ))
    outbound = after_sync(git, options.remote, options.branch, vault.outbound(environ), environ)
    report.warnings.extend(outbound.warnings)
    return SyncRun(report, tuple(outbound.results))
