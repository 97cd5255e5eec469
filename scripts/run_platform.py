"""`make run`: migrate, create an admin, load the demos on first start, then serve the web site
and a django-q cluster together until Ctrl-C.

Start-up ends with one banner (the address, the login and where its password is kept), printed
once the site answers and the workers run; the two servers write to var/logs/ so their chatter
does not scroll it away. Ctrl-C stops both and exits 0.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

WORKERS_UP = " running."  # django-q's "Q Cluster <name> running." once its workers are forked


def setup_env() -> dict[str, str]:
    """The set-up's commands say what they did; django-q's "Enqueued [assay] 7" is not news."""
    return {**os.environ, "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING")}


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=setup_env(), check=True)


def gate_demo() -> None:
    """The migration gate's demo: datagen loads the shop into the demo's source once, then the
    gate registers it and checks the example project's two branches (once)."""
    said = subprocess.run(
        [sys.executable, "manage.py", "gate", "demo-source"],
        cwd=ROOT, env=setup_env(), check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    if said[-1] == "empty":
        manage("datagen", "run", "migrations_gate/example/shop.yaml", "--load", said[0],
               "--format", "none", "--seed", "7", "--no-progress")  # fmt: skip
    manage("gate", "demo")


def admin_login(var_dir: Path) -> tuple[str, Path]:
    """Create `admin` once, with a random password kept in var/admin-password.txt."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    secret_file = var_dir / "admin-password.txt"
    user_model = get_user_model()
    if not user_model.objects.filter(username="admin").exists():
        password = secrets.token_urlsafe(12)
        user_model.objects.create_superuser("admin", "admin@localhost", password)
        secret_file.write_text(password + "\n")
        secret_file.chmod(0o600)
    return "admin", secret_file


def base_url(host: str, port: int) -> str:
    """Where links point: the address served (a wildcard address is reached as 127.0.0.1)."""
    if host in ("", "0.0.0.0", "::", "[::]"):  # noqa: S104 - naming it, not binding it
        host = "127.0.0.1"
    return f"http://{host}:{port}"


def port_is_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), port))
        except OSError:
            return False
    return True


def wait_until_up(url: str, web: subprocess.Popen, workers: subprocess.Popen,
                  workers_log: Path, log_start: int, seconds: float = 120) -> bool:  # fmt: skip
    """True once the site answers /healthz and the cluster says its workers run."""
    deadline = time.monotonic() + seconds
    site_up = workers_up = False
    while time.monotonic() < deadline and web.poll() is None and workers.poll() is None:
        if not site_up:
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 (our own URL)
                    site_up = resp.status == 200
            except OSError:
                pass
        if not workers_up:
            with workers_log.open("rb") as log:
                log.seek(log_start)
                workers_up = WORKERS_UP.encode() in log.read()
        if site_up and workers_up:
            return True
        time.sleep(0.3)
    return False


def shown(path: Path) -> str:
    """A path as a newcomer types it: relative to the checkout when inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def banner(url: str, user: str, password_file: Path, logs: Path) -> str:
    password = password_file.read_text().strip() if password_file.exists() else "(yours)"
    lines = [
        f"Assay is running at {url}/",
        f"Sign in as {user}, password {password} (kept in {shown(password_file)})",
        f"Admin {url}/admin/   API docs {url}/api/docs/",
        "A CI token: .venv/bin/python manage.py create_ci_token ci-bot",
        f"Logs of the web server and the workers: {shown(logs)}/",
        "Stop with Ctrl-C.",
    ]
    rule = "=" * max(len(line) for line in lines)
    return "\n".join(["", rule, *lines, rule, ""])


@contextlib.contextmanager
def terminal_of_our_own():
    """Ctrl-C for us and our servers only, not for `make`: GNU make kills itself with a SIGINT
    it receives (exit 130) whatever its recipe returns. A process group of our own in the
    terminal's foreground, as a shell's job control does, lets `make run` end with our 0."""
    try:
        tty = os.open("/dev/tty", os.O_RDWR)
    except OSError:  # no terminal (a service, a test's pipes): nothing to take
        yield
        return
    old_ttou = signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # else a background group stops
    previous = None
    with contextlib.suppress(OSError):
        # In the foreground but not our group's leader: under make, in make's group.
        if os.tcgetpgrp(tty) == os.getpgrp() != os.getpid():
            previous = os.getpgrp()
            os.setpgid(0, 0)
            try:
                os.tcsetpgrp(tty, os.getpgrp())
            except OSError:
                os.setpgid(0, previous)  # back in make's group: its Ctrl-C reaches us
                previous = None
    # Ctrl-Z would stop our group but not make, and the shell would wait on make for ever;
    # ignored, and so by our servers too (an ignored signal stays ignored across exec).
    old_tstp = signal.signal(signal.SIGTSTP, signal.SIG_IGN) if previous is not None else None
    try:
        yield
    finally:
        if previous is not None:
            with contextlib.suppress(OSError):
                os.tcsetpgrp(tty, previous)
            signal.signal(signal.SIGTSTP, old_tstp)
        signal.signal(signal.SIGTTOU, old_ttou)
        os.close(tty)


def stop_servers(procs: list[subprocess.Popen], seconds: float = 30) -> None:
    """Each server runs in a process group of its own (so the terminal's Ctrl-C reaches only
    us): SIGTERM, on which the cluster hands its running job back within seconds
    (docs/operations.md); then whatever is left of each group (a worker process whose cluster
    was killed would live on, orphaned) is killed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave orphans
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + seconds
    for p in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def serve(host: str, port: int) -> int:
    from django.conf import settings

    url = base_url(host, port)
    var_dir = Path(settings.VAR_DIR)
    var_dir.mkdir(parents=True, exist_ok=True)
    # Links (e-mails, querygen's records) follow the address served, in our servers through
    # the environment and in commands run from another shell through var/base-url.
    os.environ.setdefault("ASSAY_BASE_URL", url)
    (var_dir / "base-url").write_text(os.environ["ASSAY_BASE_URL"] + "\n")
    manage("migrate", "--no-input", "-v", "0")
    manage("collectstatic", "--no-input", "-v", "0")
    manage("load_demo")
    manage("datagen", "demo")
    manage("querygen", "demo")  # DuckDB vs SQLite, run again and again by the cluster
    gate_demo()  # the example shop's migrations, checked on datagen's data
    user, password_file = admin_login(var_dir)

    logs = var_dir / "logs"
    logs.mkdir(exist_ok=True)
    web_log, workers_log = logs / "web.log", logs / "workers.log"
    workers_log.touch()
    log_start = workers_log.stat().st_size
    with web_log.open("ab") as web_out, workers_log.open("ab") as workers_out:
        web = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"{host}:{port}"],
            cwd=ROOT, stdout=web_out, stderr=subprocess.STDOUT, process_group=0,
        )  # fmt: skip
        workers = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT, stdout=workers_out, stderr=subprocess.STDOUT, process_group=0,
        )  # fmt: skip
    procs = [web, workers]
    try:
        if wait_until_up(f"{url}/healthz", web, workers, workers_log, log_start):
            print(banner(url, user, password_file, logs), flush=True)
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        died = next(p for p in procs if p.poll() is not None)
        name, log = ("web server", web_log) if died is web else ("workers", workers_log)
        print(f"make run: the {name} stopped (exit {died.returncode}); see {shown(log)}",
              file=sys.stderr)  # fmt: skip
        return died.returncode or 1
    except KeyboardInterrupt:
        print("\nStopping the web server and the workers (a job under way is handed back)...",
              flush=True)  # fmt: skip
        raise
    finally:
        stop_servers(procs)


def main() -> int:
    host, raw_port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
    if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
        print(f"make run: PORT={raw_port!r} is not a port number", file=sys.stderr)
        return 2
    port = int(raw_port)
    if not port_is_free(host, port):
        print(f"make run: {host}:{port} is in use; try another port: PORT={port + 1} make run",
              file=sys.stderr)  # fmt: skip
        return 1

    def stop(signum, frame):  # SIGTERM (a service manager, kill) stops as Ctrl-C does
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    # Ctrl-C is how make run stops, even when started with SIGINT ignored (a shell without job
    # control ignores it in what it starts in the background); a handler, unlike an ignore, is
    # not inherited by the set-up's commands.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with terminal_of_our_own():
        try:
            return serve(host, port)
        except KeyboardInterrupt:
            print("\nAssay stopped.", flush=True)
            return 0
        except subprocess.CalledProcessError as exc:
            print(f"make run: `{' '.join(exc.cmd[1:])}` failed (exit {exc.returncode}); "
                  "see its message above", file=sys.stderr)  # fmt: skip
            return 1


if __name__ == "__main__":
    sys.exit(main())
