"""crashtest/harness/redis_server.py against the real redis-server (tests/conftest.py's
redis_server fixture starts it; skipped without one, failed under CI=true)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from crashtest.harness.redis_server import MISSING, RedisServer, find_redis_server, ping


def _command(port: int, *words: str) -> bytes:
    """One command in RESP, its raw answer: what a client of the broker would see."""
    request = f"*{len(words)}\r\n" + "".join(f"${len(w)}\r\n{w}\r\n" for w in words)
    with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
        conn.sendall(request.encode())
        return conn.recv(256)


def test_it_answers_on_its_url_and_comes_back_on_the_same_port(redis_server):
    port = redis_server.port
    assert redis_server.url == f"redis://127.0.0.1:{port}/0"
    assert redis_server.ping() and ping(port)
    assert _command(port, "RPUSH", "q", "task") == b":1\r\n"

    redis_server.kill()
    assert not redis_server.running()
    assert not ping(port)

    redis_server.start()
    assert redis_server.port == port and redis_server.url == f"redis://127.0.0.1:{port}/0"
    assert ping(port)
    # Nothing persisted: what the killed server held is gone, as a crashed broker's queue.
    assert _command(port, "LLEN", "q") == b":0\r\n"
    assert "Ready to accept connections" in redis_server.log_tail()


def test_stop_ends_it_and_a_context_manager_stops_it(tmp_path: Path, redis_server):
    with RedisServer(tmp_path / "other") as server:
        assert server.port != redis_server.port and server.ping()
        pid = server.process.pid
    assert not server.running() and not ping(server.port)
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # its whole process group is gone


def test_a_taken_port_fails_with_the_server_log(tmp_path: Path, redis_server):
    taken = RedisServer(tmp_path / "second", port=redis_server.port, startup_timeout=10)
    with pytest.raises(RuntimeError, match="exited at start") as failure:
        taken.start()
    assert "Address already in use" in str(failure.value)
    assert not taken.running()
    assert redis_server.ping()  # the first one still answers


def test_a_missing_redis_server_is_named_with_the_fix(tmp_path: Path):
    assert find_redis_server(path=str(tmp_path), dirs=()) is None
    # Found off PATH too, as Debian's /usr/sbin
    program = tmp_path / "sbin" / "redis-server"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    assert find_redis_server(path=str(tmp_path), dirs=[str(program.parent)]) == str(program)
    absent = tmp_path / "redis-server"
    with pytest.raises(RuntimeError, match="scripts/ensure-services.sh") as failure:
        RedisServer(tmp_path, binary=str(absent))
    assert str(absent) in str(failure.value) and MISSING in str(failure.value)
