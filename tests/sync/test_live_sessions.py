"""Ending a database grant ends its live sessions: a connection held open inside a transaction,
holding a row lock, is terminated at expiry and at an early revoke, and its lock released."""

# ruff: noqa: S608  (SQL built from a test's own table names and Vault's generated login)
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from jitflow.sandbox.servers.postgres import PostgresServer, find_psql
from tests.sync.conftest import World, run_creds
from tests.sync.observe import active_grant, archived


def _table(postgres: PostgresServer, request_id: str, user: str) -> str:
    table = "held_" + request_id.replace("-", "_")
    made = postgres.psql(
        f"CREATE TABLE {table} (n int); INSERT INTO {table} VALUES (1); "
        f'GRANT SELECT, UPDATE ON {table} TO "{user}"'
    )
    assert made.returncode == 0, made.stderr
    return table


@contextmanager
def _held_session(
    postgres: PostgresServer, user: str, password: str, table: str
) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """A psql session of the grant's user, inside a transaction holding a row lock on `table`."""
    psql = find_psql()
    assert psql is not None
    args = [psql, "-X", "-q", "-At", "-h", postgres.host, "-p", str(postgres.port)]
    session = subprocess.Popen(
        [*args, "-U", user, "-d", postgres.database],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PGPASSWORD": password},
    )
    assert session.stdin is not None and session.stdout is not None
    try:
        session.stdin.write(f"BEGIN;\nUPDATE {table} SET n = n + 1;\n")
        session.stdin.flush()
        yield session, _idle_in_transaction(postgres, user)
    finally:
        session.kill()
        session.wait(timeout=30)


def _idle_in_transaction(postgres: PostgresServer, user: str) -> int:
    """The backend of `user`'s session once it sits in its open transaction (psql's output
    is buffered in a pipe, so the server is asked)."""
    query = (
        f"SELECT pid FROM pg_stat_activity WHERE usename = '{user}' "
        "AND state = 'idle in transaction' AND query LIKE 'UPDATE%'"
    )
    deadline = time.monotonic() + 30
    while not (found := _sql(postgres, query)):
        assert time.monotonic() < deadline, "the held session never opened its transaction"
        time.sleep(0.1)
    return int(found)


def _sql(postgres: PostgresServer, sql: str) -> str:
    done = postgres.psql(sql)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _lock_is_held(postgres: PostgresServer, table: str) -> bool:
    """Whether another session is refused the row lock (it waits at most 2 s)."""
    probe = postgres.psql(f"SET lock_timeout = '2s'; UPDATE {table} SET n = n + 10")
    return probe.returncode != 0 and "lock timeout" in probe.stderr


def _issue_database_grant(world: World) -> tuple[str, str, str]:
    request_id, _ = world.approved_merge("orders-db")
    world.sync()
    world.runner.run("fetch", "--quiet", "origin")
    shown = run_creds(world, request_id, "json")
    assert shown.returncode == 0, shown.stderr
    values = json.loads(shown.stdout)
    return request_id, values["username"], values["password"]


def _assert_session_ended(postgres: PostgresServer, pid: int, table: str) -> None:
    assert _sql(postgres, f"SELECT count(*) FROM pg_stat_activity WHERE pid = {pid}") == "0"
    assert not _lock_is_held(postgres, table)
    # the held transaction was rolled back, not committed: only the probe's update remains
    assert _sql(postgres, f"SELECT n FROM {table}") == "11"


def _assert_recorded(world: World, request_id: str, reason: str) -> None:
    [record] = archived(world, request_id)
    assert record["ended"]["reason"] == reason
    assert "terminated" in record["ended"]["sessions"]


def test_expiry_terminates_a_session_holding_a_lock(world: World, postgres: PostgresServer) -> None:
    request_id, user, password = _issue_database_grant(world)
    table = _table(postgres, request_id, user)
    with _held_session(postgres, user, password, table) as (_, pid):
        assert _lock_is_held(postgres, table)  # the grant's transaction holds the row
        expires_at = (active_grant(world, request_id) or {})["expires_at"]
        world.sync("--now", expires_at)
        _assert_session_ended(postgres, pid, table)
    _assert_recorded(world, request_id, "expired")


def test_early_revoke_terminates_a_session_holding_a_lock(
    world: World, postgres: PostgresServer
) -> None:
    request_id, user, password = _issue_database_grant(world)
    table = _table(postgres, request_id, user)
    with _held_session(postgres, user, password, table) as (session, pid):
        assert _lock_is_held(postgres, table)
        world.requester.run("fetch", "--quiet", "origin")
        made = subprocess.run(
            [sys.executable, "-m", "jitflow", "revoke", request_id, "--reason", "incident over",
             "--as", "alice", "--open", "--repo", str(world.requester.path)],
            env={**world.env, "GITHUB_TOKEN": world.standin.token_for("alice")},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        world.standin.merge_pull(int(made.stdout.strip().rsplit("#", 1)[1]), "alice")
        world.sync()
        _assert_session_ended(postgres, pid, table)
        assert session.stdin is not None
        session.stdin.write("SELECT 1;\n")  # the client learns its connection is gone
        session.stdin.close()
        assert session.wait(timeout=30) != 0
    _assert_recorded(world, request_id, "revoked")
