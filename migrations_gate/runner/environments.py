"""A gated project's Python environment: a virtualenv with its requirements installed, kept
under a cache directory by a hash of the interpreter's version and the requirements files'
contents, so every check of one project at one set of requirements builds it once.

A venv is built where it will stay (a venv is not relocatable: its scripts name their
interpreter's absolute path), under a lock file beside it, and a marker file written last
says it is complete. A build that died half way leaves no marker: the next builder removes
it and starts again; a caller who finds the marker uses the venv without waiting.

Pure: the standard library, ``python -m venv`` and pip, no Django.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from migrations_gate.runner import Say

__all__ = [
    "MARKER", "PIP_TIMEOUT", "EnvironmentFailed", "environment", "environment_key",
    "python_version",
]  # fmt: skip

MARKER = ".assay-complete"  # written last: a venv without it is half built
PIP_TIMEOUT = 1800.0  # seconds, for one requirements file (a slow index, a build from source)
VENV_TIMEOUT = 300.0  # seconds, for `python -m venv` (it installs pip)
_KEY_VERSION = b"assay-environment 1"  # changed when the way a venv is built changes


class EnvironmentFailed(Exception):
    """An environment that cannot be built, said in one line."""


def environment(
    requirements: list[Path] | None, cache_dir: Path, python: str = sys.executable,
    progress: Say | None = None, *, timeout: float = PIP_TIMEOUT,
) -> Path:  # fmt: skip
    """The python of a venv made by ``python`` with each of ``requirements`` installed in
    order (``pip install -r``), built or found in ``cache_dir``. With no requirements (None)
    the project runs in ``python`` itself, which is returned. pip's output goes to
    ``progress`` line by line."""
    say = progress or (lambda line: None)
    if requirements is None:
        found = shutil.which(python)
        if found is None:
            raise EnvironmentFailed(f"no such python {python}")
        return Path(found)
    texts = [_read(path) for path in requirements]  # refused before anything is built
    key = environment_key(python_version(python), texts)
    venv = cache_dir.absolute() / key
    ready = venv / "bin" / "python"
    if (venv / MARKER).is_file():
        return ready
    venv.parent.mkdir(parents=True, exist_ok=True)
    with _locked(venv.with_name(f"{key}.lock"), say):
        if (venv / MARKER).is_file():  # another builder finished while this one waited
            return ready
        if venv.is_symlink() or venv.is_file():
            venv.unlink()  # not ours: nothing else is made under that name
        elif venv.exists():
            say(f"removing {venv}: a build that did not finish")
            shutil.rmtree(venv)
        try:
            _build(venv, python, requirements, texts, say, timeout)
        except BaseException:  # a failure, or a caller's progress that raised: no half venv
            shutil.rmtree(venv, ignore_errors=True)
            raise
    return ready


def environment_key(version: str, requirements: Sequence[bytes]) -> str:
    """The cache's name for a venv: a hash of the interpreter's version and the requirements
    files' contents, in order (each with its length, so no two lists hash alike)."""
    digest = hashlib.sha256(_KEY_VERSION)
    for part in [version.encode(), *requirements]:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()[:24]  # short: a script's "#!" line names this path


def _read(path: Path) -> bytes:
    """A requirements file's bytes, refused if it is not one pip can read as text."""
    if not path.is_file():
        raise EnvironmentFailed(f"no such requirements file {path}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EnvironmentFailed(f"cannot read {path}: {exc.strerror}") from None
    if b"\0" in data:
        raise EnvironmentFailed(f"{path} is not a requirements file: it holds binary data")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:  # a binary file, or text cut inside a character
        raise EnvironmentFailed(
            f"{path} is not a requirements file: not UTF-8 text at byte {exc.start}"
        ) from None
    return data


def python_version(python: str) -> str:
    """``python``'s sys.version (its version, build and compiler)."""
    try:
        done = subprocess.run(
            [python, "-c", "import sys; print(sys.version)"], capture_output=True, text=True,
            timeout=60, env=_env(), stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EnvironmentFailed(f"cannot run {python}: {exc}") from None
    if done.returncode != 0 or not done.stdout.strip():
        raise EnvironmentFailed(f"cannot run {python}: {_last(done.stderr, done.returncode)}")
    return " ".join(done.stdout.split())


def _build(
    venv: Path, python: str, requirements: list[Path], texts: list[bytes], say: Say,
    timeout: float,
) -> None:  # fmt: skip
    say(f"creating a virtualenv in {venv}")
    code, lines = _stream([python, "-m", "venv", "--", str(venv)], venv.parent, VENV_TIMEOUT, say)
    if code is None:
        raise EnvironmentFailed(f"cannot create a virtualenv with {python}: it took too long")
    if code != 0:
        raise EnvironmentFailed(f"cannot create a virtualenv with {python}: {_venv_error(lines)}")
    for path, text in zip(requirements, texts, strict=True):
        if not _has_requirements(text):
            say(f"nothing to install from {path}")
            continue
        argv = [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-input",
                "--disable-pip-version-check", "-r", str(path.absolute())]  # fmt: skip
        # A file's relative paths (-e ., ./wheels/x.whl) are read from its own folder.
        code, lines = _stream(argv, path.absolute().parent, timeout, say)
        if code is None:
            raise EnvironmentFailed(f"cannot install {path}: pip did not finish in {timeout:g} s")
        if code != 0:
            raise EnvironmentFailed(f"cannot install {path}: {_pip_error(lines, code)}")
    # Last, atomically: the venv is complete once this file is there.
    info = {"python": python, "requirements": [str(p) for p in requirements]}
    tmp = venv / f"{MARKER}.tmp"
    with open(tmp, "w") as handle:
        json.dump(info, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, venv / MARKER)
    say(f"environment ready: {venv}")


def _has_requirements(text: bytes) -> bool:
    """Whether a file names anything for pip (blank lines and comments do not)."""
    lines = text.decode("utf-8").splitlines()
    return any(line.strip() and not line.lstrip().startswith("#") for line in lines)


def _stream(argv: list[str], cwd: Path, timeout: float, say: Say) -> tuple[int | None, list[str]]:
    """Run ``argv``, each line of its output (stdout and stderr) to ``say`` as it comes; its
    exit code (None when stopped at ``timeout``) and its last lines."""
    proc = subprocess.Popen(  # an argv list, never a shell string
        argv, cwd=cwd, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True,  # pip's builds are stopped with it
    )  # fmt: skip
    assert proc.stdout is not None
    stopped = threading.Event()

    def stop() -> None:
        stopped.set()
        _kill(proc)

    timer = threading.Timer(timeout, stop)
    timer.start()
    tail: list[str] = []
    try:
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            tail.append(line)
            del tail[:-200]
            say(line)
        proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:  # say raised (the job was taken back, say): stop it too
            _kill(proc)
        proc.stdout.close()
    return (None if stopped.is_set() else proc.returncode), tail


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError):  # it ended by itself
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _env() -> dict[str, str]:
    """This process's environment, less what would mix another interpreter's packages in."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONUNBUFFERED="1")
    return env


def _pip_error(lines: list[str], code: int) -> str:
    """pip's reason: its last ``ERROR:`` line (a hint may follow it), else its last
    ``error:`` line (a package's build that failed), else its last line."""
    for prefix in ("ERROR:", "error:"):
        errors = [line.strip() for line in lines if line.startswith(prefix)]
        if errors:
            return errors[-1]
    return _last("\n".join(lines), code)


def _venv_error(lines: list[str]) -> str:
    """venv's reason: its ``Error:`` line, else the first line it said (Debian's advice)."""
    said = [line.strip() for line in lines if line.strip()]
    errors = [line for line in said if line.startswith("Error:")]
    return errors[-1] if errors else (said[0] if said else "venv failed")


def _last(text: str, code: int) -> str:
    said = [line.strip() for line in text.splitlines() if line.strip()]
    return said[-1] if said else f"exited with code {code}"


@contextmanager
def _locked(lock_file: Path, say: Say) -> Iterator[None]:
    """Hold ``lock_file``, saying so when another builder has it."""
    with open(lock_file, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for another build of {lock_file.with_suffix('')}")
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, or we die
        yield
