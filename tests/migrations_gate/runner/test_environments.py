"""A project's Python environment: a venv built once per interpreter and requirements, reused,
rebuilt when the requirements change, never left half built; pip's failures said in one line.

Three real builds in all (a venv takes seconds: it installs pip), installing ``six`` from this
machine's package index. The failure paths that need no real pip (a venv that cannot be made,
pip that hangs, a caller that stops the build, a build that died half way) run a stand-in
interpreter written here."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from migrations_gate.runner import environments
from migrations_gate.runner.environments import (
    MARKER,
    EnvironmentFailed,
    environment,
    environment_key,
    python_version,
)

SIX = "six==1.17.0"


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def run(python: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True)


def left_in(cache: Path) -> list[str]:
    """What a cache holds besides its lock files."""
    return sorted(p.name for p in cache.iterdir() if p.suffix != ".lock")


def one_line(exc: pytest.ExceptionInfo[EnvironmentFailed]) -> str:
    message = str(exc.value)
    assert "\n" not in message and message.strip() == message, repr(message)
    return message


@pytest.fixture
def count_builds(monkeypatch) -> list[Path]:
    """The venvs built, in order."""
    built: list[Path] = []
    real = environments._build

    def counted(venv, *args, **kwargs):
        built.append(venv)
        return real(venv, *args, **kwargs)

    monkeypatch.setattr(environments, "_build", counted)
    return built


# -- real builds (three) --------------------------------------------------------------------


def test_a_venv_is_built_once_reused_and_built_anew_when_its_requirements_change(
    tmp_path, count_builds
) -> None:
    cache = tmp_path / "cache"
    reqs = write(tmp_path / "project" / "requirements.txt", f"# the project's\n{SIX}\n")
    said: list[list[str]] = [[], []]
    found: list[Path] = [Path(), Path()]

    def build(i: int) -> None:
        found[i] = environment([reqs], cache, progress=said[i].append)

    # Two checks of one project at once: one builds, the other waits for it.
    started = time.monotonic()
    threads = [threading.Thread(target=build, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first_build = time.monotonic() - started
    python = found[0]
    assert found[1] == python and len(count_builds) == 1
    assert python == cache / python.parent.parent.name / "bin" / "python"
    assert (python.parent.parent / MARKER).is_file()
    everything = said[0] + said[1]
    assert any("Successfully installed six-1.17.0" in line for line in everything), everything
    assert any(line.startswith("waiting for another build of ") for line in everything)
    assert run(python, "import six; print(six.__version__)").stdout.strip() == "1.17.0"
    isolated = run(python, "import django")  # nothing of the interpreter's own packages
    assert isolated.returncode != 0 and "ModuleNotFoundError" in isolated.stderr

    # Found again without building, at once.
    said_again: list[str] = []
    started = time.monotonic()
    assert environment([reqs], cache, progress=said_again.append) == python
    assert len(count_builds) == 1 and said_again == []
    assert time.monotonic() - started < min(1.0, first_build / 3)

    # Changed requirements (nothing but a comment now): another venv, with nothing in it.
    write(reqs, "# nothing yet\n")
    emptier = environment([reqs], cache)
    assert emptier != python and len(count_builds) == 2
    assert run(emptier, "import six").returncode != 0
    assert run(emptier, "import pip").returncode == 0  # a venv as `python -m venv` makes it
    assert run(python, "import six").returncode == 0  # the first one is still there
    assert left_in(cache) == sorted([python.parent.parent.name, emptier.parent.parent.name])


def test_a_requirement_pip_cannot_install_fails_in_one_line_and_leaves_no_venv(
    tmp_path, count_builds
) -> None:
    cache = tmp_path / "cache"
    good = write(tmp_path / "requirements.txt", f"{SIX}\n")
    bad = write(tmp_path / "requirements-dev.txt", "nosuchpkg==9.9\n")
    said: list[str] = []
    with pytest.raises(EnvironmentFailed) as exc:
        environment([good, bad], cache, progress=said.append)
    assert one_line(exc) == (
        f"cannot install {bad}: ERROR: No matching distribution found for nosuchpkg==9.9"
    )
    assert len(count_builds) == 1
    assert any("Successfully installed six-1.17.0" in line for line in said)  # the good one ran
    assert left_in(cache) == []


# -- no build -------------------------------------------------------------------------------


def test_without_requirements_the_project_runs_in_the_interpreter_given(tmp_path) -> None:
    assert environment(None, tmp_path / "cache") == Path(sys.executable)
    assert not (tmp_path / "cache").exists()
    with pytest.raises(EnvironmentFailed, match="^no such python /nowhere/python3$"):
        environment(None, tmp_path / "cache", python="/nowhere/python3")


def test_the_key_is_the_interpreter_and_the_files_in_order() -> None:
    key = environment_key("3.11.7", [b"six\n", b"attrs\n"])
    assert key == environment_key("3.11.7", [b"six\n", b"attrs\n"])
    assert len(key) == 24 and key.isalnum()
    others = {
        environment_key("3.11.8", [b"six\n", b"attrs\n"]),
        environment_key("3.11.7", [b"attrs\n", b"six\n"]),
        environment_key("3.11.7", [b"six\n", b"attrs\n", b""]),
        environment_key("3.11.7", [b"six\nattrs\n"]),
        environment_key("3.11.7", [b"six\n", b"attrs"]),
    }
    assert key not in others and len(others) == 5
    assert python_version(sys.executable) == " ".join(sys.version.split())


NOT_TEXT = "{path} is not a requirements file: not UTF-8 text at byte"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such requirements file {path}"),
        (b"six==1.17.0\n\x00\x00\x00", "{path} is not a requirements file: it holds binary data"),
        (b"\x89PNG\r\n\x1a\n", f"{NOT_TEXT} 0"),
        ("django==5.2  # café".encode()[:-1], f"{NOT_TEXT} 18"),  # cut inside the "é"
    ],
)
def test_a_file_that_is_not_requirements_is_refused_before_anything_runs(
    tmp_path, monkeypatch, content, message
) -> None:
    path = tmp_path / "requirements.txt"
    if content is not None:
        write(path, content)

    def nothing_runs(*args, **kwargs):
        raise AssertionError(f"ran {args}")

    monkeypatch.setattr(environments.subprocess, "Popen", nothing_runs)
    monkeypatch.setattr(environments.subprocess, "run", nothing_runs)
    with pytest.raises(EnvironmentFailed) as exc:
        environment([path], tmp_path / "cache")
    assert one_line(exc) == message.format(path=path)
    assert not (tmp_path / "cache").exists()


def test_an_interpreter_that_cannot_run_is_said(tmp_path) -> None:
    reqs = write(tmp_path / "requirements.txt", "six\n")
    with pytest.raises(EnvironmentFailed) as exc:
        environment([reqs], tmp_path / "cache", python=str(tmp_path / "python9"))
    assert one_line(exc).startswith(f"cannot run {tmp_path / 'python9'}: ")


def test_pips_reason_is_its_last_error_line() -> None:
    # pip's own words for a requirement cut short ("six=" in trunc.txt), and for a failed build
    invalid = ["ERROR: Invalid requirement: 'six=' (from line 1 of trunc.txt)",
               "Hint: = is not a valid operator. Did you mean == ?"]  # fmt: skip
    assert environments._pip_error(invalid, 1) == invalid[0]
    build = ["Collecting x", "  error: subprocess-exited-with-error",
             "error: metadata-generation-failed", "",
             "× Encountered error while generating package metadata."]  # fmt: skip
    assert environments._pip_error(build, 1) == "error: metadata-generation-failed"
    assert environments._pip_error(["Collecting x", "Killed"], 137) == "Killed"
    assert environments._pip_error([], 2) == "exited with code 2"


# -- a stand-in interpreter: the failures a real pip is slow or unable to show ----------------

FAKE_PYTHON = """\
import os, pathlib, shutil, sys, time
args = sys.argv[1:]
if args[:1] == ["-c"]:
    print("0.0.1 (stand-in)")
elif args[:2] == ["-m", "venv"]:
    if os.environ.get("FAKE_VENV_FAILS"):
        sys.exit("Error: Command '[..., 'ensurepip']' returned non-zero exit status 1.")
    bin = pathlib.Path(args[-1]) / "bin"
    bin.mkdir(parents=True)
    shutil.copy(__file__, bin / "python")
elif args[:3] == ["-m", "pip", "install"]:
    text = pathlib.Path(args[-1]).read_text()
    print("Collecting " + text.strip(), flush=True)
    if "slow" in text:
        time.sleep(60)
    print("Successfully installed " + text.strip(), flush=True)
"""


@pytest.fixture
def fake_python(tmp_path: Path) -> str:
    path = write(tmp_path / "bin" / "python", f"#!{sys.executable}\n{FAKE_PYTHON}")
    path.chmod(0o755)
    return str(path)


def test_a_venv_that_cannot_be_made_is_said_with_venvs_reason(
    tmp_path, fake_python, monkeypatch
) -> None:
    monkeypatch.setenv("FAKE_VENV_FAILS", "1")
    reqs = write(tmp_path / "requirements.txt", "six\n")
    with pytest.raises(EnvironmentFailed) as exc:
        environment([reqs], tmp_path / "cache", python=fake_python)
    assert one_line(exc) == (
        f"cannot create a virtualenv with {fake_python}: Error: Command "
        "'[..., 'ensurepip']' returned non-zero exit status 1."
    )
    assert left_in(tmp_path / "cache") == []


def test_pip_that_takes_too_long_is_stopped_and_leaves_no_venv(tmp_path, fake_python) -> None:
    reqs = write(tmp_path / "requirements.txt", "slow\n")
    said: list[str] = []
    started = time.monotonic()
    with pytest.raises(EnvironmentFailed) as exc:
        environment([reqs], tmp_path / "cache", python=fake_python, progress=said.append,
                    timeout=1.0)  # fmt: skip
    assert time.monotonic() - started < 10
    assert one_line(exc) == f"cannot install {reqs}: pip did not finish in 1 s"
    assert "Collecting slow" in said
    assert left_in(tmp_path / "cache") == []


def test_a_caller_that_stops_the_build_leaves_no_venv(tmp_path, fake_python) -> None:
    reqs = write(tmp_path / "requirements.txt", "slow\n")

    class LeaseLost(Exception):
        pass

    def progress(line: str) -> None:
        if line.startswith("Collecting"):
            raise LeaseLost  # as core.jobs.heartbeat does once the job went to another worker

    started = time.monotonic()
    with pytest.raises(LeaseLost):
        environment([reqs], tmp_path / "cache", python=fake_python, progress=progress)
    assert time.monotonic() - started < 10  # the sleeping pip was stopped, not waited for
    assert left_in(tmp_path / "cache") == []


def test_a_build_that_died_half_way_is_built_again(tmp_path, fake_python) -> None:
    reqs = write(tmp_path / "requirements.txt", "six\n")
    key = environment_key(python_version(fake_python), [b"six\n"])
    half = write(tmp_path / "cache" / key / "bin" / "python", "half")  # no marker
    said: list[str] = []
    python = environment([reqs], tmp_path / "cache", python=fake_python, progress=said.append)
    assert python == half
    assert half.read_text() != "half" and (half.parent.parent / MARKER).is_file()
    assert said[0] == f"removing {half.parent.parent}: a build that did not finish"
    assert "Successfully installed six" in said


def test_an_empty_requirements_file_runs_no_pip(tmp_path, fake_python) -> None:
    reqs = write(tmp_path / "requirements.txt", "\n# nothing\n  \n")
    said: list[str] = []
    python = environment([reqs], tmp_path / "cache", python=fake_python, progress=said.append)
    assert python.is_file()
    assert f"nothing to install from {reqs}" in said
    assert not any(line.startswith("Collecting") for line in said)
