"""A throwaway Assay site: a temp folder with its own SQLite database, the environment that
points the app into that folder, `manage.py` calls on it and long-lived `manage.py` processes
(qcluster, shell scripts) started on it, each with a log file and its own process group.

Shared by the crash tester (crashtest), the benchmarks (benchmarks/datagen.py) and the tests
that need real processes (tests/datagen/test_tasks.py), so all drive the app the same way. A
plain module: it imports no Django, everything Django runs in the subprocesses.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_MODULE = "throwaway_settings"


def free_port() -> int:
    """A TCP port of 127.0.0.1 free right now (the OS picks it)."""
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, deadline: float, process: subprocess.Popen | None = None) -> None:
    """Wait (until time.monotonic() `deadline`) for `url` to answer at all (any status).
    RuntimeError if `process` dies first or the deadline passes."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our own loopback URL)
                return
        except urllib.error.HTTPError:
            return  # it answered
        except (OSError, urllib.error.URLError):
            pass
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer in time")
        time.sleep(0.1)


class ThrowawaySite:
    """The site in `folder`: its environment and the processes started on it, by name.

    Each process gets a session (and so a process group) of its own: killing the group ends a
    qcluster and every worker it forked, which killing the leader alone would not.
    """

    def __init__(
        self,
        folder: Path,
        *,
        workers: int = 1,
        extra_env: dict[str, str] | None = None,
        q_cluster: dict[str, object] | None = None,
        manage_timeout: float = 120,
        root: Path = ROOT,
    ) -> None:
        """`workers` is ASSAY_Q_WORKERS; `extra_env` is applied last; `q_cluster` overrides
        Q_CLUSTER keys the environment cannot set, through a settings module in the folder."""
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.root = root
        self.db = folder / "site.sqlite3"
        self.manage_timeout = manage_timeout
        self.processes: dict[str, subprocess.Popen] = {}
        # No Redis: the site uses django-q's ORM broker on its own database.
        env = {k: v for k, v in os.environ.items() if k != "ASSAY_Q_REDIS_URL"}
        env["DJANGO_SETTINGS_MODULE"] = "config.settings"
        if q_cluster:
            (folder / f"{SETTINGS_MODULE}.py").write_text(
                "from config.settings import *  # noqa: F403\n"
                f"Q_CLUSTER = {{**Q_CLUSTER, **{q_cluster!r}}}  # noqa: F405\n"
            )
            env["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
            env["PYTHONPATH"] = os.pathsep.join([str(folder), str(root)])
        env.update(
            {
                "DATABASE_URL": f"sqlite:///{self.db}",
                "ASSAY_VAR_DIR": str(folder / "var"),
                "MEDIA_ROOT": str(folder / "media"),
                "ASSAY_DATAGEN_ROOT": str(folder / "datagen"),
                "DEBUG": "true",
                "ASSAY_Q_WORKERS": str(workers),
                **(extra_env or {}),
            }
        )
        self.env = env

    def _command(self, args: tuple[str, ...]) -> list[str]:
        return [sys.executable, str(self.root / "manage.py"), *args]

    def manage(self, *args: str) -> str:
        """Run `manage.py args` to the end; its stdout. RuntimeError (with stdout and stderr)
        when it fails, so the caller sees why."""
        done = subprocess.run(
            self._command(args),
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=self.manage_timeout,
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def migrate(self) -> None:
        """Create the site's database: a fresh SQLite file, every migration applied."""
        self.manage("migrate", "--no-input")

    def start(self, name: str, *args: str, append: bool = False) -> subprocess.Popen:
        """Start `manage.py args` in its own session, output (both streams) to `name`.log
        (added to the end of it with `append`: a restarted process keeps its earlier lives)."""
        with open(self.log_path(name), "ab" if append else "wb") as log:
            process = subprocess.Popen(
                self._command(args),
                cwd=self.root,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = process
        return process

    def start_web(self, name: str, port: int, deadline: float) -> str:
        """Start the site's web server (`runserver`, threaded, no autoreload) on `port` as
        process `name`, wait until it answers; its base URL."""
        self.start(name, "runserver", "--noreload", f"127.0.0.1:{port}")
        url = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{url}/healthz", deadline, self.processes[name])
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n{self.log(name)[-3000:]}") from None
        return url

    def log_path(self, name: str) -> Path:
        return self.folder / f"{name}.log"

    def log(self, name: str) -> str:
        """What the process `name` has written so far ("" before it wrote anything)."""
        path = self.log_path(name)
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        """The tail of every process's log, for an error message."""
        return "\n".join(f"--- {n}.log ---\n{self.log(n)[-3000:]}" for n in self.processes)

    def wait_running(self, name: str, deadline: float) -> None:
        """Wait (until time.monotonic() `deadline`) for qcluster `name` to log " running.":
        its workers are up and polling. RuntimeError if it dies or the deadline passes."""
        while " running." not in self.log(name):
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} died:\n{self.log(name)[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{self.log(name)[-3000:]}")
            time.sleep(0.1)

    def _signal_group(self, name: str, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.processes[name].pid, signum)

    def pause(self, paused: bool, *names: str) -> None:
        """Freeze (SIGSTOP) or thaw (SIGCONT) the process groups of `names`, all without: a
        frozen cluster takes no CPU and polls nothing, and is still mid-task when looked at."""
        for name in names or list(self.processes):
            self._signal_group(name, signal.SIGSTOP if paused else signal.SIGCONT)

    def kill(self, name: str) -> None:
        """SIGKILL the whole group of `name`: a crash, nothing gets to clean up."""
        self._signal_group(name, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.processes[name].wait(timeout=10)

    def kill_all(self) -> None:
        for name in self.processes:
            self.kill(name)

    def stop(self, name: str) -> None:
        """Stop `name` cleanly if it will: thaw it, TERM the leader (qcluster stops its
        workers), then KILL whatever is left of its group."""
        # The process as it is now, all through: a restart meanwhile is another life.
        process = self.processes[name]

        def signal_group(signum: int) -> None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signum)

        signal_group(signal.SIGCONT)
        with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
            process.terminate()
            process.wait(timeout=15)
        signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)

    def stop_all(self) -> None:
        for name in self.processes:
            self.stop(name)
