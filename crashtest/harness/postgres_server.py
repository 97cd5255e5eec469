"""A private PostgreSQL server for a crash run: its own cluster (initdb, trust auth on 127.0.0.1,
superuser "postgres") in a folder of ours, on a free loopback port, which the nemeses restart
the way a crash would (pg_ctl restart -m immediate: no checkpoint, clients cut off, recovery
from the WAL at the next start) and whose client connections they cut (pg_terminate_backend).

PostgreSQL refuses to run as root: as root every server program runs as the `postgres` system
user (setpriv, else runuser), as tests/postgres_plugin.py does for pytest's server. The cluster
then lives in /tmp/assay-crash-pg-*/ (0711, root's) under cluster/ (0700, the postgres user's).

Pure: no Django, only psycopg for the admin connection.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import NoReturn
from urllib.parse import quote

import psycopg
from psycopg import sql

HOST = "127.0.0.1"
SUPERUSER = "postgres"  # created by initdb; trust auth, no password
SERVER_OS_USER = "postgres"  # the Debian package's system user, for when we are root
PREFIX = "assay-crash-pg-"
BINARIES = ("pg_ctl", "initdb", "postgres")
DEBIAN_BINDIRS = "/usr/lib/postgresql/*/bin"  # Debian keeps the server programs off PATH
MISSING = (
    "PostgreSQL server programs (pg_ctl, initdb, postgres) not found on PATH or in "
    f"{DEBIAN_BINDIRS}: run scripts/ensure-services.sh (Debian package 'postgresql')"
)
START_ATTEMPTS = 3  # a free port can be taken by someone else before postgres binds it
STALE_WITHOUT_OWNER_SECONDS = 3600
# Only the postgres processes crash, never the machine: what reached the kernel survives, so
# fsync and full-page writes buy nothing here. synchronous_commit stays on, though: with it
# off a commit acknowledged to a worker could be lost by an immediate restart, which the
# crash run would then report as the application's fault.
SETTINGS = {
    "listen_addresses": f"'{HOST}'",
    "unix_socket_directories": "''",  # TCP only: no socket dir for the postgres user to reach
    "fsync": "off",
    "full_page_writes": "off",
    "max_connections": "200",  # workers, the web server, the checker and the nemeses
    "log_line_prefix": "'%m [%p] %q%u@%d '",
}
CONF_NAME = "assay.conf"  # included from postgresql.conf; rewritten with the port at each start


def version_key(bindir: str) -> tuple[int, ...]:
    """Sort key for /usr/lib/postgresql/<version>/bin so that 15 > 9.6."""
    match = re.search(r"/postgresql/([\d.]+)/bin", bindir)
    return tuple(int(p) for p in match.group(1).split(".") if p) if match else (0,)


def _has_server_binaries(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in BINARIES)


def find_pg_bin(path: str | None = None, pattern: str = DEBIAN_BINDIRS) -> Path | None:
    """The directory holding pg_ctl, initdb and postgres: pg_ctl's on `path` (a PATH-like
    string; the environment's when None) after resolving symlinks, else the newest version
    matching `pattern`. None when there is none."""
    candidates: list[Path] = []
    if found := shutil.which("pg_ctl", path=path):
        candidates.append(Path(os.path.realpath(found)).parent)
    candidates += [Path(d) for d in sorted(glob.glob(pattern), key=version_key, reverse=True)]
    return next((bindir for bindir in candidates if _has_server_binaries(bindir)), None)


def server_user_prefix() -> list[str] | None:
    """The command prefix that runs a program as the postgres user: [] when we are not root,
    None when we are root and cannot drop to it."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SERVER_OS_USER)
    except KeyError:
        return None
    # setpriv needs no PAM session; runuser is the fallback on systems without it.
    if setpriv := shutil.which("setpriv"):
        user = SERVER_OS_USER
        return [setpriv, f"--reuid={user}", f"--regid={user}", "--init-groups", "--"]
    if runuser := shutil.which("runuser"):
        return [runuser, "-u", SERVER_OS_USER, "--"]
    return None


def unavailable_reason() -> str | None:
    """Why no PostgresServer can run here, or None when one can."""
    if find_pg_bin() is None:
        return MISSING
    if server_user_prefix() is None:
        return (
            f"running as root but cannot drop to the '{SERVER_OS_USER}' user "
            "(user missing, or neither setpriv nor runuser found)"
        )
    return None


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def state_parent() -> Path:
    # As root the postgres user must be able to traverse it: a private TMPDIR might not be.
    # mkdtemp makes a fresh dir of ours in it, so no other user can plant anything there.
    if os.geteuid() == 0:
        return Path("/tmp")  # noqa: S108
    return Path(tempfile.gettempdir())


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class PostgresServer:
    """One PostgreSQL cluster in `folder` (a fresh /tmp/assay-crash-pg-*/ when None). The port
    is chosen at the first start and kept, so clients reconnect to the same URL after a
    restart, or after stop() and start().
    """

    def __init__(self, folder: Path | None = None, *, timeout: float = 60) -> None:
        """`timeout`: seconds a start or restart (crash recovery included) may take.
        RuntimeError when PostgreSQL is missing or cannot be run as its user here."""
        if reason := unavailable_reason():
            raise RuntimeError(reason)
        bindir = find_pg_bin()
        prefix = server_user_prefix()
        assert bindir is not None and prefix is not None  # checked just above
        self.bindir = bindir
        self._prefix = prefix
        self.timeout = timeout
        if folder is None:
            reap_stale_clusters()
            folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=state_parent()))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "owner.pid").write_text(f"{os.getpid()}\n")
        self.folder = folder
        # Only cluster/ belongs to the postgres user; the folder above it stays ours.
        self.cluster = folder / "cluster"
        self.data = self.cluster / "data"
        self.log_path = self.cluster / "server.log"
        self.port = free_port()
        self._port_fixed = False  # True once a start succeeded on self.port

    # --- running the server programs -------------------------------------------------------

    def _run(self, argv: list[str], timeout: float) -> subprocess.CompletedProcess:
        """`argv` as the postgres user (as ourselves when we are not root)."""
        # cwd /: ours (e.g. a repository under /root) may be unreadable for the postgres user.
        return subprocess.run(
            [*self._prefix, *argv],
            cwd="/",
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def _pg_ctl(self, action: str, *args: str) -> subprocess.CompletedProcess:
        seconds = str(max(1, round(self.timeout)))
        return self._run(
            [str(self.bindir / "pg_ctl"), action, "-D", str(self.data), "-w", "-t", seconds, *args],
            timeout=self.timeout + 30,
        )

    def _fail(self, what: str, result: subprocess.CompletedProcess | None = None) -> NoReturn:
        output = f"{result.stdout}{result.stderr}".strip() if result is not None else ""
        raise RuntimeError(
            f"PostgreSQL in {self.folder} (port {self.port}): {what}\n"
            + (f"{output}\n" if output else "")
            + f"--- server log ---\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    # --- lifecycle -----------------------------------------------------------------------------

    def _prepare_cluster(self) -> None:
        """Create cluster/ for the postgres user and run initdb in it, once."""
        if (self.data / "PG_VERSION").exists():
            return
        self.folder.chmod(0o711)  # traversable by the postgres user, listable by nobody
        self.cluster.mkdir(mode=0o700, exist_ok=True)
        if os.geteuid() == 0:
            server_user = pwd.getpwnam(SERVER_OS_USER)
            os.chown(self.cluster, server_user.pw_uid, server_user.pw_gid)
        # Fail with the reason rather than initdb's "permission denied" somewhere above it.
        if self._run(["test", "-w", str(self.cluster)], timeout=30).returncode != 0:
            raise RuntimeError(
                f"{self.cluster} is not writable by the '{SERVER_OS_USER}' user: a folder on "
                f"its way is closed to it. Use a folder under /tmp, or folder=None"
            )
        shutil.rmtree(self.data, ignore_errors=True)  # a half-made one from a failed initdb
        initdb = [
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
            "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions",
        ]  # fmt: skip
        result = self._run(initdb, timeout=120)
        if result.returncode != 0:
            self._fail("initdb failed", result)
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\ninclude '{CONF_NAME}'\n")

    def _write_settings(self, port: int) -> None:
        lines = [f"{name} = {value}" for name, value in {**SETTINGS, "port": port}.items()]
        (self.data / CONF_NAME).write_text("\n".join(lines) + "\n")

    def running(self) -> bool:
        """True when a postmaster runs on this cluster (pg_ctl status: 0 running, 3 not)."""
        if not (self.data / "postmaster.pid").exists():
            return False
        return self._pg_ctl("status").returncode == 0

    def start(self) -> None:
        """initdb once, then start the server and wait until it accepts connections: on the
        port of the previous start if there was one, else on a free port (another one if that
        was taken meanwhile). RuntimeError with the server log's tail when it does not."""
        if self.running():
            raise RuntimeError(f"PostgreSQL in {self.folder} already runs on port {self.port}")
        self._prepare_cluster()
        for attempt in range(1, START_ATTEMPTS + 1):
            if attempt > 1:
                self.port = free_port()
            self._write_settings(self.port)
            offset = self._log_size()
            result = self._pg_ctl("start", "-l", str(self.log_path))
            if result.returncode == 0:
                self._wait_accepting()
                self._port_fixed = True
                return
            taken = "could not bind" in self._log_since(offset)
            if self._port_fixed or not taken or attempt == START_ATTEMPTS:
                self._fail("pg_ctl start failed", result)
        raise AssertionError("unreachable")

    def _log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def _log_since(self, offset: int) -> str:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(offset)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def _wait_accepting(self) -> None:
        """Until a connection to the port reaches this cluster (not a stranger on the port)."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                with self.connect("postgres", connect_timeout=2) as conn:
                    row = conn.execute("SHOW data_directory").fetchone()
                if row is not None and os.path.realpath(row[0]) == os.path.realpath(self.data):
                    return
                self._fail(f"port {self.port} is answered by another server ({row})")
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    self._fail(f"does not accept connections within {self.timeout:g} s: {exc}")
                time.sleep(0.05)

    def restart(self, *, immediate: bool = True) -> None:
        """Restart on the same port and wait until it accepts connections again. immediate
        (the default) is a crash: no checkpoint, every client cut off at once, crash recovery
        from the WAL at the start; else a fast shutdown (clients cut off, checkpoint)."""
        mode = "immediate" if immediate else "fast"
        result = self._pg_ctl("restart", "-m", mode, "-l", str(self.log_path))
        if result.returncode != 0:
            self._fail(f"pg_ctl restart -m {mode} failed", result)
        self._wait_accepting()

    def stop(self) -> None:
        """Stop (fast shutdown: clients cut off, checkpoint); immediate when that does not
        finish. Nothing to do when it does not run."""
        if not self.running():
            return
        result = self._pg_ctl("stop", "-m", "fast")
        if result.returncode != 0 and self.running():
            result = self._pg_ctl("stop", "-m", "immediate")
        if self.running():
            self._fail("does not stop", result)

    def cleanup(self) -> None:
        """Stop the server and delete its folder (never a cluster that still runs)."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        if not self.running():
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    # --- databases and clients ---------------------------------------------------------------

    def url(self, database: str) -> str:
        """A DATABASE_URL for `database` that dj-database-url understands."""
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/{quote(database, safe='')}"

    def connect(self, database: str, **kwargs: object) -> psycopg.Connection:
        """A superuser connection to `database` (autocommit unless told otherwise)."""
        kwargs.setdefault("autocommit", True)
        return psycopg.connect(host=HOST, port=self.port, user=SUPERUSER, dbname=database, **kwargs)

    def create_database(self, name: str) -> str:
        """CREATE DATABASE `name` (UTF-8, from template0); its DATABASE_URL."""
        with self.connect("postgres") as admin:
            admin.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                    sql.Identifier(name)
                )
            )
        return self.url(name)

    def terminate_backends(self, database: str, *, wait: float = 5) -> int:
        """pg_terminate_backend every client connection to `database` but the admin one this
        makes, then wait (up to `wait` seconds) until they are gone: how many were cut."""
        with self.connect("postgres") as admin:
            # In the select list, not the WHERE clause: the planner may not reorder it before
            # the filters, which would cut connections to other databases too.
            signalled = admin.execute(
                "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND backend_type = 'client backend'"
                " AND pid <> pg_backend_pid()",
                (database,),
            ).fetchall()
            pids = [pid for pid, cut in signalled if cut]
            # All at once: pg_terminate_backend's own timeout waits for one after the other,
            # in steps of 100 ms. Autocommit, so each query sees the activity afresh.
            deadline = time.monotonic() + wait
            query = "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)"
            while pids and time.monotonic() < deadline:
                row = admin.execute(query, (pids,)).fetchone()
                if not row or row[0] == 0:
                    break
                time.sleep(0.01)
        return len(pids)


def reap_stale_clusters(parent: Path | None = None, prefix: str = PREFIX) -> list[Path]:
    """Stop and delete the `parent`/`prefix`*/ clusters (cluster/data inside, an owner.pid next
    to it) whose owner process is gone, as a crash run that was SIGKILLed leaves them: the
    folders removed. Only ours (same uid) are touched."""
    as_server_user = server_user_prefix()
    bindir = find_pg_bin()
    reaped: list[Path] = []
    for folder in (parent or state_parent()).glob(f"{prefix}*"):
        try:
            info = folder.lstat()
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            continue
        try:
            owner: int | None = int((folder / "owner.pid").read_text().strip())
        except (OSError, ValueError):
            owner = None
        if owner is not None and pid_alive(owner):
            continue
        if owner is None and time.time() - info.st_mtime < STALE_WITHOUT_OWNER_SECONDS:
            continue  # possibly one being created right now
        data = folder / "cluster" / "data"
        if (data / "postmaster.pid").exists() and as_server_user is not None and bindir:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(
                    [
                        *as_server_user,
                        str(bindir / "pg_ctl"),
                        "stop",
                        "-D",
                        str(data),
                        "-m",
                        "immediate",
                    ],
                    cwd="/",
                    capture_output=True,
                    timeout=60,
                    check=False,
                )
        shutil.rmtree(folder, ignore_errors=True)
        reaped.append(folder)
    return reaped
