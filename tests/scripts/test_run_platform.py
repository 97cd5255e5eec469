"""scripts/run_platform.py, as `make run` starts it: a real make in a real terminal (a pty), a
throwaway var/ directory, the demos, the web server and the workers; then the README's commands
from another shell, and Ctrl-C typed into the terminal."""

import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import termios
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
GUARD = 600  # seconds: set-up loads every demo; a hang fails instead of blocking the suite


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _newcomer_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """A shell of someone who cloned the repository: none of the tests' or a server's switches."""
    dropped = ("PYTEST_VERSION", "ASSAY_DEV", "SECRET_KEY", "DATABASE_URL", "ASSAY_BASE_URL",
               "DEBUG", "ASSAY_ENV", "ASSAY_Q_REDIS_URL", "DJANGO_SETTINGS_MODULE")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("PYTEST")}
    return {**env, "ASSAY_VAR_DIR": str(var_dir), **extra}


class Terminal:
    """`make run` in a terminal of its own, read as a person would see it."""

    def __init__(self, args: list[str], env: dict[str, str]):
        self.master, slave = pty.openpty()

        def controlling_terminal():  # after setsid: the pty becomes make's terminal
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdin=slave, stdout=slave, stderr=slave,
            start_new_session=True, preexec_fn=controlling_terminal,
        )  # fmt: skip
        os.close(slave)
        self.seen = b""

    def read_until(self, pattern: bytes, seconds: float = GUARD) -> bytes:
        deadline = time.monotonic() + seconds
        while not re.search(pattern, self.seen) and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 1)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the terminal's last process is gone
                    break
                if not chunk:
                    break
                self.seen += chunk
        return self.seen

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()
        os.close(self.master)


def _processes_of(var_dir: Path) -> list[int]:
    """The processes started with this var/ directory in their environment."""
    mark = f"ASSAY_VAR_DIR={var_dir}".encode()
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if mark in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:  # gone, or another user's
            continue
    return found


def _kill_all(var_dir: Path) -> None:
    """Kill what is left of a `make run` (its servers have sessions of their own)."""
    for pid in _processes_of(var_dir):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _eventually_in(path: Path, text: str, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while text not in path.read_text():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip


def test_make_run_banner_readme_commands_and_ctrl_c(tmp_path):
    port = _free_port()
    var_dir = tmp_path / "var"
    env = _newcomer_env(var_dir, PORT=str(port))
    # make's own recipe, on the venv these tests run in (-o: not reinstalled into it)
    term = Terminal(["make", "-o", f"{VENV}/.installed", "run", f"VENV={VENV}"], env)
    try:
        seen = term.read_until(rb"Stop with Ctrl-C\.\r?\n=+\r?\n")
        assert term.proc.poll() is None, seen.decode(errors="replace")[-3000:]
        text = seen.decode(errors="replace").replace("\r\n", "\n")
        banner = text[text.rindex("Assay is running") :]
        url = f"http://127.0.0.1:{port}"
        password = (var_dir / "admin-password.txt").read_text().strip()
        assert f"Assay is running at {url}/" in banner
        assert f"Sign in as admin, password {password} (kept in {var_dir}/admin-password.txt)" in (
            banner
        )
        assert f"{url}/admin/" in banner and f"{var_dir}/logs/" in banner
        # The servers' chatter went to the logs, not between the set-up and the banner.
        workers_log = (var_dir / "logs" / "workers.log").read_text()
        assert "Q Cluster" in workers_log and "Q Cluster" not in text
        # runserver logs a request after answering it: the line may follow the banner closely.
        assert _eventually_in(var_dir / "logs" / "web.log", "GET /healthz")
        assert "Starting development server" not in text

        # The README's commands from another shell, as written: no ASSAY_DEV, no SECRET_KEY.
        shell = _newcomer_env(var_dir)
        token = _manage(shell, "create_ci_token", "ci-bot")
        assert token.returncode == 0, token.stderr
        key = token.stdout.strip()
        assert re.fullmatch(r"[0-9a-f]{40}", key)
        secret_file = var_dir / "dev-secret-key"
        assert secret_file.stat().st_mode & 0o777 == 0o600
        # the servers and the commands share the key kept under var/ (django-q signs tasks)
        assert "dev-secret-key" not in text and len(secret_file.read_text().strip()) > 40
        jobs = _manage(shell, "jobs")
        assert jobs.returncode == 0 and "datagen.Chunk" in jobs.stdout, jobs.stderr
        # the README's curl: the token imports into the running site
        junit = b'<testsuite name="s"><testcase classname="pkg" name="t"/></testsuite>'
        body = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"j.xml\"\r\n\r\n"
                + junit + b"\r\n--b\r\nContent-Disposition: form-data; name=\"run\"\r\n\r\n"
                b"ci_1\r\n--b--\r\n")  # fmt: skip
        request = urllib.request.Request(  # noqa: S310 (our own server)
            f"{url}/api/v1/imports/", data=body, method="POST",
            headers={"Authorization": f"Token {key}",
                     "Content-Type": "multipart/form-data; boundary=b"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 (our server)
            assert answer.status == 201
        # links follow PORT in a command run from another shell too
        links = _manage(shell, "diffsettings", "--all")
        assert f"ASSAY_BASE_URL = '{url}'" in links.stdout

        term.type(b"\x03")  # Ctrl-C
        seen = term.read_until(rb"Assay stopped\.")
        assert b"Stopping the web server and the workers" in seen
        assert term.proc.wait(timeout=60) == 0, seen.decode(errors="replace")[-2000:]
        assert b"Error" not in seen[seen.rindex(b"Assay is running") :]
        assert _processes_of(var_dir) == []  # no server, no worker process left behind
    finally:
        term.close()
        _kill_all(var_dir)  # a failed assertion must not leave make run's servers running
