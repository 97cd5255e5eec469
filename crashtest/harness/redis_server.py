"""A private Redis server for django-q2's Redis broker: Debian's `redis-server` on a free
loopback port, its files in a folder of ours, nothing persisted, in a process group of its own
so that a nemesis can SIGKILL it and start it again on the same port.

Pure: no Django, and no `redis` package either (the readiness check speaks RESP over a socket).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

# Searched after PATH: Debian's package puts it in /usr/bin, other systems in /usr/sbin.
FALLBACK_DIRS = ("/usr/bin", "/usr/sbin")
MISSING = (
    "redis-server not found (on PATH, /usr/bin, /usr/sbin): run scripts/ensure-services.sh "
    "(Debian package 'redis-server')"
)
HOST = "127.0.0.1"
READY = "Ready to accept connections"  # what redis-server logs once it listens
START_ATTEMPTS = 3  # a free port can be taken by someone else before redis-server binds it


def find_redis_server(path: str | None = None, dirs: Sequence[str] = FALLBACK_DIRS) -> str | None:
    """The redis-server program: from `path` (a PATH-like string; the environment's when
    None), then `dirs`. None when there is none."""
    if found := shutil.which("redis-server", path=path):
        return found
    for folder in dirs:
        candidate = Path(folder) / "redis-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def ping(port: int, timeout: float = 1.0) -> bool:
    """True when a Redis server on HOST:`port` answers PING with +PONG."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server in `folder` (its working dir and log). The port is chosen at the first
    start and kept, so `start()` after `kill()` or `stop()` is a restart clients reconnect to.
    """

    def __init__(
        self,
        folder: Path,
        *,
        binary: str | None = None,
        port: int | None = None,
        startup_timeout: float = 20,
    ) -> None:
        """`binary` is found with find_redis_server() when None; `port` is a free one when
        None. RuntimeError when there is no redis-server."""
        binary = binary or find_redis_server()
        if binary is None:
            raise RuntimeError(MISSING)
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            raise RuntimeError(f"{binary} is not an executable program. {MISSING}")
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.binary = binary
        self.port = port
        self.startup_timeout = startup_timeout
        self.log_path = folder / "redis-server.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the Redis server was never started: it has no port yet")
        return f"redis://{HOST}:{self.port}/0"

    def ping(self, timeout: float = 1.0) -> bool:
        return self.port is not None and ping(self.port, timeout)

    def start(self) -> RedisServer:
        """Start the server and wait until it answers PING. On the port of the previous start
        if there was one, else on a free port (another one if that was taken meanwhile)."""
        if self.running():
            raise RuntimeError(f"redis-server is already running on port {self.port}")
        fixed = self.port is not None
        for attempt in range(1, START_ATTEMPTS + 1):
            port = self.port if fixed else free_port()
            assert port is not None
            try:
                self._start_on(port)
                self.port = port
                return self
            except RuntimeError:
                if fixed or attempt == START_ATTEMPTS or "in use" not in self.log_tail():
                    raise
        raise AssertionError("unreachable")

    def _start_on(self, port: int) -> None:
        command = [
            self.binary,
            "--port", str(port),
            "--bind", HOST,
            "--dir", str(self.folder),
            # A broker for tests and crash runs: nothing survives a restart, nothing is
            # written in the background. The log goes to stdout, i.e. to our log file.
            "--save", "",
            "--appendonly", "no",
        ]  # fmt: skip
        with open(self.log_path, "ab") as log:
            offset = log.tell()
            self.process = subprocess.Popen(
                command,
                cwd=self.folder,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.startup_timeout
        # Ours is up once it logged so: a PONG alone may come from a server that had the port.
        while not (self._logged_since(offset, READY) and ping(port, timeout=0.5)):
            if self.process.poll() is not None:
                self.process = None
                raise RuntimeError(
                    f"redis-server exited at start on port {port}:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                self._signal(signal.SIGKILL)
                self.process = None
                raise RuntimeError(
                    f"redis-server did not answer PING on port {port} within "
                    f"{self.startup_timeout:g} s:\n{self.log_tail()}"
                )
            time.sleep(0.02)

    def _logged_since(self, offset: int, text: str) -> bool:
        with open(self.log_path, "rb") as log:
            log.seek(offset)
            return text.encode() in log.read()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def _signal(self, signum: int) -> None:
        if self.process is None:
            return
        # The whole group: the server and any child it forked (a background save).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL: a crash. Whatever the queue held is gone (nothing is persisted)."""
        self._signal(signal.SIGKILL)
        self.process = None

    def stop(self) -> None:
        """Stop cleanly (SIGTERM), then SIGKILL whatever did not."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
            self.process.terminate()
            self.process.wait(timeout=10)
        self.kill()

    def __enter__(self) -> RedisServer:
        if not self.running():
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
