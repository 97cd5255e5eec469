"""crashtest/harness/postgres_server.py against real PostgreSQL servers it starts itself (skipped
without the server programs, failed under CI=true)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dj_database_url
import psycopg
import pytest

from crashtest.harness.postgres_server import (
    PREFIX,
    PostgresServer,
    find_pg_bin,
    reap_stale_clusters,
    unavailable_reason,
    version_key,
)


def _require_postgresql() -> None:
    if reason := unavailable_reason():
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"CI=true: {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture
def server() -> Iterator[PostgresServer]:
    _require_postgresql()
    with PostgresServer() as running:
        yield running


def _rows(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM task ORDER BY name")]


def _database_with_rows(server: PostgresServer, name: str, *rows: str) -> str:
    url = server.create_database(name)
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE task (name text PRIMARY KEY)")
        for row in rows:
            conn.execute("INSERT INTO task VALUES (%s)", (row,))
    return url  # committed when the block left


def test_terminate_backends_cuts_every_other_connection_to_the_database(server):
    url = _database_with_rows(server, "crash", "a")
    assert url == f"postgresql://postgres@127.0.0.1:{server.port}/crash" == server.url("crash")
    parsed = dj_database_url.parse(url)
    assert (parsed["NAME"], parsed["USER"], parsed["HOST"]) == ("crash", "postgres", "127.0.0.1")
    assert int(parsed["PORT"]) == server.port

    worker = psycopg.connect(url)
    other = psycopg.connect(url)
    worker.execute("INSERT INTO task VALUES ('b')")
    worker.commit()
    bystander = server.connect("postgres")  # another database: left alone
    try:
        # Exactly the two: neither autovacuum nor the admin connection it makes itself count.
        assert server.terminate_backends("crash") == 2
        for cut in (worker, other):
            with pytest.raises(psycopg.OperationalError):
                cut.execute("SELECT 1")
        assert bystander.execute("SELECT 1").fetchone() == (1,)
        # Its own connection to the database it empties is not counted, nor cut.
        assert server.terminate_backends("postgres") == 1
        with pytest.raises(psycopg.OperationalError):
            bystander.execute("SELECT 1")
        assert server.terminate_backends("crash") == 0
    finally:
        for conn in (worker, other, bystander):
            conn.close()
    assert _rows(url) == ["a", "b"]  # a new connection works, the commits are there


def test_an_immediate_restart_is_a_crash_that_keeps_what_was_committed(server):
    url = _database_with_rows(server, "crash", "committed")
    port = server.port
    before = psycopg.connect(url)
    unfinished = psycopg.connect(url)
    unfinished.execute("INSERT INTO task VALUES ('uncommitted')")  # its transaction stays open
    try:
        server.restart(immediate=True)
        for cut in (before, unfinished):
            with pytest.raises(psycopg.OperationalError):
                cut.execute("SELECT 1")
    finally:
        before.close()
        unfinished.close()
    assert server.port == port and server.url("crash") == url
    assert _rows(url) == ["committed"]
    # No checkpoint at the stop: the start recovered from the WAL, as after a crash.
    assert "automatic recovery in progress" in server.log_tail(50)

    server.restart(immediate=False)  # a fast one is a clean shutdown
    assert _rows(url) == ["committed"]
    assert "automatic recovery in progress" not in server.log_tail(8)


def test_stop_then_start_again_on_the_same_port_and_cleanup_removes_the_folder(server):
    url = _database_with_rows(server, "crash", "kept")
    port, folder = server.port, server.folder
    assert folder.name.startswith("assay-crash-pg-")
    with pytest.raises(RuntimeError, match="already runs"):
        server.start()

    server.stop()
    assert not server.running()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)
    server.stop()  # idempotent

    server.start()
    assert server.running() and server.port == port
    assert _rows(url) == ["kept"]

    server.cleanup()
    assert not folder.exists() and not server.running()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)


def test_a_start_that_fails_says_why_with_the_server_log(server):
    server.stop()
    with open(server.data / "postgresql.conf", "a") as conf:
        conf.write("no_such_setting = on\n")
    with pytest.raises(RuntimeError, match="pg_ctl start failed") as failure:
        server.start()
    assert 'unrecognized configuration parameter "no_such_setting"' in str(failure.value)
    assert not server.running()


def test_a_taken_port_moves_the_first_start_to_another_one():
    _require_postgresql()
    server = PostgresServer()
    taken = server.port
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", taken))
        squatter.listen()
        try:
            server.start()
            assert server.port != taken
            with server.connect("postgres") as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
        finally:
            server.cleanup()
    assert not server.folder.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_a_folder_the_postgres_user_cannot_reach_is_refused(tmp_path: Path):
    _require_postgresql()
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)  # root's, as pytest's own /tmp/pytest-of-root is
    server = PostgresServer(closed / "pg")
    with pytest.raises(RuntimeError, match="not writable by the 'postgres' user"):
        server.start()


def _running(pid: int) -> bool:
    """Alive and not a zombie (this sandbox's PID 1 may be slow to reap the orphans)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_clusters_of_dead_owners_are_stopped_and_removed():
    _require_postgresql()
    # A parent of our own (the postgres user may traverse it), not the shared /tmp.
    parent = Path(tempfile.mkdtemp(prefix="assay-reap-", dir="/tmp"))
    parent.chmod(0o711)
    orphan = PostgresServer(parent / f"{PREFIX}orphan")
    alive = parent / f"{PREFIX}alive"
    try:
        orphan.start()
        postmaster = int((orphan.data / "postmaster.pid").read_text().split()[0])
        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        )
        (orphan.folder / "owner.pid").write_text(dead.stdout)  # a SIGKILLed crash run's
        alive.mkdir()
        (alive / "owner.pid").write_text(f"{os.getpid()}\n")

        assert reap_stale_clusters(parent) == [orphan.folder]
        assert not orphan.folder.exists() and not _running(postmaster)
        with pytest.raises(psycopg.OperationalError):
            orphan.connect("postgres", connect_timeout=2)
        assert alive.exists()  # its owner (this process) still runs
    finally:
        orphan.cleanup()
        shutil.rmtree(parent, ignore_errors=True)


def _fake_bindir(folder: Path, *programs: str) -> Path:
    folder.mkdir(parents=True)
    for name in programs:
        (folder / name).write_text("#!/bin/sh\n")
        (folder / name).chmod(0o755)
    return folder


def test_find_pg_bin_prefers_path_then_the_newest_debian_version(tmp_path: Path):
    pattern = str(tmp_path / "postgresql" / "*" / "bin")
    assert find_pg_bin(path=str(tmp_path), pattern=pattern) is None
    for version in ("9.6", "10"):
        _fake_bindir(tmp_path / "postgresql" / version / "bin", "pg_ctl", "initdb", "postgres")
    _fake_bindir(tmp_path / "postgresql" / "16" / "bin", "pg_ctl", "initdb")  # no server
    assert find_pg_bin(path=str(tmp_path), pattern=pattern) == tmp_path / "postgresql/10/bin"
    assert version_key("/usr/lib/postgresql/15/bin") > version_key("/usr/lib/postgresql/9.6/bin")

    # On PATH through a symlink (/usr/local/bin/pg_ctl): the directory it points into.
    real = _fake_bindir(tmp_path / "real", "pg_ctl", "initdb", "postgres")
    on_path = tmp_path / "path"
    on_path.mkdir()
    (on_path / "pg_ctl").symlink_to(real / "pg_ctl")
    assert find_pg_bin(path=str(on_path), pattern=pattern) == real
