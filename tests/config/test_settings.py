import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _check(env: dict[str, str]) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTEST_VERSION")}
    full.update({"ASSAY_DEV": "1", **env})
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=full, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip


def test_defaults_pass_the_check(tmp_path):
    proc = _check({"ASSAY_VAR_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert "no issues" in proc.stdout


def test_bad_values_stop_every_command_with_a_clear_message(tmp_path):
    proc = _check(
        {
            "ASSAY_VAR_DIR": str(tmp_path),
            "DATABASE_URL": "nosuchdb://x",
            "EMAIL_PORT": "twenty-five",
            "ASSAY_RECURRING_PREFIXES": "daily,bad_prefix",
            "TIME_ZONE": "Mars/Olympus",
        }
    )
    assert proc.returncode != 0
    assert "DATABASE_URL" in proc.stderr
    assert "EMAIL_PORT='twenty-five' is not an integer" in proc.stderr
    assert "'bad_prefix' is not a valid prefix" in proc.stderr
    assert "Mars/Olympus" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_secret_key_is_required_outside_development(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_VERSION", "ASSAY_DEV")}
    env.update({"ASSAY_VAR_DIR": str(tmp_path), "SECRET_KEY": "", "DEBUG": "false"})
    env.pop("DATABASE_URL", None)
    proc = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "SECRET_KEY is not set" in proc.stderr
