"""A throwaway PostgreSQL cluster for tests and demos.

initdb refuses to run as root, so when we are root the cluster is owned by and
run as the `postgres` system user (created if missing). The superuser password
is generated at run time and handed to initdb through a file, never on argv.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from jitflow.errors import UsageError
from jitflow.sandbox.lifecycle import LocalServer
from jitflow.sandbox.servers.leftovers import claim, end_process, running_in, sweep
from jitflow.sandbox.servers.openbao import free_port

_SEARCH_DIRS = ("/usr/lib/postgresql", "/usr/local/pgsql", "/opt/homebrew/opt", "/usr/local/opt")
_RUN_AS = "postgres"
_PREFIX = "jitflow-postgres-"


def find_postgres_bin() -> Path | None:
    """The directory holding `initdb`, `pg_ctl` and `postgres`, or None when not installed."""
    env_dir = os.environ.get("JITFLOW_PG_BIN")
    candidates: list[Path] = [Path(env_dir)] if env_dir else []
    for root in _SEARCH_DIRS:
        base = Path(root)
        if base.is_dir():
            versions = sorted(base.glob("*/bin"), key=lambda p: p.parent.name, reverse=True)
            candidates.extend(versions)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for directory in candidates:
        if all((directory / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return directory
    return None


def find_psql() -> str | None:
    bin_dir = find_postgres_bin()
    if bin_dir is not None and (bin_dir / "psql").exists():
        return str(bin_dir / "psql")
    return shutil.which("psql")


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(name)


class PostgresServer(LocalServer):
    """A PostgreSQL server on 127.0.0.1 in a temporary directory, for a `with` block."""

    def __init__(self, *, superuser: str = "postgres", startup_timeout: float = 60.0) -> None:
        bin_dir = find_postgres_bin()
        if bin_dir is None:
            raise UsageError("no PostgreSQL server binaries (initdb, pg_ctl) were found")
        self.bin_dir = bin_dir
        self.host = "127.0.0.1"
        self.port = free_port()
        self.superuser = superuser
        self.password = secrets.token_urlsafe(24)
        self.database = "postgres"
        self._startup_timeout = startup_timeout
        self._workdir: Path | None = None
        self._owner: pwd.struct_passwd | None = None

    def __repr__(self) -> str:
        return f"PostgresServer(host={self.host!r}, port={self.port}, password=<redacted>)"

    @property
    def dsn(self) -> str:
        """libpq URL without the password (pass it in PGPASSWORD)."""
        return f"postgresql://{self.superuser}@{self.host}:{self.port}/{self.database}"

    @property
    def data_dir(self) -> Path:
        assert self._workdir is not None
        return self._workdir / "data"

    def _run(self, args: Sequence[str], *, timeout: float = 120) -> None:
        command = list(args)
        if self._owner is not None:
            command = ["runuser", "-u", self._owner.pw_name, "--", *command]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=str(self._workdir),
            check=False,
        )
        if result.returncode != 0:
            raise UsageError(
                f"{Path(args[0]).name} failed (exit {result.returncode}): "
                f"{(result.stderr or result.stdout).strip()[-800:]}"
            )

    def start(self) -> PostgresServer:
        # pg_ctl detaches the server: a test process killed before stop() leaves it running
        sweep(_PREFIX, _end_abandoned)
        self._workdir = Path(tempfile.mkdtemp(prefix=_PREFIX))
        claim(self._workdir)
        atexit.register(self.stop)
        try:
            if os.geteuid() == 0:
                self._owner = _ensure_system_user(_RUN_AS)
                os.chown(self._workdir, self._owner.pw_uid, self._owner.pw_gid)
            self._workdir.chmod(0o700)
            pwfile = self._workdir / "pwfile"
            pwfile.write_text(self.password + "\n")
            pwfile.chmod(0o600)
            if self._owner is not None:
                os.chown(pwfile, self._owner.pw_uid, self._owner.pw_gid)
            self._run(
                [
                    str(self.bin_dir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    self.superuser,
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "--encoding=UTF8",
                    "--no-sync",
                ]
            )
            pwfile.unlink()
            options = (
                f"-c listen_addresses={self.host} -c port={self.port} "
                f"-c unix_socket_directories={self._workdir} -c fsync=off "
                "-c full_page_writes=off -c synchronous_commit=off"
            )
            self._run(
                [
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-o",
                    options,
                    "-l",
                    str(self._workdir / "server.log"),
                    "-w",
                    "-t",
                    str(int(self._startup_timeout)),
                    "start",
                ],
                timeout=self._startup_timeout + 10,
            )
        except BaseException:
            self.stop()
            raise
        return self

    def psql(
        self, sql: str, *, user: str | None = None, password: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run SQL through the `psql` client; the password goes in PGPASSWORD, never argv."""
        psql = find_psql()
        if psql is None:
            raise UsageError("the `psql` client was not found")
        env = dict(os.environ)
        env["PGPASSWORD"] = self.password if password is None else password
        env["PGCONNECT_TIMEOUT"] = "5"
        return subprocess.run(
            [
                psql,
                "-X",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                user or self.superuser,
                "-d",
                self.database,
                "-At",
                "-c",
                sql,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def stop(self) -> None:
        atexit.unregister(self.stop)
        if self._workdir is None:
            return
        if (self.data_dir / "postmaster.pid").exists():
            with contextlib.suppress(UsageError, subprocess.TimeoutExpired):
                self._run(
                    [
                        str(self.bin_dir / "pg_ctl"),
                        "-D",
                        str(self.data_dir),
                        "-m",
                        "immediate",
                        "-w",
                        "stop",
                    ],
                    timeout=60,
                )
        shutil.rmtree(self._workdir, ignore_errors=True)
        self._workdir = None


def _end_abandoned(workdir: Path) -> None:
    """Immediate shutdown (SIGQUIT) of the server whose owner died, if it still runs."""
    pid = int((workdir / "data" / "postmaster.pid").read_text().split()[0])
    if running_in(workdir, pid):
        end_process(pid, signal.SIGQUIT)
