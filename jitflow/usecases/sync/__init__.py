"""`jitflow sync`: the reconciler that issues and revokes grants and records them in git."""

from jitflow.usecases.sync.run import SyncOptions, SyncReport, run_sync

__all__ = ["SyncOptions", "SyncReport", "run_sync"]
