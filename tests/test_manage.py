"""manage.py, the entry point of every command."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


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
        done = subprocess.run(
            [sys.executable, "manage.py", "help"],
            cwd=ROOT,
            env={**env, "ASSAY_DEV": "1"},
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write)
    assert done.returncode == 1
    assert done.stderr == ""


def test_output_to_a_reader_arrives_whole():
    done = subprocess.run(
        [sys.executable, "manage.py", "help"],
        cwd=ROOT,
        env={**os.environ, "ASSAY_DEV": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "[results]" in done.stdout and done.stderr == ""


def test_a_command_with_stdout_closed_still_succeeds():
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "CRITICAL"],
        cwd=ROOT,
        env={**os.environ, "ASSAY_DEV": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        pass_fds=(),
        preexec_fn=lambda: os.close(1),
    )
    assert done.returncode == 0, done.stderr
