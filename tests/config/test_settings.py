import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def _bare(tmp_path, **env: str) -> dict[str, str]:
    """A shell without the tests' or a developer's switches."""
    drop = ("PYTEST_VERSION", "ASSAY_DEV", "SECRET_KEY", "DATABASE_URL", "DEBUG", "ASSAY_ENV")
    bare = {k: v for k, v in os.environ.items() if k not in drop}
    return {**bare, "ASSAY_VAR_DIR": str(tmp_path), **env}


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip


def test_a_checkout_on_its_defaults_makes_a_development_key_once(tmp_path):
    """Issue 15: every README command failed with `SECRET_KEY is not set` without ASSAY_DEV=1.
    On the embedded defaults a key is made once under var/ and kept for every process."""
    first = _run(_bare(tmp_path), "check")
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "dev-secret-key"
    key = key_file.read_text().strip()
    assert len(key) >= 50 and key_file.stat().st_mode & 0o777 == 0o600
    shown = _run(
        _bare(tmp_path),
        "shell",
        "-v",
        "0",
        "-c",
        "from django.conf import settings as s; "
        "print(s.SECRET_KEY == open(s.DEV_SECRET_KEY_FILE).read().strip(), s.ASSAY_ENV)",
    )
    assert shown.stdout.split() == ["True", "development"], shown.stderr
    assert key_file.read_text().strip() == key  # kept, not made again


@pytest.mark.parametrize(
    "env",
    [
        {"ASSAY_ENV": "production"},
        {"DATABASE_URL": "sqlite:///{tmp}/prod.sqlite3"},  # a database of your own
        {"ASSAY_ENV": "production", "DEBUG": "true"},
    ],
    ids=["ASSAY_ENV", "DATABASE_URL", "production-even-with-DEBUG"],
)
def test_production_refuses_to_start_without_a_secret_key(tmp_path, env):
    env = {k: v.format(tmp=tmp_path) for k, v in env.items()}
    proc = _run(_bare(tmp_path, **env), "check")
    assert proc.returncode != 0
    assert "SECRET_KEY is not set: production needs its own" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "dev-secret-key").exists()


def test_development_can_be_asked_for_with_a_database_of_your_own(tmp_path):
    env = _bare(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/mine.sqlite3")
    assert _run({**env, "ASSAY_ENV": "development"}, "check").returncode == 0
    assert _run({**env, "ASSAY_DEV": "1"}, "check").returncode == 0
    bad = _run({**env, "ASSAY_ENV": "prod"}, "check")
    assert bad.returncode != 0 and "ASSAY_ENV='prod' is not development or production" in (
        bad.stderr
    )


def test_links_follow_the_address_make_run_serves(tmp_path):
    """make run writes var/base-url (PORT=8765 make run); commands in another shell link there,
    ASSAY_BASE_URL still wins, and production never reads the file."""
    (tmp_path / "base-url").write_text("http://127.0.0.1:8765\n")
    code = "from django.conf import settings; print(settings.ASSAY_BASE_URL)"
    dev = _run(_bare(tmp_path), "shell", "-v", "0", "-c", code)
    assert dev.stdout.strip() == "http://127.0.0.1:8765", dev.stderr
    mine = _run(
        _bare(tmp_path, ASSAY_BASE_URL="https://qa.example.org/"), "shell", "-v", "0", "-c", code
    )
    assert mine.stdout.strip() == "https://qa.example.org"
    prod = _run(
        _bare(tmp_path, ASSAY_ENV="production", SECRET_KEY="k" * 50), "shell", "-v", "0", "-c", code
    )
    assert prod.stdout.strip() == "http://127.0.0.1:8000", prod.stderr
    bad = _run(_bare(tmp_path, ASSAY_BASE_URL="127.0.0.1:8765"), "check")
    assert bad.returncode != 0 and "is not an http(s):// address" in bad.stderr


def test_log_level_is_read_in_any_case(tmp_path):
    """LOG_LEVEL=warning (gunicorn's spelling, which config/gunicorn.conf.py reads too) stopped
    every command with a logging traceback."""
    code = "import logging; print(logging.getLevelName(logging.getLogger().level))"
    proc = _run(_bare(tmp_path, LOG_LEVEL="warning"), "shell", "-v", "0", "-c", code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "WARNING"
