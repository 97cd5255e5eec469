"""`make run`: migrate, create an admin, load the demos on first start, then serve the web site
and a django-q cluster together until Ctrl-C."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True)


def gate_demo() -> None:
    """The migration gate's demo: datagen loads the shop into the demo's source once, then the
    gate registers it and checks the example project's two branches (once)."""
    said = subprocess.run(
        [sys.executable, "manage.py", "gate", "demo-source"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    if said[-1] == "empty":
        manage("datagen", "run", "migrations_gate/example/shop.yaml", "--load", said[0],
               "--format", "none", "--seed", "7", "--no-progress")  # fmt: skip
    manage("gate", "demo")


def admin_login() -> tuple[str, str]:
    """Create `admin` once, with a random password kept in var/ (printed at every start)."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model

    secret_file = Path(settings.VAR_DIR) / "admin-password.txt"
    user_model = get_user_model()
    if not user_model.objects.filter(username="admin").exists():
        password = secrets.token_urlsafe(12)
        user_model.objects.create_superuser("admin", "admin@localhost", password)
        secret_file.write_text(password + "\n")
        secret_file.chmod(0o600)
    password = secret_file.read_text().strip() if secret_file.exists() else "(set by you)"
    return "admin", password


def wait_healthy(url: str, proc: subprocess.Popen, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 (our own URL)
                return resp.status == 200
        except OSError:
            time.sleep(0.3)
    return False


def main() -> int:
    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
    # Links in reports and e-mails point where the site is served (make run PORT=...)
    os.environ.setdefault("ASSAY_BASE_URL", f"http://{host}:{port}")
    manage("migrate", "--no-input", "-v", "0")
    manage("collectstatic", "--no-input", "-v", "0")
    manage("load_demo")
    manage("datagen", "demo")
    manage("querygen", "demo")  # DuckDB vs SQLite, run again and again by the cluster
    gate_demo()  # the example shop's migrations, checked on datagen's data
    user, password = admin_login()
    procs = [
        subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"{host}:{port}"], cwd=ROOT
        ),
        subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT),
    ]
    url = f"http://{host}:{port}/"
    try:
        if wait_healthy(url + "healthz", procs[0]):
            print(f"\nAssay is running at {url}  (admin: {url}admin/  user {user}, "
                  f"password {password})\nAPI docs: {url}api/docs/   Stop with Ctrl-C.\n",
                  flush=True)  # fmt: skip
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        return next(p.returncode for p in procs if p.poll() is not None) or 1
    except KeyboardInterrupt:
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    sys.exit(main())
