"""Talking to the remote: fetching what a shallow checkout lacks, pushing the ledger, asking
where a branch is. Pushes are never forced."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from jitflow.adapters.git.graph import ref_exists
from jitflow.adapters.git.runner import Git
from jitflow.errors import GitError

# Workflows check out without history: what a run needs is fetched, and no more.
_DEEPEN = (32, 256, 2048, 16384)


def is_shallow(git: Git) -> bool:
    return git.run("rev-parse", "--is-shallow-repository") == "true"


def fetch_missing(git: Git, shas: Iterable[str], remote: str = "origin") -> None:
    """Fetch the commits that are not here. In a shallow checkout only the commits themselves
    (depth 1): without a depth, git would send every ancestor below the shallow boundary,
    i.e. the whole history."""
    missing = [
        s for s in dict.fromkeys(shas) if s and not git.ok("cat-file", "-e", f"{s}^{{commit}}")
    ]
    if not missing:
        return
    depth = ["--depth=1"] if is_shallow(git) else []
    git.execute(["fetch", "--no-tags", "--quiet", *depth, remote, *missing], check=False)


def ensure_merge_base(git: Git, base: str, head: str, remote: str = "origin") -> None:
    """Deepen a shallow checkout until `base` and `head` meet (a PR's fork point is usually
    a few commits back), then, if they still don't, fetch their whole history once."""
    if git.ok("merge-base", base, head) or not is_shallow(git):
        return
    for depth in _DEEPEN:
        git.execute(
            ["fetch", "--no-tags", "--quiet", f"--depth={depth}", remote, base, head], check=False
        )
        if git.ok("merge-base", base, head):
            return
    git.execute(["fetch", "--no-tags", "--quiet", "--unshallow", remote], check=False)


def fetch_blobs_under(
    git: Git, commit: str, folders: Sequence[str], remote: str = "origin"
) -> None:
    """In a partial clone (the sync workflow's checkout has no archive blobs), fetch the blobs
    under `folders` at `commit` in one request, as git's own on-demand fetch does for one
    object: without it, reading them (`git grep`, `cat-file`) fetches them one at a time."""
    if (
        git.execute(["config", "--bool", f"remote.{remote}.promisor"], check=False).text.strip()
        != "true"
    ):
        return
    listing = git.execute(["ls-tree", "-r", "-z", "--full-tree", commit, "--", *folders]).stdout
    blobs = [
        meta.split(b" ")[2]
        for meta, _, _ in (r.partition(b"\t") for r in listing.split(b"\0") if r)
        if meta.split(b" ")[1] == b"blob"
    ]
    if not blobs:
        return
    args = ["-c", "fetch.negotiationAlgorithm=noop", "fetch", "--quiet", "--no-tags"]
    args += ["--no-write-fetch-head", "--recurse-submodules=no", "--filter=blob:none"]
    git.execute([*args, "--stdin", remote], input=b"\n".join(blobs) + b"\n", check=False)


def deepen(git: Git, tip: str, depth: int, remote: str = "origin") -> None:
    """Fetch the `depth` newest commits below `tip` into a shallow checkout."""
    git.execute(["fetch", "--no-tags", "--quiet", f"--depth={depth}", remote, tip], check=False)


def unshallow(git: Git, remote: str = "origin") -> None:
    """Fetch the whole history a shallow checkout lacks."""
    git.execute(["fetch", "--no-tags", "--quiet", "--unshallow", remote], check=False)


def shallow_boundary(git: Git) -> set[str]:
    """The commits a shallow checkout has without their parents (empty when not shallow)."""
    where = Path(git.run("rev-parse", "--git-path", "shallow"))
    path = where if where.is_absolute() else git.path / where
    return set(path.read_text().split()) if path.exists() else set()


def remote_url(git: Git, remote: str) -> str | None:
    """The URL of `remote`, or None when this clone has no such remote."""
    found = git.execute(["remote", "get-url", remote], check=False)
    return found.text.strip() if found.returncode == 0 else None


def push_branch(git: Git, remote: str, branch: str) -> None:
    """Push the local `branch` to the same name on `remote` (never forced)."""
    ref = f"refs/heads/{branch}"
    git.run("push", "--quiet", remote, f"{ref}:{ref}")


def delete_remote_branch(git: Git, remote: str, branch: str) -> None:
    """Delete `branch` on `remote`, as far as that works (clean-up after a failure)."""
    git.execute(["push", "--quiet", remote, "--delete", f"refs/heads/{branch}"], check=False)


# How git and GitHub say "the branch moved under you" (the push is then re-planned).
_MOVED_MARKERS = (
    "[rejected]",
    "non-fast-forward",
    "fetch first",
    "stale info",
    "failed to update ref",
    "cannot lock ref",
    "but expected",
    "incorrect old value",
    "failed to lock",
)


def push(git: Git, remote: str, branch: str, tip: str, base: str | None = None) -> bool:
    """Push `tip` to `branch`; False when the remote moved on (re-plan), raise on other failures.

    `base` is the commit the ledger commits were built on: whatever git says, when the remote
    branch is no longer there, main moved (re-plan), and when it is at `tip`, the push landed.
    """
    result = git.execute(
        ["push", "--porcelain", "--quiet", remote, f"{tip}:refs/heads/{branch}"], check=False
    )
    if result.returncode == 0:
        return True
    said = (result.stdout + result.stderr).decode(errors="replace")
    if any(m in said for m in _MOVED_MARKERS):
        return False
    if base is not None:
        now_at = remote_tip(git, remote, branch)
        if now_at == tip:
            return True
        if now_at is not None and now_at != base:
            return False
    raise GitError(
        f"pushing the ledger to {remote}/{branch} failed: {said.strip() or 'no message'}; "
        "nothing was lost: the Vault side is done and the next sync records it"
    )


def remote_tip(git: Git, remote: str, branch: str) -> str | None:
    """Where `branch` is on the remote now, or None when that can't be asked."""
    answer = git.execute(["ls-remote", "--heads", remote, f"refs/heads/{branch}"], check=False)
    if answer.returncode != 0:
        return None
    for line in answer.text.splitlines():
        oid, _, name = line.partition("\t")
        if name.strip() == f"refs/heads/{branch}":
            return oid.strip()
    return None


def fetched_tip(git: Git, remote: str, branch: str) -> str:
    """Where `branch` of `remote` was at the last fetch (its remote-tracking ref)."""
    return git.rev_parse(f"refs/remotes/{remote}/{branch}")


def fetched_tip_or_head(git: Git, remote: str, branch: str) -> str:
    """`fetched_tip`, or HEAD in a clone that never fetched `branch` (a local repository)."""
    tracking = f"refs/remotes/{remote}/{branch}"
    return git.rev_parse(tracking if ref_exists(git, tracking) else "HEAD")


def fetch(git: Git, remote: str, branch: str, attempts: int = 3) -> str:
    """Fetch `branch` and return its tip. A local ref that moved under the fetch (another
    sync in the same clone: "cannot lock ref ... but expected") is fetched again."""
    for attempt in range(1, attempts + 1):
        try:
            git.run(
                "fetch",
                "--quiet",
                "--no-tags",
                remote,
                f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}",
            )
            break
        except GitError as exc:
            moved = any(m in exc.message for m in ("cannot lock ref", "unable to update local ref"))
            if not moved or attempt == attempts:
                raise
    return fetched_tip(git, remote, branch)
