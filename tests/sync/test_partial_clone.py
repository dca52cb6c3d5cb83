"""The sync workflow's checkout is a blobless partial clone without the archive: what sync asks
of the archive is answered from trees, and the records it must read come in one request."""

from __future__ import annotations

from pathlib import Path

from jitflow.adapters.git import Git
from jitflow.adapters.git.reading import archived_among
from jitflow.adapters.git.remote import fetch_blobs_under
from tests.standin_helpers import make_bare_repo

RECORDS = {
    f"requests/archive/2026/{month:02d}/grant-{month}-{n}.yaml": f"id: {month}-{n}\n".encode()
    for month in (10, 11, 12)
    for n in range(3)
}


def _partial_clone(tmp_path: Path) -> Git:
    bare = make_bare_repo(tmp_path, {"policies/p.yaml": b"name: p\n", **RECORDS})
    Git(bare).run("config", "uploadpack.allowFilter", "true")  # as GitHub
    work = tmp_path / "work"
    Git(tmp_path).run(
        "clone",
        "--quiet",
        "--no-checkout",
        "--depth=1",
        "--filter=blob:none",
        bare.as_uri(),
        str(work),
    )
    return Git(work)


def _missing(git: Git) -> set[str]:
    """Paths whose blob is not here (listing them fetches nothing)."""
    out = git.run("rev-list", "--objects", "--missing=print", "HEAD")
    missing = {line[1:] for line in out.splitlines() if line.startswith("?")}
    tree = git.run("ls-tree", "-r", "HEAD").splitlines()
    return {line.split("\t")[1] for line in tree if line.split()[2] in missing}


def _promisor_packs(git: Git) -> int:
    return len(list((git.path / ".git" / "objects" / "pack").glob("*.promisor")))


def test_archive_lookups_fetch_no_blob(tmp_path: Path) -> None:
    git = _partial_clone(tmp_path)
    before = _missing(git)
    assert set(RECORDS) <= before

    found = archived_among(git, git.rev_parse("HEAD"), ["grant-11-1", "grant-12-2", "nope"])

    assert found == {"grant-11-1", "grant-12-2"}
    assert _missing(git) == before


def test_records_under_folders_come_in_one_request(tmp_path: Path) -> None:
    git = _partial_clone(tmp_path)
    packs = _promisor_packs(git)
    folders = ["requests/archive/2026/11/", "requests/archive/2026/12/"]

    fetch_blobs_under(git, git.rev_parse("HEAD"), folders)

    assert _promisor_packs(git) == packs + 1
    still = _missing(git)
    assert not {p for p in RECORDS if p.startswith(tuple(folders))} & still
    assert {p for p in RECORDS if "/10/" in p} <= still  # other months stay on the server


def test_a_full_clone_fetches_nothing(tmp_path: Path) -> None:
    bare = make_bare_repo(tmp_path, RECORDS)
    Git(tmp_path).run("clone", "--quiet", "--bare", bare.as_uri(), str(tmp_path / "full"))
    git = Git(tmp_path / "full")
    packs = sorted((git.path / "objects" / "pack").iterdir())

    fetch_blobs_under(git, git.rev_parse("HEAD"), ["requests/archive/2026/11/"])

    assert sorted((git.path / "objects" / "pack").iterdir()) == packs
