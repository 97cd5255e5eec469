"""config/wsgi.py: a fresh server process answers its first API request without loading the
libraries only datagen and querygen use (their admin, tasks and URLs load at start-up)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HEAVY = ("numpy", "pyarrow", "sqlglot", "duckdb")

# The first requests of a CI job: the import (refused here: no token) and a read.
SCRIPT = """
import io, json, sys
from wsgiref.util import setup_testing_defaults
from config.wsgi import application

def call(method, path):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO(b"")}
    setup_testing_defaults(environ)
    answer = []
    body = b"".join(application(environ, lambda status, headers: answer.append(status)))
    return int(answer[0].split()[0])

statuses = [call("POST", "/api/v1/imports/"), call("GET", "/api/v1/runs/")]
print(json.dumps({"statuses": statuses, "loaded": [m for m in HEAVY if m in sys.modules]}))
"""


def test_the_first_api_request_loads_none_of_the_heavy_libraries(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(ASSAY_DEV="1", ASSAY_VAR_DIR=str(tmp_path / "var"),
               DATABASE_URL=f"sqlite:///{tmp_path / 'assay.sqlite3'}")  # fmt: skip
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    done = subprocess.run([sys.executable, "-c", f"HEAVY = {HEAVY!r}\n{SCRIPT}"], cwd=ROOT,
                          env=env, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.splitlines()[-1])
    assert answer == {"statuses": [401, 200], "loaded": []}
