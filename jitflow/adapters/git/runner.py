"""The one wrapper through which jitflow runs git.

Arguments are always passed as a list (never through a shell), so values from
event payloads, branch names or file names can't be interpreted by a shell.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from jitflow.errors import GitError, UsageError

# A branch, tag or remote-tracking name as a person types it (not HEAD, a sha or refs/...).
_SHORT_NAME = re.compile(r"(?!refs/|HEAD$)[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*")
_SHA = re.compile(r"[0-9a-f]{7,64}")
# Make git's output stable and never interactive, and show objects as they are: a replace ref
# (refs/replace/*, which a mirror clone fetches and branch rules don't cover) would otherwise
# show another record, tree or commit in place of the one the signature covers.
_BASE_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
    "LC_ALL": "C",
    "GIT_PAGER": "cat",
    "GIT_NO_REPLACE_OBJECTS": "1",
}


def tree_entries(out: bytes, errors: str) -> list[tuple[str, str, str]]:
    """(mode, object id, path) of each record of `git ls-tree -z` output, the paths decoded
    as UTF-8 with `errors` (the codec's handling of bytes that are not UTF-8)."""
    entries = []
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, _kind, oid = meta.decode().split(" ")
        entries.append((mode, oid, name.decode("utf-8", errors=errors)))
    return entries


@dataclass(frozen=True)
class GitResult:
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", errors="replace")


def remote_auth_env(environ: Mapping[str, str]) -> dict[str, str]:
    """Git settings, passed through the environment, that authenticate fetches and pushes to
    the GitHub server with JITFLOW_PUSH_TOKEN (else GITHUB_TOKEN), as actions/checkout does:
    an http.extraheader scoped to that server, never in a file or on a command line."""
    import base64

    token = environ.get("JITFLOW_PUSH_TOKEN") or environ.get("GITHUB_TOKEN")
    if not token:
        return {}
    server = environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{server}/.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
    }


class Git:
    """A git repository (work tree or bare) driven through the git binary."""

    def __init__(self, path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> None:
        self.path = Path(path)
        self._env = dict(env or {})

    def _environ(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        env = dict(os.environ)
        env.update(_BASE_ENV)
        env.update(self._env)
        if extra:
            env.update(extra)
        return env

    def execute(
        self,
        args: Sequence[str],
        *,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> GitResult:
        """Run `git <args>` in this repository and return its raw result."""
        try:
            proc = subprocess.run(
                ["git", *args],
                cwd=self.path,
                input=input,
                capture_output=True,
                env=self._environ(env),
                check=False,
            )
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise self._launch_error() from exc
        result = GitResult(proc.returncode, proc.stdout, proc.stderr)
        if check and proc.returncode != 0:
            message = proc.stderr.decode("utf-8", errors="replace").strip()
            raise GitError(f"git {args[0]} failed in {self.path}: {message or 'no message'}")
        return result

    def _launch_error(self) -> UsageError:
        """Why git could not start: usually a wrong --repo, rarely a missing git."""
        if not self.path.exists():
            return UsageError(
                f"{self.path} does not exist; pass --repo the clone of your access repository"
            )
        if not self.path.is_dir():
            return UsageError(f"{self.path} is not a directory; --repo takes a clone's folder")
        return UsageError("git is not installed or not on PATH")

    def run(
        self, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None
    ) -> str:
        """Run git and return stdout as text, with the trailing newline removed."""
        return self.execute(args, input=input, env=env).text.rstrip("\n")

    def ok(self, *args: str) -> bool:
        """Whether `git <args>` succeeds (for questions like "is X an ancestor of Y")."""
        return self.execute(args, check=False).returncode == 0

    def stream(self, *args: str) -> Iterator[bytes]:
        """Yield stdout lines of a long-running git command without holding it all."""
        with self._streaming(args) as out:
            yield from out

    def stream_chunks(self, *args: str, size: int = 1 << 16) -> Iterator[bytes]:
        """Yield stdout of a long-running git command in chunks of up to `size` bytes (for
        output that is not line-shaped, such as `-z` records: no per-line Python work)."""
        with self._streaming(args) as out:
            while chunk := out.read1(size):
                yield chunk

    def _popen(self, args: Sequence[str], stdin: int | None = None) -> subprocess.Popen[bytes]:
        """Start `git <args>` in this repository, its output and errors piped (`stdin` as
        Popen takes it); a missing git or repository is raised as `_launch_error` says."""
        try:
            return subprocess.Popen(
                ["git", *args],
                cwd=self.path,
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self._environ(None),
            )
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise self._launch_error() from exc

    @contextmanager
    def _streaming(self, args: Sequence[str]) -> Iterator[io.BufferedReader]:
        proc = self._popen(args)
        assert isinstance(proc.stdout, io.BufferedReader)  # Popen's default buffering
        read_all = False  # stays False when the reader stops early (the with-body raises)
        try:
            yield proc.stdout
            read_all = True
        finally:
            proc.stdout.close()
            if not read_all:  # the reader stopped early: git's exit says nothing
                proc.kill()
            stderr = proc.stderr.read() if proc.stderr else b""
            code = proc.wait()
            if code != 0 and read_all:
                raise GitError(
                    f"git {args[0]} failed in {self.path}: "
                    f"{stderr.decode('utf-8', errors='replace').strip()}"
                )

    # -- common questions -------------------------------------------------

    def rev_parse(self, ref: str) -> str:
        result = self.execute(
            ["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], check=False
        )
        if result.returncode != 0:
            raise UsageError(self._missing_commit(ref))
        if _SHORT_NAME.fullmatch(ref) and not _SHA.fullmatch(ref):
            self._refuse_ambiguous(ref)
        return result.text.strip()

    def _refuse_ambiguous(self, ref: str) -> None:
        """A short name two refs answer to (a tag `origin/main` beside the remote branch) is
        refused: git would pick one silently, the tag first, and anyone who may push a tag
        can make one."""
        full = [f"refs/{ref}", f"refs/tags/{ref}", f"refs/heads/{ref}", f"refs/remotes/{ref}"]
        listed = self.execute(["for-each-ref", "--format=%(refname)", *full]).text.split()
        found = [name for name in full if name in listed]
        if len(found) > 1:
            raise UsageError(
                f"git reference {ref!r} is ambiguous in {self.path}: it names "
                f"{' and '.join(found)}; pass the full name (e.g. {found[-1]})"
            )

    def _missing_commit(self, ref: str) -> str:
        """Say which is wrong: the folder, an empty repository, or the reference."""
        if not self.ok("rev-parse", "--git-dir"):
            return (
                f"{self.path} is not a git repository; run jitflow in a clone of your access "
                "repository or pass --repo DIR"
            )
        if not self.ok("rev-parse", "--verify", "--quiet", "HEAD^{commit}") and ref == "HEAD":
            return f"the repository {self.path} has no commits yet"
        return (
            f"git reference {ref!r} does not name a commit in {self.path}: check the branch, "
            "tag or sha (`git branch -a` lists branches; `git fetch` brings remote ones)"
        )

    def show_bytes(self, commit: str, path: str) -> bytes | None:
        """The content of `path` at `commit`, or None when it does not exist there."""
        result = self.execute(["cat-file", "blob", f"{commit}:{path}"], check=False)
        return result.stdout if result.returncode == 0 else None

    def list_tree(self, commit: str, directory: str) -> list[tuple[str, str, str]]:
        """(mode, object id, path) of every entry below `directory` at `commit`."""
        out = self.execute(["ls-tree", "-r", "-z", "--full-tree", commit, "--", directory]).stdout
        return tree_entries(out, "surrogateescape")

    def cat_blobs(self, specs: Sequence[str]) -> list[bytes | None]:
        """Read many objects (`<commit>:<path>` or ids) in one process."""
        if not specs:
            return []
        proc = subprocess.run(
            ["git", "cat-file", "--batch"],
            cwd=self.path,
            input=("\n".join(specs) + "\n").encode(),
            capture_output=True,
            env=self._environ(None),
            check=False,
        )
        if proc.returncode != 0:
            raise GitError(f"git cat-file failed: {proc.stderr.decode(errors='replace').strip()}")
        return _batch_answers(proc.stdout, len(specs))

    def cat_blobs_later(self, specs: Sequence[str]) -> Callable[[], list[bytes | None]]:
        """Start reading many objects in one background process and return the function that
        waits for it and hands over what `cat_blobs` would: git writes its answers to an
        unnamed file, never to a pipe this process must empty, so it runs at full speed
        while the caller works (parses, imports) in the meantime."""
        if not specs:
            return list
        # Closed by `answers`, which the caller calls later: no `with` can span that.
        out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # noqa: SIM115
        try:
            proc = subprocess.Popen(
                ["git", "cat-file", "--batch"],
                cwd=self.path,
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                env=self._environ(None),
            )
        except (FileNotFoundError, NotADirectoryError) as exc:
            out.close()
            err.close()
            raise self._launch_error() from exc
        assert proc.stdin is not None
        with contextlib.suppress(OSError):  # git went away: its exit code says why
            proc.stdin.write(("\n".join(specs) + "\n").encode())
            proc.stdin.flush()
        with contextlib.suppress(OSError):
            proc.stdin.close()

        def answers() -> list[bytes | None]:
            with out, err:
                if proc.wait() != 0:
                    err.seek(0)
                    message = err.read().decode(errors="replace").strip()
                    raise GitError(f"git cat-file failed: {message}")
                out.seek(0)
                return _batch_answers(out.read(), len(specs))

        return answers

    @contextmanager
    def object_reader(self) -> Iterator[ObjectReader]:
        """One `git cat-file --batch` answering many `read`s (an audit reads one record per
        request: one process for all of them, not one per batch); stopped on leaving."""
        proc = self._popen(["cat-file", "--batch"], stdin=subprocess.PIPE)
        reader = ObjectReader(proc)
        try:
            yield reader
        finally:
            proc.kill()  # first: a question still being written fails rather than waits
            proc.wait()
            reader.close()
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                # A question git went away before reading stays in stdin's buffer: closing
                # would write it again into the broken pipe. Nothing is waiting for it.
                with contextlib.suppress(BrokenPipeError):
                    if pipe:
                        pipe.close()

    def objects_exist(self, specs: Sequence[str]) -> list[bool]:
        """Whether each object (`<commit>:<path>` or id) exists, in one process."""
        if not specs:
            return []
        out = self.execute(
            ["cat-file", "--batch-check=%(objecttype)"], input=("\n".join(specs) + "\n").encode()
        ).stdout
        answers = out.decode(errors="replace").splitlines()
        return [not a.endswith((" missing", " ambiguous")) for a in answers]


def _batch_answers(data: bytes, count: int) -> list[bytes | None]:
    """The `count` objects of `git cat-file --batch` output, None where one is missing."""
    results: list[bytes | None] = []
    pos = 0
    for _ in range(count):
        end = data.index(b"\n", pos)
        header = data[pos:end].decode()
        pos = end + 1
        if header.endswith(" missing") or header.endswith(" ambiguous"):
            results.append(None)
            continue
        size = int(header.rsplit(" ", 1)[1])
        results.append(data[pos : pos + size])
        pos += size + 1
    return results


class ObjectReader:
    """Reads objects (`<commit>:<path>` or ids) through one running `git cat-file --batch`.

    Questions are written by a thread while the answers are read, so neither pipe can fill up
    and stall git; a caller may ask for the next objects before reading the answers it has
    (git then finds them while the caller works), reading every answer in the order asked.
    """

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdin is not None and isinstance(proc.stdout, io.BufferedReader)
        self._proc, self._in, self._out = proc, proc.stdin, proc.stdout
        self._writer: threading.Thread | None = None
        self._asked = self._answered = 0  # asks made, and asks whose answers are all read

    def read(self, specs: Sequence[str]) -> list[bytes | None]:
        """Each object's content, None where there is none."""
        return list(self.ask(specs))

    def ask(self, specs: Sequence[str]) -> Iterator[bytes | None]:
        """Ask for each object now; its content (None where there is none) comes as the
        returned iterator is read, which must be after the answers to earlier asks."""
        if any("\n" in spec for spec in specs):
            raise GitError("an object name with a line break")
        if not specs:
            return iter(())
        questions = ("\n".join(specs) + "\n").encode()
        writer = threading.Thread(target=self._write, args=(self._writer, questions), daemon=True)
        writer.start()
        self._writer = writer
        self._asked += 1
        return self._answers(self._asked, len(specs))

    def close(self) -> None:
        """Wait for the question writer (once git is gone, it fails at once)."""
        if self._writer is not None:
            self._writer.join()

    def _write(self, before: threading.Thread | None, questions: bytes) -> None:
        if before is not None:
            before.join()  # questions go in the order asked
        with contextlib.suppress(OSError, ValueError):  # git went away: the reader says why
            self._in.write(questions)
            self._in.flush()

    def _answers(self, ask: int, count: int) -> Iterator[bytes | None]:
        if ask != self._answered + 1:
            raise GitError("the answers to an earlier ask of git cat-file were not all read")
        for _ in range(count - 1):
            yield self._answer()
        last = self._answer()
        self._answered = ask  # before the last answer is handed over: none may be asked after
        yield last

    def _answer(self) -> bytes | None:
        header = self._out.readline()
        if not header.endswith(b"\n"):
            message = self._proc.stderr.read() if self._proc.stderr else b""
            raise GitError(f"git cat-file failed: {message.decode(errors='replace').strip()}")
        if header.endswith((b" missing\n", b" ambiguous\n")):
            return None
        size = int(header.rsplit(b" ", 1)[1])
        content = self._out.read(size + 1)
        if len(content) != size + 1:
            raise GitError("git cat-file stopped in the middle of an object")
        return content[:size]
