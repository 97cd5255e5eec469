"""Run the database-dependent tests against a throwaway PostgreSQL server.

``pytest --db=postgresql`` starts a private PostgreSQL cluster (through pytest-postgresql's
``PostgreSQLExecutor``) on a free port of 127.0.0.1 with trust auth, points Django's
``DATABASES["default"]`` at it, keeps only tests marked ``@pytest.mark.db_dependent`` and
stops the server when the session ends. ``--db=sqlite`` (the default) changes nothing.

PostgreSQL refuses to run as root, and tests/CI run as root: then every ``pg_ctl`` call goes
through a generated wrapper that re-executes it as the ``postgres`` system user (setpriv, or
runuser as a fallback). The cluster lives in /tmp/assay-pg-*/ rather than in pytest's tmp
dir, because /tmp/pytest-of-root is 0700 and the postgres user could not reach it.

Load it from tests/conftest.py with ``pytest_plugins = ["tests.postgres_plugin"]``.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import logging
import os
import pwd
import re
import shlex
import shutil
import stat
import subprocess
import tempfile
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# Running a program as the postgres user when we are root: the crash tester's private server
# does it the same way (one implementation, crashtest/harness/postgres_server.py).
from crashtest.harness.postgres_server import server_user_prefix as _run_as_server_user_prefix

if TYPE_CHECKING:
    from pytest_postgresql.executors import PostgreSQLExecutor

DB_OPTION = "--db"
DB_CHOICES = ("sqlite", "postgresql")
MARKER = "db_dependent"
PG_ONLY_MARKER = "postgresql_only"
SERVER_OS_USER = "postgres"  # the Debian package's system user
DB_SUPERUSER = "postgres"  # cluster superuser created by initdb (trust auth, no password)
DB_NAME = "assay"  # Django then creates and drops "test_assay" itself
STATE_PREFIX = "assay-pg-"
STALE_WITHOUT_OWNER_SECONDS = 3600
START_ATTEMPTS = 3  # a free port can be taken by someone else before postgres binds it
# Speed over durability: the cluster is thrown away at the end of the session.
SERVER_OPTIONS = "-c listen_addresses=127.0.0.1 -c synchronous_commit=off -c full_page_writes=off"

_log = logging.getLogger(__name__)
_unavailable_key = pytest.StashKey[str | None]()
_pg_ctl_key = pytest.StashKey[str | None]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        DB_OPTION,
        action="store",
        choices=DB_CHOICES,
        default="sqlite",
        help=(
            "Database backend for the test run. 'postgresql' starts a throwaway PostgreSQL "
            f"server and runs only tests marked @pytest.mark.{MARKER} (default: sqlite)."
        ),
    )


def _is_postgresql(config: pytest.Config) -> bool:
    return config.getoption(DB_OPTION, default="sqlite") == "postgresql"


def _running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


# --- locating PostgreSQL -------------------------------------------------------------------


def _version_key(path: str) -> tuple[int, ...]:
    """Sort key for /usr/lib/postgresql/<version>/bin so that 15 > 9.6."""
    match = re.search(r"/postgresql/([\d.]+)/bin", path)
    return tuple(int(p) for p in match.group(1).split(".") if p) if match else (0,)


def _has_server_binaries(pg_ctl: str) -> bool:
    """pg_ctl runs initdb and postgres from its own directory (after resolving symlinks)."""
    bindir = Path(os.path.realpath(pg_ctl)).parent
    return all(os.access(bindir / name, os.X_OK) for name in ("pg_ctl", "initdb", "postgres"))


def find_pg_ctl(explicit: str | None = None) -> str | None:
    """Return a pg_ctl whose initdb/postgres siblings exist, or None."""
    candidates: list[str] = []
    if explicit:
        candidates.append(explicit)
    if found := shutil.which("pg_ctl"):
        candidates.append(found)
    if shutil.which("pg_config"):
        try:
            bindir = subprocess.run(
                ["pg_config", "--bindir"], capture_output=True, text=True, timeout=30, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            bindir = ""
        if bindir:
            candidates.append(os.path.join(bindir, "pg_ctl"))
    # Debian keeps the server binaries off PATH; prefer the newest major version.
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version_key)[::-1]
    for candidate in candidates:
        if os.path.isfile(candidate) and _has_server_binaries(candidate):
            return os.path.realpath(candidate)
    return None


def _unavailable_reason(config: pytest.Config) -> str | None:
    """Why a PostgreSQL session cannot be started here, or None when it can."""
    hint = "run scripts/ensure-services.sh (Debian package 'postgresql') or pass --postgresql-exec"
    if config.stash[_pg_ctl_key] is None:
        return f"PostgreSQL server binaries (pg_ctl, initdb, postgres) not found: {hint}"
    if _run_as_server_user_prefix() is None:
        return (
            f"running as root but cannot drop to the '{SERVER_OS_USER}' user "
            "(user missing, or neither setpriv nor runuser found)"
        )
    for module, package in (("pytest_postgresql", "pytest-postgresql"), ("psycopg", "psycopg")):
        if importlib.util.find_spec(module) is None:
            return f"Python package '{package}' is not installed"
    return None


# --- databases on the server -------------------------------------------------------------------


@contextlib.contextmanager
def server_database(request: pytest.FixtureRequest, name: str) -> Iterator[str]:
    """A new database ``name`` (UTF-8, from template0) on the session's server, for a test that
    needs the server itself (marked postgresql_only): its conninfo; dropped afterwards."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    proc = request.getfixturevalue("assay_postgresql_proc")
    server = {"host": proc.host, "port": proc.port, "user": proc.user}
    admin_info = make_conninfo(**server, dbname="postgres")
    ident = sql.Identifier(name)
    with psycopg.connect(admin_info, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(ident)
        )
    try:
        yield make_conninfo(**server, dbname=name)
    finally:
        with psycopg.connect(admin_info, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))


# --- pytest hooks ----------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}: exercises the database backend; the only tests `{DB_OPTION}=postgresql` runs",
    )
    config.addinivalue_line(
        "markers",
        f"{PG_ONLY_MARKER}: needs the PostgreSQL server itself; left out of the SQLite pass",
    )
    config.stash[_pg_ctl_key] = None
    config.stash[_unavailable_key] = None
    if not _is_postgresql(config):
        return
    explicit = config.getoption("postgresql_exec", default=None)
    config.stash[_pg_ctl_key] = find_pg_ctl(explicit)
    reason = _unavailable_reason(config)
    config.stash[_unavailable_key] = reason
    if reason is not None and _running_in_ci():
        pytest.exit(f"{DB_OPTION}=postgresql under CI=true: {reason}", returncode=1)
    # Registered now, i.e. after pytest-django's entry point, so these fixtures win over
    # pytest-django's even when this module itself was loaded early with `-p`.
    config.pluginmanager.register(_postgresql_fixtures_plugin(), "assay-postgresql-fixtures")


def pytest_report_header(config: pytest.Config) -> str | None:
    if not _is_postgresql(config):
        return None
    reason = config.stash.get(_unavailable_key, None)
    if reason is not None:
        return f"database: postgresql UNAVAILABLE ({reason})"
    user = SERVER_OS_USER if os.geteuid() == 0 else f"uid {os.geteuid()}"
    return f"database: postgresql via {config.stash[_pg_ctl_key]} (server runs as {user})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _is_postgresql(config):
        # Cases that exist only for PostgreSQL (a raw server connection) are the other pass's.
        only_pg = [item for item in items if item.get_closest_marker(PG_ONLY_MARKER)]
        if only_pg:
            config.hook.pytest_deselected(items=only_pg)
            items[:] = [item for item in items if not item.get_closest_marker(PG_ONLY_MARKER)]
        return
    selected = [item for item in items if item.get_closest_marker(MARKER) is not None]
    deselected = [item for item in items if item.get_closest_marker(MARKER) is None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected
    reason = config.stash.get(_unavailable_key, None)
    if reason is not None:
        skip = pytest.mark.skip(reason=f"{DB_OPTION}=postgresql: {reason}")
        for item in selected:
            item.add_marker(skip)


# --- server lifecycle ------------------------------------------------------------------------


def _state_parent() -> Path:
    # As root the postgres user must be able to traverse it: a private TMPDIR might not be.
    return Path("/tmp") if os.geteuid() == 0 else Path(tempfile.gettempdir())


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap_stale_clusters(parent: Path, wrapper: Path) -> None:
    """Stop and delete clusters left by sessions that died without their finalizers."""
    for state in parent.glob(f"{STATE_PREFIX}*"):
        try:
            info = state.lstat()
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            continue
        try:
            owner: int | None = int((state / "owner.pid").read_text().strip())
        except (OSError, ValueError):
            owner = None
        if owner is not None and _pid_alive(owner):
            continue
        if owner is None and time.time() - info.st_mtime < STALE_WITHOUT_OWNER_SECONDS:
            continue  # possibly a session that is starting right now
        data = state / "cluster" / "data"
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [str(wrapper), "stop", "-D", str(data), "-m", "immediate"],
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(state, ignore_errors=True)


def _make_state_dir(pg_ctl: str) -> tuple[Path, Path, Path]:
    """Create /tmp/assay-pg-*/ with the pg_ctl wrapper and a postgres-owned cluster dir.

    The top directory and the wrapper stay root-owned so the postgres user cannot swap
    the program that root executes; only cluster/ (data, socket, log) belongs to postgres.
    """
    prefix = _run_as_server_user_prefix()
    assert prefix is not None  # checked in pytest_configure
    state = Path(tempfile.mkdtemp(prefix=STATE_PREFIX, dir=_state_parent()))
    (state / "owner.pid").write_text(f"{os.getpid()}\n")
    state.chmod(0o711)
    cluster = state / "cluster"
    (cluster / "sock").mkdir(parents=True, mode=0o700)
    if os.geteuid() == 0:
        server_user = pwd.getpwnam(SERVER_OS_USER)
        for path in (cluster, cluster / "sock"):
            os.chown(path, server_user.pw_uid, server_user.pw_gid)
    wrapper = state / "pg_ctl"
    command = " ".join(shlex.quote(part) for part in [*prefix, pg_ctl])
    # cd /: the caller's cwd (e.g. the repo under /root) may be unreadable for postgres.
    wrapper.write_text(
        "#!/bin/sh\n"
        "# Generated by tests/postgres_plugin.py: pg_ctl refuses to run as root.\n"
        "cd / || exit 1\n"
        f'exec {command} "$@"\n'
    )
    wrapper.chmod(0o755)
    return state, cluster, wrapper


def _log_tail(logfile: str, lines: int = 30) -> str:
    try:
        return "\n".join(Path(logfile).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def _start_server(cluster: Path, wrapper: Path) -> PostgreSQLExecutor:
    from port_for import get_port
    from pytest_postgresql.executors import PostgreSQLExecutor

    errors: list[str] = []
    for attempt in range(1, START_ATTEMPTS + 1):
        port = get_port(None)
        assert port is not None
        executor = PostgreSQLExecutor(
            executable=str(wrapper),
            host="127.0.0.1",
            port=port,
            datadir=str(cluster / "data"),
            unixsocketdir=str(cluster / "sock"),
            logfile=str(cluster / f"postgresql.{attempt}.log"),
            startparams="-w",
            dbname=DB_NAME,
            user=DB_SUPERUSER,
            password=None,
            postgres_options=SERVER_OPTIONS,
            timeout=120,
        )
        try:
            executor.start()  # initdb (as postgres) + pg_ctl start -w + wait for the TCP port
            return executor
        except Exception as exc:  # retried, then reported together with the server log
            log = _log_tail(executor.logfile)
            errors.append(f"attempt {attempt} (port {port}): {type(exc).__name__}: {exc}\n{log}")
            _stop_quietly(executor)
            shutil.rmtree(cluster / "data", ignore_errors=True)
    raise RuntimeError("could not start PostgreSQL:\n" + "\n\n".join(errors))


def _stop_quietly(executor: PostgreSQLExecutor) -> None:
    try:
        if executor.running():
            executor.stop()
    except Exception:  # best effort: the caller checks running() or retries
        _log.warning("could not stop PostgreSQL in %s", executor.datadir, exc_info=True)


def _point_django_at(executor: PostgreSQLExecutor) -> None:
    """Make DATABASES["default"] (and the live connection handler) use the server."""
    from django.conf import settings
    from django.db import connections

    targets = [settings.DATABASES["default"]]
    # Both normally share one dict; cover a handler that was configured from a copy.
    if connections.settings["default"] is not targets[0]:
        targets.append(connections.settings["default"])
    for db in targets:
        db.update(
            ENGINE="django.db.backends.postgresql",
            NAME=DB_NAME,
            USER=executor.user,
            PASSWORD=executor.password or "",
            HOST=executor.host,
            PORT=str(executor.port),
            OPTIONS={},  # SQLite options (timeout, init_command...) mean nothing to psycopg
        )
        # NAME None -> test_<NAME>; the xdist/tox suffix fixtures run after this.
        db["TEST"] = {**db.get("TEST", {}), "NAME": None}
    # A connection object created earlier would still be a SQLite DatabaseWrapper.
    if any(conn.alias == "default" for conn in connections.all(initialized_only=True)):
        connections["default"].close()
        del connections["default"]


def _assay_postgresql_proc(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The running PostgreSQLExecutor; stopped and deleted at the end of the session."""
    reason = request.config.stash.get(_unavailable_key, None)
    if reason is not None:
        pytest.skip(f"{DB_OPTION}=postgresql: {reason}")
    pg_ctl = request.config.stash[_pg_ctl_key]
    assert pg_ctl is not None
    state, cluster, wrapper = _make_state_dir(pg_ctl)
    executor: PostgreSQLExecutor | None = None
    try:
        _reap_stale_clusters(state.parent, wrapper)
        executor = _start_server(cluster, wrapper)
        yield executor
    finally:
        if executor is not None:
            _stop_quietly(executor)  # pg_ctl stop -m fast, then mirakuru reaps pg_ctl
        if executor is not None and executor.running():
            # Never delete a live cluster; the next session's reaper retries.
            pytest.fail(f"PostgreSQL in {state} did not stop", pytrace=False)
        shutil.rmtree(state, ignore_errors=True)


def _django_db_modify_db_settings(
    request: pytest.FixtureRequest, assay_postgresql_proc: Any
) -> None:
    """Override pytest-django's hook fixture: run the test databases on our server."""
    _point_django_at(assay_postgresql_proc)
    # pytest-django's own version depends on this; it must run after NAME is set.
    request.getfixturevalue("django_db_modify_db_settings_parallel_suffix")


def _postgresql_fixtures_plugin() -> types.ModuleType:
    """A plugin holding the --db=postgresql fixtures.

    Kept off this module's namespace so that a --db=sqlite run keeps pytest-django's
    fixtures untouched (a module plugin's decorated functions are always registered).
    """
    holder = types.ModuleType(f"{__name__}.postgresql_fixtures")
    session_fixture = pytest.fixture(scope="session")
    vars(holder).update(
        assay_postgresql_proc=session_fixture(_assay_postgresql_proc),
        django_db_modify_db_settings=session_fixture(_django_db_modify_db_settings),
    )
    return holder
