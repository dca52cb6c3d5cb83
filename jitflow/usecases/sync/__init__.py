"""`jitflow sync`: the reconciler that issues and revokes grants and records them in git."""

from jitflow.usecases.sync.run import SyncOptions, run_sync
from jitflow.usecases.sync.run_memory import SyncReport

__all__ = ["SyncOptions", "SyncReport", "run_sync"]
