"""manage.py, the entry point of every command."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_reader_that_went_away_ends_the_command_without_a_traceback():
    # `manage.py help | head -1` once the reader has closed: every write fails with EPIPE.
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "manage.py", "help"],
            cwd=ROOT,
            env={**os.environ, "ASSAY_DEV": "1"},
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
