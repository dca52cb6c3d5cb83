"""`jitflow audit --format ocsf`: the ledger's events as OCSF JSON lines, oldest first per
request. The mapping itself is the pure `jitflow.reporters.ocsf`."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import TextIO

from jitflow.adapters.git import Git
from jitflow.core.audit_rows import AuditRow
from jitflow.core.ledger import RUNNER_NAME
from jitflow.core.ledger_events import events_of
from jitflow.reporters.ocsf import OcsfContext, to_ocsf
from jitflow.usecases.audit.gitlog import LedgerEntry
from jitflow.usecases.audit.repo_links import repository_links, repository_name


def ocsf_context(git: Git, environ: Mapping[str, str] | None = None) -> OcsfContext:
    env = os.environ if environ is None else environ
    links = repository_links(git)
    return OcsfContext(
        runner=env.get("JITFLOW_RUNNER_NAME") or RUNNER_NAME,
        repository=repository_name(git, links),
        links=links,
    )


def write_ocsf(entries: Iterable[tuple[LedgerEntry, AuditRow]], out: TextIO, git: Git) -> int:
    """One JSON object per line per ledger event; returns the number of events written."""
    context = ocsf_context(git)
    count = 0
    for entry, row in entries:
        for event in events_of(entry.trail, row):
            out.write(json.dumps(to_ocsf(event, context), ensure_ascii=False) + "\n")
            count += 1
    return count
