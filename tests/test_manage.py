"""manage.py, the entry point of every command."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, env: dict[str, str] | None = None, **options):
    """manage.py ARGS as a process of its own, on a checkout's development defaults."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**(os.environ if env is None else env), "ASSAY_DEV": "1"},
        text=True,
        timeout=120,
        **options,
    )


@pytest.mark.parametrize("unbuffered", [True, False], ids=["unbuffered", "buffered"])
def test_a_reader_that_went_away_ends_the_command_without_a_traceback(unbuffered):
    # `manage.py help | head -1` once the reader has closed: every write fails with EPIPE.
    # Unbuffered, the command's own write fails; buffered, the flush after it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    read, write = os.pipe()
    os.close(read)
    try:
        done = manage("help", env=env, stdout=write, stderr=subprocess.PIPE)
    finally:
        os.close(write)
    assert done.returncode == 1
    assert done.stderr == ""


def test_output_to_a_reader_arrives_whole():
    done = manage("help", capture_output=True)
    assert done.returncode == 0 and "[results]" in done.stdout and done.stderr == ""


def test_a_command_with_stdout_closed_still_succeeds():
    done = manage(
        "check", "--deploy", "--fail-level", "CRITICAL",
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=lambda: os.close(1),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
