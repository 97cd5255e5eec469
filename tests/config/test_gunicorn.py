"""config/gunicorn.conf.py: the site served for real, as README "Serving for real" says: a
migrated SQLite database, collectstatic, then real gunicorn with the repository's config and
DEBUG off, serving pages, the API, /healthz and the static files (WhiteNoise), until SIGTERM."""

from __future__ import annotations

import gzip
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, **headers: str):
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (our server)
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (our server)
        return response.status, dict(response.headers), response.read()


@pytest.fixture
def production_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a real server: no development or test switch, a SECRET_KEY, DEBUG
    off, everything under tmp_path."""
    env = {k: v for k, v in os.environ.items() if k not in ("ASSAY_DEV", "PYTEST_VERSION")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(
        ASSAY_VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'assay.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
        SECRET_KEY="a-real-secret-for-this-test-only-0123456789",
        ALLOWED_HOSTS="127.0.0.1",
        DEBUG="false",
    )
    return env


def test_gunicorn_serves_the_site_with_its_static_files(production_env, tmp_path):
    env = production_env
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "--no-input"], ["collectstatic", "--no-input"]):
        subprocess.run([*manage, *command], cwd=ROOT, env=env, check=True, capture_output=True)
    assert (tmp_path / "static" / "assay.css.gz").exists()

    port = free_port()
    env.update(ASSAY_WEB_BIND=f"127.0.0.1:{port}", ASSAY_WEB_WORKERS="2")
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a bound against hanging, not a speed test
        while True:  # until it answers (or dies)
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            try:
                status, _, body = get(f"{base}/healthz")
                break
            except OSError:
                time.sleep(0.2)
        assert status == 200 and b'"ok"' in body

        status, headers, body = get(f"{base}/")
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        status, headers, body = get(f"{base}/api/v1/runs/")
        assert status == 200 and headers["Content-Type"] == "application/json"
        assert b'"results"' in body

        # WhiteNoise: the collected file, and its compressed copy to who accepts it.
        css = (ROOT / "static" / "assay.css").read_bytes()
        status, headers, body = get(f"{base}/static/assay.css")
        assert status == 200 and body == css
        status, headers, body = get(f"{base}/static/assay.css", **{"Accept-Encoding": "gzip"})
        assert headers["Content-Encoding"] == "gzip" and gzip.decompress(body) == css
        # The API docs' page and the assets it loads (drf-spectacular-sidecar's).
        status, _, docs = get(f"{base}/api/docs/")
        assert status == 200
        asset = "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
        assert asset.encode() in docs
        assert get(f"{base}{asset}")[0] == 200
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
    assert code == 0
    text = log.read_text()
    assert '"GET /static/assay.css HTTP/1.1" 200' in text  # the access log, on stdout
    assert "Handling signal: term" in text


def test_gunicorn_refuses_to_serve_without_a_secret_key_even_on_the_defaults(tmp_path):
    """A checkout's embedded defaults make a development key under var/ for `make run` and the
    commands; gunicorn is production (its config sets ASSAY_ENV), so it stops naming the
    variable instead of serving with a key nobody chose."""
    drop = ("ASSAY_DEV", "PYTEST_VERSION", "SECRET_KEY", "DATABASE_URL", "DEBUG", "ASSAY_ENV")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(ASSAY_VAR_DIR=str(tmp_path / "var"), ASSAY_WEB_BIND=f"127.0.0.1:{free_port()}")
    gunicorn = Path(sys.executable).parent / "gunicorn"
    proc = subprocess.run(
        [str(gunicorn), "-c", "config/gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "SECRET_KEY is not set: production needs its own" in proc.stdout + proc.stderr
    assert not (tmp_path / "var" / "dev-secret-key").exists()
