"""`jitflow demo` end to end: the story completes, fast, and leaves nothing running behind."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from jitflow.adapters.git import Git
from jitflow.sandbox.servers.openbao import find_bao
from jitflow.sandbox.servers.postgres import find_postgres_bin

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(find_bao() is None, reason="the `bao` binary is not installed"),
]

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


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A TMPDIR of its own, traversable by the `postgres` user (pytest's tmp_path is not)."""
    scratch = Path(tempfile.mkdtemp(prefix="jitflow-demo-test-"))
    scratch.chmod(0o755)
    yield scratch
    shutil.rmtree(scratch, ignore_errors=True)


def test_demo_plays_the_whole_story_and_cleans_up(tmp_path: Path, scratch: Path) -> None:
    kept = tmp_path / "kept"
    env = {**os.environ, "TMPDIR": str(scratch), "PYTHONIOENCODING": "utf-8"}
    for name in ("VAULT_TOKEN", "VAULT_ADDR", "BAO_TOKEN", "BAO_ADDR", "GITHUB_TOKEN"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-m", "jitflow", "demo", "--keep", str(kept)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    expected = STEP_LINES + (DATABASE_LINES if find_postgres_bin() else [])
    for pattern in expected:
        assert re.search(pattern, result.stdout), f"missing step /{pattern}/ in:\n{output}"
    timings = re.findall(r"^  ✓ .* \((\d+\.\d)s\)$", result.stdout, re.MULTILINE)
    assert len(timings) >= 12
    # nothing secret: no root token, no Vault token, no password
    assert "jitflow-root-" not in output and "PRIVATE KEY" not in output
    assert not re.search(r"\b(?:hvs|s|hvb|b)\.[A-Za-z0-9]{16,}", output)
    # everything it started is gone: processes and temporary files
    assert _processes_using(scratch) == []
    assert list(scratch.iterdir()) == []
    # --keep leaves the access repository with the issue and expire commits
    assert f"git -C {kept} log --stat" in result.stdout
    log = Git(kept).run("log", "--format=%an|%s")
    assert re.search(r"^jitflow-sync\|jitflow: issue alice-staging-readonly-", log, re.MULTILINE)
    assert re.search(r"^jitflow-sync\|jitflow: expire alice-staging-readonly-", log, re.MULTILINE)
    assert re.search(r"^carol\|Merge pull request #1 ", log, re.MULTILINE)
    archived = Git(kept).run("ls-tree", "-r", "--name-only", "HEAD", "requests/archive/")
    assert "alice-staging-readonly-" in archived
    # ... whose origin outlives the demo, so the README's `git fetch origin` works in it
    origin = tmp_path / "kept-origin.git"
    assert Git(kept).run("remote", "get-url", "origin") == str(origin)
    Git(kept).run("fetch", "origin")
    assert Git(kept).rev_parse("origin/main") == Git(kept).rev_parse("HEAD")


def test_demo_refuses_a_non_empty_keep_directory_before_starting(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "precious.txt").write_text("mine\n")
    result = subprocess.run(
        [sys.executable, "-m", "jitflow", "demo", "--keep", str(kept)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "not empty" in result.stderr
    assert "OpenBao" not in result.stdout
    assert (kept / "precious.txt").read_text() == "mine\n"
