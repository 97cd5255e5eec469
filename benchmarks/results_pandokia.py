"""Benchmark: a CI job's import as a whole process, against Pandokia's `pdk import`.

    python benchmarks/results_pandokia.py [--records 20500] [--repeats 5] [--pdk PATH]

Times, as whole processes started from nothing (what a CI job pays):
  (a) `manage.py import_results` of a nightly Pandokia file of --records records into a fresh
      migrated SQLite database, against the anchor `pdk import` of the same file by Pandokia
      2.3.0 (--pdk or $PANDOKIA_PDK, else var/pandokia/bin/pdk as `make bench` installs it, else
      `pdk` on PATH) into a fresh Pandokia SQLite database. Goal: Assay at least 25x faster.
  (b) the same for a file of one record (start-up is everything). Goal: at most 0.5 s.
      Printed beside it: the floor of any Django command here, a process that only sets up
      Django with two of its own apps and runs one query (no Assay code at all).
  (c) the API's first request: gunicorn started with config/gunicorn.conf.py (one worker),
      and the one-record file posted to /api/v1/imports/ as soon as it answers /healthz.
      Goal: at most 0.5 s, as (b).
Prints the median of --repeats runs of each, with the load average next to them: on a busy
machine every figure is slower, the anchor too. Without Pandokia, (a)'s and (b)'s own
figures are printed alone.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_RATIO = 25.0
GOAL_SMALL_SECONDS = 0.5


def nightly_file(path: Path, records: int, seed: int = 7) -> None:
    """A nightly run as Pandokia's runners write it: defaults, then one record per test, a
    failure in twenty with a log, times and a few attributes."""
    rng = random.Random(seed)
    out = ["test_run=daily_2026-11-01", "project=assay", "host=ci-7", "context=default",
           "test_runner=pytest", "SETDEFAULT"]  # fmt: skip
    start = 1_793_500_000.0
    for n in range(records):
        status = "F" if rng.random() < 0.05 else "E" if rng.random() < 0.01 else "P"
        duration = rng.random() * 2
        out += [
            f"test_name=pkg{n % 40}/test_mod{n % 300}.TestCase.test_{n}",
            f"status={status}",
            f"start_time={start:.3f}",
            f"end_time={start + duration:.3f}",
            f"tda_param={n % 7}",
            f"tra_rows={rng.randrange(10_000)}",
        ]
        if status != "P":
            out += ["log:", ".Traceback (most recent call last):",
                    f'.  File "pkg{n % 40}/test_mod.py", line {n % 500}, in test_{n}',
                    f".AssertionError: expected {n} got {n + 1}", ""]  # fmt: skip
        out.append("END")
        start += duration
    path.write_text("\n".join(out) + "\n")


def whole_process(command: Sequence[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of the command. The CPU time suffers less from a busy
    machine than the wall time: both are printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return elapsed, cpu


class Assay:
    def __init__(self, work: Path):
        self.work = work
        self.template = work / "assay-template.sqlite3"
        self.env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        self.env.update(ASSAY_DEV="1", ASSAY_VAR_DIR=str(work / "var"))
        self._with_db(self.template)
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=self.env,
                       check=True)  # fmt: skip

    def _with_db(self, db: Path) -> None:
        self.env["DATABASE_URL"] = f"sqlite:///{db}"

    def import_once(self, file: Path, n: int) -> tuple[float, float]:
        db = self.work / f"assay-{n}.sqlite3"
        shutil.copy(self.template, db)
        self._with_db(db)
        command = [sys.executable, "manage.py", "import_results", "--no-progress", str(file)]
        return whole_process(command, self.env, ROOT)


class Pandokia:
    def __init__(self, pdk: str, work: Path):
        self.pdk = pdk
        self.work = work
        self.template = work / "pdk-template.db"
        self.env = dict(os.environ)
        self._with_db(self.template)
        site = subprocess.run(
            [str(Path(pdk).parent / "python"), "-c", "import pandokia, os; "
             "print(os.path.dirname(pandokia.__file__))"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        schema = Path(site) / "sql" / "sqlite.sql"
        subprocess.run([pdk, "sql", str(schema)], env=self.env, check=True, capture_output=True)

    def _with_db(self, db: Path) -> None:
        # Pandokia reads its configuration from the module PDK_CONFIG names.
        config = self.work / f"pdk_config_{db.stem}.py"
        config.write_text(
            "from pandokia.default_config import *  # noqa\n"
            "import pandokia.db_sqlite as dbd\n"
            f"db_arg = {str(db)!r}\n"
            "pdk_db = dbd.PandokiaDB(db_arg)\n"
        )
        self.env["PDK_CONFIG"] = str(config)

    def import_once(self, file: Path, n: int) -> tuple[float, float]:
        db = self.work / f"pdk-{n}.db"
        shutil.copy(self.template, db)
        self._with_db(db)
        return whole_process([self.pdk, "import", str(file)], self.env, self.work)


DJANGO_FLOOR = (
    "from django.conf import settings\n"
    "settings.configure(INSTALLED_APPS=['django.contrib.auth', 'django.contrib.contenttypes'],"
    " DATABASES={'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'}})\n"
    "import django\n"
    "django.setup()\n"
    "import django.core.management\n"
    "from django.db import connection\n"
    "connection.cursor().execute('SELECT 1')\n"
)


def django_floor(repeats: int) -> float:
    """Median wall seconds of a bare Django process (DJANGO_FLOOR), the same minutes."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    runs = [
        whole_process([sys.executable, "-c", DJANGO_FLOOR], env, ROOT)[0] for _ in range(repeats)
    ]
    return statistics.median(runs)


def api_first_request(work: Path, file: Path, repeats: int) -> float:
    """Median seconds of the first POST /api/v1/imports/ of `file` to a gunicorn just started
    on a copy of the migrated template database (a fresh server each time)."""
    import socket
    import urllib.request
    import uuid

    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(SECRET_KEY="bench-" + uuid.uuid4().hex, ASSAY_VAR_DIR=str(work / "var"),
               ASSAY_WEB_WORKERS="1", LOG_LEVEL="warning")  # fmt: skip
    body_head = (
        b'--bench\r\nContent-Disposition: form-data; name="file"; filename="one.pdk"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n"
    )
    body = body_head + file.read_bytes() + b"\r\n--bench--\r\n"
    times = []
    for n in range(repeats):
        db = work / f"api-{n}.sqlite3"
        shutil.copy(work / "assay-template.sqlite3", db)
        env["DATABASE_URL"] = f"sqlite:///{db}"
        made = subprocess.run(
            [sys.executable, "manage.py", "create_ci_token", "bench"], cwd=ROOT, env=env,
            capture_output=True, text=True,
        )  # fmt: skip
        if made.returncode != 0:
            raise SystemExit(f"create_ci_token failed:\n{made.stderr}")
        token = made.stdout.strip()
        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            port = free.getsockname()[1]
        env["ASSAY_WEB_BIND"] = f"127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    health = f"http://127.0.0.1:{port}/healthz"
                    urllib.request.urlopen(health, timeout=1).read()  # noqa: S310
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("gunicorn did not start") from None
                    time.sleep(0.05)
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/imports/", data=body, method="POST",
                headers={"Authorization": f"Token {token}",
                         "Content-Type": "multipart/form-data; boundary=bench"},
            )  # fmt: skip
            start = time.perf_counter()
            with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 (http://)
                answer.read()
                if answer.status != 201:
                    raise SystemExit(f"the import answered {answer.status}")
            times.append(time.perf_counter() - start)
        finally:
            server.terminate()
            server.wait(30)
    return statistics.median(times)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"


def measure(label: str, file: Path, assay: Assay, pandokia: Pandokia | None, repeats: int):
    ours, theirs = [], []
    for n in range(repeats):  # alternated, so that a load change hits both alike
        ours.append(assay.import_once(file, n))
        if pandokia is not None:
            theirs.append(pandokia.import_once(file, n))
    mine = statistics.median(wall for wall, _ in ours)
    mine_cpu = statistics.median(cpu for _, cpu in ours)
    print(f"{label}: Assay import_results {mine:.2f} s ({mine_cpu:.2f} s CPU) "
          f"(medians of {repeats}; {load()})")  # fmt: skip
    if theirs:
        anchor = statistics.median(wall for wall, _ in theirs)
        anchor_cpu = statistics.median(cpu for _, cpu in theirs)
        ratio, cpu_ratio = anchor / mine, anchor_cpu / mine_cpu
        print(f"{label}: Pandokia pdk import {anchor:.2f} s ({anchor_cpu:.2f} s CPU); Assay "
              f"{ratio:.1f}x faster ({cpu_ratio:.1f}x in CPU time)")  # fmt: skip
        return mine, anchor / mine
    return mine, None


def default_pdk() -> str | None:
    """$PANDOKIA_PDK, else the one `make bench` installs (var/pandokia), else `pdk` on PATH."""
    installed = ROOT / "var" / "pandokia" / "bin" / "pdk"
    return os.environ.get("PANDOKIA_PDK") or (
        str(installed) if installed.exists() else shutil.which("pdk")
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pdk", default=default_pdk())
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="assay-pdk-bench-") as tmp:
        work = Path(tmp)
        nightly, one = work / "nightly.pdk", work / "one.pdk"
        nightly_file(nightly, args.records)
        nightly_file(one, 1)
        assay = Assay(work)
        # absolute: Pandokia runs in the work folder (`make bench` passes var/pandokia/bin/pdk)
        pandokia = Pandokia(str(Path(args.pdk).absolute()), work) if args.pdk else None
        if pandokia is None:
            print("Pandokia not found (`make bench` installs it; or --pdk PATH): no anchor")
        _, ratio = measure(f"nightly ({args.records} records)", nightly, assay, pandokia,
                           args.repeats)  # fmt: skip
        small, _ = measure("one record", one, assay, pandokia, args.repeats)
        floor = django_floor(args.repeats)
        print(
            "one record: the floor, a bare Django process (2 of Django's apps set up, one "
            f"query, no Assay code): {floor:.2f} s (median of {args.repeats}; {load()})"
        )
        first = api_first_request(work, one, args.repeats)
        print(
            f"one record: the API's first request to a gunicorn just started: {first:.3f} s "
            f"(median of {args.repeats}; {load()}); goal <= {GOAL_SMALL_SECONDS} s: "
            f"{'MET' if first <= GOAL_SMALL_SECONDS else 'MISSED'}"
        )
        if ratio is not None:
            met = "MET" if ratio >= GOAL_RATIO else "MISSED"
            print(f"goal: >= {GOAL_RATIO:.0f}x Pandokia: {met}")
        print(f"goal: one record <= {GOAL_SMALL_SECONDS} s: "
              f"{'MET' if small <= GOAL_SMALL_SECONDS else 'MISSED'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
