"""Other releases of an engine's Python driver, each in a virtualenv of its own: the
interpreters an IsolatedClient runs (``IsolatedClient(python, "duckdb", worker.MEMORY)``) to
test an old release against the current one and to bisect a finding over the releases between
them (bisect.py).

``ensure_release("duckdb", "0.9.2")`` answers ``<cache>/duckdb-0.9.2/bin/python``: a virtualenv
made with ``python -m venv`` (this interpreter's) holding ``duckdb==0.9.2`` installed by its own
pip (so the machine's pip configuration, its index included, applies). The cache is
``cache_dir``, else ``$ASSAY_RELEASE_CACHE``, else ``~/.cache/assay/releases``.

- A virtualenv is finished when pip succeeded and the interpreter imports the package at that
  version: a marker file is written then, last. A later call finds the marker, checks the import
  again (no network) and reuses it.
- Anything else at that path (pip failed, the process was killed, the package was changed
  since) is removed and made again.
- Callers in several processes (two pytest runs, a benchmark) are serialized per release by an
  ``fcntl`` lock on ``<cache>/<package>-<version>.lock``: one installs, the others wait and reuse.

Standard library only; every subprocess gets an argument list, never a shell string.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

__all__ = [
    "CACHE_ENV",
    "DUCKDB_LADDER",
    "ReleaseError",
    "default_cache_dir",
    "ensure_release",
    "ladder_between",
    "release_dir",
    "version_key",
]

CACHE_ENV = "ASSAY_RELEASE_CACHE"

# The last patch release of every minor line of DuckDB's Python package from 0.9 (the oldest
# the worker supports) to the newest, oldest first (`pip index versions duckdb`, 2026).
DUCKDB_LADDER: tuple[str, ...] = (
    "0.9.2",
    "0.10.3",
    "1.0.0",
    "1.1.3",
    "1.2.2",
    "1.3.2",
    "1.4.5",
    "1.5.6",
    "2.0.1",
)

PIP_TIMEOUT = 1800.0  # seconds for one `pip install`: a slow index, a big wheel
CHECK_TIMEOUT = 120.0  # seconds for the interpreter to import the package (a cold disk)
ERROR_LINES = 15  # lines of pip's output a ReleaseError quotes

_MARKER = "assay-release.json"
# A project name (PEP 508) and a public version (PEP 440, without epoch or local part): nothing
# that pip could read as an option, a path, a URL or a second requirement.
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?")
_VERSION = re.compile(r"(\d{1,9}(?:\.\d{1,9}){0,5})(?:(a|b|rc)(\d{1,9}))?(?:\.post(\d{1,9}))?")
_STAGES = {"a": 0, "b": 1, "rc": 2}

# Run by the release's interpreter: prints the version and exits 0 when every file pip
# installed for the package is there and the package imports.
_CHECK = """
import importlib, importlib.metadata, importlib.util, os, sys
name, module = sys.argv[1], sys.argv[2]
dist = importlib.metadata.distribution(name)
for file in dist.files or ():
    if file.suffix != ".pyc" and not os.path.exists(file.locate()):
        sys.exit("missing: " + str(file))
if importlib.util.find_spec(module) is not None:
    importlib.import_module(module)
print(dist.version)
"""


class ReleaseError(Exception):
    """A release could not be installed (pip failed, the virtualenv could not be made)."""


def version_key(version: str) -> tuple[tuple[int, ...], int, int, int]:
    """A sort key for a version this module accepts: ``version_key("1.0") ==
    version_key("1.0.0")``, and 1.1.0rc1 < 1.1.0 < 1.1.0.post1. ValueError for anything else."""
    match = _VERSION.fullmatch(version)
    if match is None:
        raise ValueError(
            f"{version!r} is not a release version (digits and dots, as 1.2.3, "
            "optionally a1/b1/rc1 and .post1)"
        )
    release = [int(part) for part in match.group(1).split(".")]
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    stage, number, post = match.group(2), match.group(3), match.group(4)
    pre = (_STAGES[stage], int(number)) if stage else (3, 0)  # no pre-release: after rc
    return tuple(release), pre[0], pre[1], int(post) if post else -1


def _check_name(package: str) -> str:
    """The package's normalized name (PEP 503: lower case, one dash for runs of -_.)."""
    if not isinstance(package, str) or _NAME.fullmatch(package) is None:
        raise ValueError(
            f"{package!r} is not a package name (letters, digits, '.', '_' and '-', "
            "starting and ending with a letter or digit)"
        )
    return re.sub(r"[-_.]+", "-", package).lower()


def _check_version(version: str) -> str:
    if not isinstance(version, str):
        raise ValueError(f"{version!r} is not a release version")
    version_key(version)
    return version


def default_cache_dir() -> Path:
    """``$ASSAY_RELEASE_CACHE``, else ``~/.cache/assay/releases``."""
    configured = os.environ.get(CACHE_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "assay" / "releases"


def release_dir(package: str, version: str, cache_dir: Path | None = None) -> Path:
    """Where ``ensure_release`` keeps the virtualenv of ``package==version``."""
    name, version = _check_name(package), _check_version(version)
    return Path(cache_dir or default_cache_dir()) / f"{name}-{version}"


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_release(
    package: str,
    version: str,
    *,
    cache_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """The interpreter of a virtualenv holding ``package==version``, made if need be (see the
    module docstring). ValueError for a bad name or version; ReleaseError when pip fails (with
    the end of its output) or the virtualenv cannot be made."""
    venv = release_dir(package, version, cache_dir)
    name, what = _check_name(package), f"{_check_name(package)}=={version}"
    say = progress or (lambda message: None)
    try:
        venv.parent.mkdir(parents=True, exist_ok=True)
        with _locked(venv.with_name(venv.name + ".lock"), say, what):
            if _finished(venv, name, version):
                say(f"{what}: using {venv}")
                return _python(venv)
            if venv.exists() or venv.is_symlink():
                say(f"{what}: removing {venv}, unfinished or broken")
                _remove(venv)
            _create(venv, name, version, say)
            return _python(venv)
    except OSError as exc:  # the cache directory: permissions, a full disk
        raise ReleaseError(f"{what}: cannot make its virtualenv in {venv.parent}: {exc}") from exc


@contextlib.contextmanager
def _locked(path: Path, say: Callable[[str], None], what: str) -> Iterator[None]:
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"{what}: waiting for another process installing it ({path})")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _module_name(name: str) -> str:
    return name.replace("-", "_")


def _finished(venv: Path, name: str, version: str) -> bool:
    """Whether the virtualenv was finished (its marker) and still imports the package at the
    version (a check of a few hundred milliseconds, no network)."""
    try:
        marker = json.loads((venv / _MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or marker.get("package") != name:
        return False
    if not _python(venv).exists():
        return False
    return _installed_version(venv, name, version) is not None


def _installed_version(venv: Path, name: str, version: str) -> str | None:
    """The version the interpreter imports, when it is ``version``; else None."""
    try:
        done = subprocess.run(
            [str(_python(venv)), "-I", "-c", _CHECK, name, _module_name(name)],
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = done.stdout.strip().splitlines()[-1:] if done.returncode == 0 else []
    try:
        if found and version_key(found[0]) == version_key(version):
            return found[0]
    except ValueError:
        pass
    return None


def _create(venv: Path, name: str, version: str, say: Callable[[str], None]) -> None:
    say(f"{name}=={version}: creating a virtualenv in {venv}")
    pip = _outer_pip(venv)
    venv_argv = [sys.executable, "-m", "venv", *(["--without-pip"] if pip else []), str(venv)]
    _run(venv_argv, f"creating the virtualenv {venv}", venv)
    say(f"{name}=={version}: pip install {name}=={version}")
    install = [
        "install",
        "--no-input",
        "--disable-pip-version-check",
        # A release without a wheel for this interpreter fails at once rather than compiling
        # an engine from source for an hour.
        "--only-binary",
        name,
        f"{name}=={version}",
    ]
    _run(
        [*(pip or [str(_python(venv)), "-m", "pip"]), *install],
        f"pip install {name}=={version}",
        venv,
    )
    installed = _installed_version(venv, name, version)
    if installed is None:
        _remove(venv)
        raise ReleaseError(
            f"pip installed {name}=={version} into {venv}, but its interpreter does not import "
            f"{_module_name(name)} at version {version}"
        )
    marker = {"package": name, "version": installed, "python": sys.version.split()[0]}
    (venv / _MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")
    say(f"{name}=={version}: ready, {_python(venv)}")


def _outer_pip(venv: Path) -> list[str] | None:
    """This interpreter's pip aimed at the new virtualenv (``pip --python``, pip 22.3 and
    later), which spares the virtualenv a pip of its own (ensurepip: most of a fresh install's
    time); None when this interpreter has no such pip: the virtualenv gets its own."""
    try:
        found = importlib.metadata.version("pip")
    except importlib.metadata.PackageNotFoundError:
        return None
    try:
        if version_key(found.split("+")[0])[0] < (22, 3):
            return None
    except ValueError:  # a development build of pip: recent enough
        pass
    return [sys.executable, "-m", "pip", "--python", str(_python(venv))]


def _run(argv: list[str], what: str, venv: Path) -> None:
    """Run a step of making the virtualenv; on failure remove it and raise ReleaseError with
    the end of the step's output."""
    try:
        done = subprocess.run(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            timeout=PIP_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        _remove(venv)
        raise ReleaseError(f"{what}: no end after {PIP_TIMEOUT:g} s") from None
    except OSError as exc:
        _remove(venv)
        raise ReleaseError(f"{what}: {exc}") from exc
    if done.returncode != 0:
        _remove(venv)
        lines = [line for line in (done.stdout or "").splitlines() if line.strip()]
        tail = "\n".join(lines[-ERROR_LINES:]) or "(no output)"
        raise ReleaseError(f"{what} failed (exit code {done.returncode}):\n{tail}")


def _remove(venv: Path) -> None:
    if venv.is_symlink() or venv.is_file():
        venv.unlink()
    elif venv.exists():
        shutil.rmtree(venv)


def ladder_between(old: str, new: str, ladder: Sequence[str] = DUCKDB_LADDER) -> list[str]:
    """The releases to bisect a finding of ``old`` (the system under test) against ``new``
    (the reference) over: the ladder's releases after ``old`` up to ``new``, oldest first,
    ending with ``new`` itself (added when the ladder lacks it), so a deterministic finding
    always has a release where it stops failing. ``old`` and ``new`` need not be on the ladder.
    ValueError for a bad version, a ladder out of order, or ``old`` not older than ``new``."""
    old_key, new_key = version_key(old), version_key(new)
    if not old_key < new_key:
        raise ValueError(f"the old release {old} is not older than the new release {new}")
    keys = [version_key(v) for v in ladder]
    if any(a >= b for a, b in zip(keys, keys[1:], strict=False)):
        raise ValueError(f"the ladder {list(ladder)} is not in increasing order")
    between = [v for v, k in zip(ladder, keys, strict=True) if old_key < k <= new_key]
    if not between or version_key(between[-1]) != new_key:
        between.append(new)
    return between


def release_name(version: str) -> str:
    """A release as a ladder names it: an engine's version without its build id
    ("DuckDB v0.10.3 (f1a2b3)" -> "DuckDB v0.10.3")."""
    return version.split(" (", 1)[0].strip()
