"""What one whole run of `jitflow demo --keep DIR` must show and leave behind.

The README's demo scenario runs the demo (its first block, `jitflow demo --keep access-demo`)
and checks that run with `check_whole_demo` before its other blocks use the kept history:
one run of the demo serves both (the demo is the suite's second-longest single command).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from jitflow.adapters.git import Git
from jitflow.sandbox.servers.postgres import find_postgres_bin

STEP_LINES = [
    r"✓ OpenBao dev server at http://127\.0\.0\.1:\d+.* configured for vault-token, ssh, "
    r"identity-group",
    r"✓ access repository acme/access with the \d+ example policies, on the GitHub stand-in",
    r"✓ alice opens PR #1: staging-readonly for 30m \(jitflow request wrote requests/",
    r"✓ the check comments, jitflow/policy = success",
    r"✓ carol approves #1.*: jitflow/approval = success",
    r"✓ carol merges #1.*\(branch protection satisfied\)",
    r"✓ sync issues \d grant\(s\)",
    r"✓ alice runs jitflow creds: decrypted with her SSH key, unwrapped once: token s\.\*\*\*\*",
    r"✓ alice opens PR #\d: orders-api-cert for 30m",
    r"X\.509 client certificate CN=alice\.clients\.example\.test, serial [0-9a-f:]+, key \*\*\*\*",
    r"✓ alice uses them: Vault read of secret/data/staging/app allowed \(staging-read\)",
    r"mTLS handshake OK: the endpoint admits the certificate",
    r"✓ now = \S+Z; sync comments on #1.*: @alice, your grant ends soon, with `jitflow request "
    r"\.\.\. --extends <id>` \(recorded once: a second sync stays quiet\)",
    r"✓ alice opens PR #\d+ \(extends: alice-staging-readonly-\S+, for 20m\); carol approves "
    r"and merges; sync renews the same token in place until the old end \+ 20m",
    r"✓ the token of alice-staging-readonly-\S+, renewed for alice-staging-readonly-\S+: "
    r"Vault read of secret/data/staging/app allowed",
    r"✓ now = \S+Z; sync expires and revokes \d grant\(s\)",
    r"✓ refused: Vault read of secret/data/staging/app denied \(403\)",
    r"mTLS handshake refused by the endpoint: certificate revoked",
    r"✓ jitflow audit: \d request\(s\), from git history alone",
    r"✓ jitflow audit verify --vault --github: \d request\(s\) checked, every ledger commit "
    r"signed by the runner, all invariants hold",
    r"✓ stopped every server and removed the temporary directory",
    r"jitflow demo: the story completed in [\d.]+s",
]
DATABASE_LINES = [
    r"✓ alice opens PR #2: orders-db-write for 30m",
    r"✓ mallory \(in no approver group\) approves #2, #3: ignored, jitflow/approval = pending",
    r"bob approves #2",
    r"PostgreSQL login OK as v-token-",
    r"PostgreSQL login refused",
]


def _processes_using(directory: Path) -> list[str]:
    """Processes whose command line or working directory lies under `directory`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if str(directory) in cmdline or cwd.startswith(str(directory)):
            found.append(f"{proc.name}: {cmdline[:120]}")
    return found


def check_whole_demo(stdout: str, output: str, scratch: Path, kept: Path) -> None:
    """Every step of the story ran, nothing secret was printed, everything the demo started
    is gone (processes and its files in `scratch`, its TMPDIR), and `kept` (--keep) holds the
    access repository with its issue and expire commits, next to its origin."""
    expected = STEP_LINES + (DATABASE_LINES if find_postgres_bin() else [])
    for pattern in expected:
        assert re.search(pattern, stdout), f"missing step /{pattern}/ in:\n{output}"
    timings = re.findall(r"^  ✓ .* \((\d+\.\d)s\)$", stdout, re.MULTILINE)
    assert len(timings) >= 12
    # nothing secret: no root token, no Vault token, no password
    assert "jitflow-root-" not in output and "PRIVATE KEY" not in output
    assert not re.search(r"\b(?:hvs|s|hvb|b)\.[A-Za-z0-9]{16,}", output)
    # everything it started is gone: processes and temporary files
    assert _processes_using(scratch) == []
    assert list(scratch.iterdir()) == []
    # --keep leaves the access repository with the issue and expire commits
    assert f"git -C {kept} log --stat" in stdout
    log = Git(kept).run("log", "--format=%an|%s")
    assert re.search(r"^jitflow-sync\|jitflow: issue alice-staging-readonly-", log, re.MULTILINE)
    assert re.search(r"^jitflow-sync\|jitflow: expire alice-staging-readonly-", log, re.MULTILINE)
    assert re.search(r"^carol\|Merge pull request #1 ", log, re.MULTILINE)
    archived = Git(kept).run("ls-tree", "-r", "--name-only", "HEAD", "requests/archive/")
    assert "alice-staging-readonly-" in archived
    # ... whose origin outlives the demo, so the README's `git fetch origin` works in it
    origin = kept.with_name(f"{kept.name}-origin.git")
    assert Git(kept).run("remote", "get-url", "origin") == str(origin)
    Git(kept).run("fetch", "origin")
    assert Git(kept).rev_parse("origin/main") == Git(kept).rev_parse("HEAD")
