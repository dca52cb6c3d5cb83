"""One `git cat-file --batch` process answers many reads (the audit's record reader)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from jitflow.adapters.git import Git


def test_many_large_objects_and_missing_ones_come_back_in_order(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path)], check=True)
    git = Git(tmp_path)
    big = b"x" * 300_000 + b"\n"  # several pipe-fulls per answer: nothing may stall
    small = b"policy: a\n"
    ids = [git.run("hash-object", "-w", "--stdin", input=content) for content in (big, small)]
    specs = [ids[0], "0" * 40] * 8 + [ids[1]] * 3000  # more questions than a pipe holds, too
    with git.object_reader() as reader:
        first = reader.read(specs)
        again = reader.read([ids[1]])
    assert first == [big, None] * 8 + [small] * 3000
    assert again == [small]
