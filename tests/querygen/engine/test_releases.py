"""querygen/engine/releases.py: virtualenvs holding one release of a package, made once, kept
in a cache that persists between test runs (so only the first run on a machine installs)."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from querygen.engine import releases
from querygen.engine.releases import (
    DUCKDB_LADDER,
    ReleaseError,
    default_cache_dir,
    ensure_release,
    ladder_between,
    release_dir,
    version_key,
)


def imported_version(python: Path, module: str = "duckdb") -> str:
    done = subprocess.run(
        [str(python), "-c", f"import {module}; print({module}.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def private_cache() -> Path:
    """A cache of this module's own, which it may break: kept between runs, next to the shared
    one, so that only what a test breaks is installed again."""
    return default_cache_dir() / "assay-tests"


# --- input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("package", "version"),
    [
        ("duckdb; rm -rf /", "0.9.2"),
        ("-r", "0.9.2"),
        ("--index-url=http://example.com", "1.0"),
        ("../duckdb", "0.9.2"),
        ("duck db", "0.9.2"),
        ("", "0.9.2"),
        ("duckdb", ""),
        ("duckdb", "latest"),
        ("duckdb", "0.9.2 --pre"),
        ("duckdb", ">=0.9"),
        ("duckdb", "0.9.2,<1"),
        ("duckdb", "1.0+local"),
        ("duckdb", "0.9.2\n"),
    ],
)
def test_a_bad_package_or_version_is_refused_before_anything_is_made(
    tmp_path: Path, package: str, version: str
) -> None:
    with pytest.raises(ValueError, match="is not a (package name|release version)") as info:
        ensure_release(package, version, cache_dir=tmp_path / "cache")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "cache").exists()


def test_versions_order_as_releases() -> None:
    assert version_key("1.0") == version_key("1.0.0")
    ordered = ["0.9.2", "0.10.0", "0.10.3", "1.1.0rc1", "1.1.0", "1.1.0.post1", "1.1.3", "2.0"]
    assert sorted(ordered, key=version_key) == ordered


def test_release_dir_is_named_by_the_normalized_package_and_the_version(tmp_path: Path) -> None:
    assert release_dir("DuckDB", "0.9.2", tmp_path) == tmp_path / "duckdb-0.9.2"
    assert release_dir("typing_extensions", "4.0", tmp_path) == tmp_path / "typing-extensions-4.0"


def test_the_cache_is_configured_by_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv(releases.CACHE_ENV, str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv(releases.CACHE_ENV)
    assert default_cache_dir() == Path.home() / ".cache" / "assay" / "releases"


# --- the ladder ----------------------------------------------------------------------------------


def test_the_ladder_has_the_last_patch_of_each_minor_line_oldest_first() -> None:
    assert DUCKDB_LADDER[0] == "0.9.2"
    assert list(DUCKDB_LADDER) == sorted(DUCKDB_LADDER, key=version_key)
    minors = [version_key(v)[0][:2] for v in DUCKDB_LADDER]
    assert len(set(minors)) == len(minors)


def test_ladder_between_gives_the_releases_after_old_up_to_new() -> None:
    assert ladder_between("0.9.2", "1.1.3") == ["0.10.3", "1.0.0", "1.1.3"]
    # Off the ladder: the ladder's releases in between, and new at the end.
    assert ladder_between("0.10.1", "1.2.0") == ["0.10.3", "1.0.0", "1.1.3", "1.2.0"]
    assert ladder_between("1.5.6", "2.0.1") == ["2.0.1"]
    assert ladder_between("0.9.2", "0.9.3", ["0.9.2", "1.0.0"]) == ["0.9.3"]


@pytest.mark.parametrize(
    ("old", "new", "ladder", "message"),
    [
        ("1.0.0", "0.9.2", DUCKDB_LADDER, "is not older than"),
        ("1.0.0", "1.0", DUCKDB_LADDER, "is not older than"),
        ("0.9.2", "1.0.0", ["1.0.0", "0.10.3"], "not in increasing order"),
        ("0.9.2", "newest", DUCKDB_LADDER, "is not a release version"),
    ],
)
def test_ladder_between_refuses_what_makes_no_ladder(old, new, ladder, message) -> None:
    with pytest.raises(ValueError, match=message):
        ladder_between(old, new, ladder)


# --- installing ----------------------------------------------------------------------------------


def test_a_release_is_installed_once_and_then_reused() -> None:
    """The shared cache: the first run on a machine installs duckdb 0.9.2, later ones reuse it."""
    python = ensure_release("duckdb", "0.9.2")
    assert python == release_dir("duckdb", "0.9.2") / "bin" / "python"
    assert imported_version(python) == "0.9.2"
    messages: list[str] = []
    started = time.perf_counter()
    assert ensure_release("duckdb", "0.9.2", progress=messages.append) == python
    assert time.perf_counter() - started < 10  # an import check, no pip
    assert messages == [f"duckdb==0.9.2: using {python.parent.parent}"]


def test_a_broken_release_is_made_again(private_cache: Path) -> None:
    python = ensure_release("duckdb", "0.9.2", cache_dir=private_cache)
    (package,) = (python.parent.parent / "lib").glob("python*/site-packages/duckdb")
    shutil.rmtree(package)  # the marker says finished, but the package is gone
    messages: list[str] = []
    assert ensure_release("duckdb", "0.9.2", cache_dir=private_cache, progress=messages.append)
    assert imported_version(python) == "0.9.2"
    assert messages[0] == f"duckdb==0.9.2: removing {python.parent.parent}, unfinished or broken"
    assert any("pip install duckdb==0.9.2" in m for m in messages), messages


def test_a_failed_install_raises_with_pips_output_and_leaves_nothing(tmp_path: Path) -> None:
    venv = release_dir("duckdb", "0.0.1", tmp_path)
    venv.mkdir(parents=True)
    (venv / "left-over").write_text("an interrupted install")  # half made: no marker
    with pytest.raises(ReleaseError) as info:
        ensure_release("duckdb", "0.0.1", cache_dir=tmp_path)
    first, _, pip_output = str(info.value).partition("\n")
    assert first.startswith("pip install duckdb==0.0.1 failed (exit code")
    assert "duckdb==0.0.1" in pip_output  # pip's own words: no matching distribution
    assert not venv.exists()


def test_a_caller_waits_for_the_one_holding_the_releases_lock(private_cache: Path) -> None:
    ensure_release("duckdb", "0.9.2", cache_dir=private_cache)
    venv = release_dir("duckdb", "0.9.2", private_cache)
    messages: list[str] = []
    answers: list[Path] = []
    with open(venv.with_name(venv.name + ".lock"), "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process installing it, as far as flock knows
        caller = threading.Thread(
            target=lambda: answers.append(
                ensure_release("duckdb", "0.9.2", cache_dir=private_cache, progress=messages.append)
            )
        )
        caller.start()
        deadline = time.monotonic() + 30
        while not messages and time.monotonic() < deadline:
            time.sleep(0.01)
        assert messages and "waiting for another process" in messages[0], messages
        time.sleep(0.2)
        assert caller.is_alive() and answers == []
        fcntl.flock(lock, fcntl.LOCK_UN)
    caller.join(timeout=60)
    assert answers == [venv / "bin" / "python"]
    assert messages[-1] == f"duckdb==0.9.2: using {venv}"
