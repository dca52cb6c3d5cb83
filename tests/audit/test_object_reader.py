"""One `git cat-file --batch` process answers many reads (the audit's record reader)."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

from jitflow.adapters.git import Git
from jitflow.errors import GitError


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


def _repository(tmp_path: Path) -> tuple[Git, list[str]]:
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path)], check=True)
    git = Git(tmp_path)
    contents = (b"x" * 100_000 + b"\n", b"policy: a\n")
    return git, [git.run("hash-object", "-w", "--stdin", input=content) for content in contents]


def test_asking_ahead_answers_each_ask_in_order(tmp_path: Path) -> None:
    git, (big, small) = _repository(tmp_path)
    with git.object_reader() as reader:
        first = reader.ask([big, small] * 5)
        second = reader.ask([small, "0" * 40])  # asked before the first answers are read
        assert list(first) == [b"x" * 100_000 + b"\n", b"policy: a\n"] * 5
        assert list(second) == [b"policy: a\n", None]
        reader.ask([small])
        with pytest.raises(GitError, match="not all read"):
            next(reader.ask([small]))


def test_leaving_with_answers_unread_stops_git_at_once(tmp_path: Path) -> None:
    git, (big, _) = _repository(tmp_path)

    def ask_and_leave() -> None:
        with git.object_reader() as reader:  # both pipes fill up: git waits for a reader
            reader.ask([big] * 3000)

    leaving = threading.Thread(target=ask_and_leave, daemon=True)
    leaving.start()
    leaving.join(timeout=60)
    assert not leaving.is_alive()


def test_a_question_left_unwritten_when_git_went_away_does_not_fail_the_exit(
    tmp_path: Path,
) -> None:
    """A question the writer could not hand to a git that is gone stays in the pipe's buffer;
    leaving the reader must not try to write it again (a BrokenPipeError on leaving hid the
    real outcome, seen under load when git was stopped before the writer ran)."""
    git, (_, small) = _repository(tmp_path)
    with git.object_reader() as reader:
        reader._proc.kill()
        reader._proc.wait()
        answers = reader.ask([small])
        reader.close()  # the writer has met the broken pipe
        with pytest.raises(GitError, match="cat-file failed"):
            next(answers)
