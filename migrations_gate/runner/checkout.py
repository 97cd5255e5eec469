"""A gated project's git repository: a bare mirror kept under a cache directory, and detached
worktrees of it at the ref a change names (a branch, a tag, a commit, or a review system's
ref such as Gerrit's ``refs/changes/34/1234/2`` or GitHub's ``refs/pull/7/head``).

One mirror per URL, named by a hash of it, shared by every check of the project: it is cloned
once and fetched after, under a lock file beside it, so concurrent callers neither clone twice
nor read a half-made mirror (a clone is made in a temporary directory and renamed into place).

Nothing is ever given to a shell: git runs from argv lists, with a time limit, no terminal
prompt, and a ref or URL that could be read as an option is refused before git runs.

Pure: the standard library and the ``git`` command, no Django.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "GIT_TIMEOUT", "CheckoutError", "check_ref", "check_refspec", "checkout", "mirror", "remove",
]  # fmt: skip

GIT_TIMEOUT = 600.0  # seconds, for any one git command (a clone of a large project included)

# A ref name as git allows it (git check-ref-format), narrowed to characters that mean nothing
# to a shell or to git's revision syntax: no component starts with "." (so neither a leading
# "-" nor "..") nor ends with ".lock" or ".". A commit sha matches too.
_REF_RE = re.compile(
    r"(?!.*\.\.)(?!.*\.lock(?:/|$))(?!.*\.(?:/|$))"
    r"[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.-]*)*"
)
_FULL_SHA_RE = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # sha-1 or sha-256 repositories
# What a git server says of a ref or object it does not have.
_NOT_THERE = ("couldn't find remote ref", "not our ref", "no such remote ref", "unadvertised")
# Transports git may use: never ext:: (runs a command) nor fd:: whatever a URL says.
_PROTOCOLS = "file:git:http:https:ssh"
# Variables that would point git at another repository than the one named (set in a hook).
_REPO_VARS = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE",
)  # fmt: skip


class CheckoutError(Exception):
    """A repository or ref that cannot be had, said in one line."""


def mirror(url_or_path: str, cache_dir: Path, *, timeout: float = GIT_TIMEOUT) -> Path:
    """The bare mirror of ``url_or_path`` under ``cache_dir``: cloned the first time, fetched
    (pruning refs the origin dropped) on later calls. Returns its path."""
    url = _origin(url_or_path)
    cache_dir = cache_dir.absolute()
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(url.encode()).hexdigest()[:24]
    path = cache_dir / f"{key}.git"
    with _locked(path):
        for stale in cache_dir.glob(f"{key}.*.tmp"):  # a clone that died half way
            shutil.rmtree(stale, ignore_errors=True)
        if path.is_dir():
            _git(["-C", path, "remote", "update", "--prune"], timeout,
                 f"cannot fetch {_shown(url)}")  # fmt: skip
            # Worktrees whose directory went without remove(): forget them.
            _git(["-C", path, "worktree", "prune"], timeout, f"cannot prune {path}")
            return path
        tmp = Path(tempfile.mkdtemp(prefix=f"{key}.", suffix=".tmp", dir=cache_dir))
        try:
            _git(["clone", "--mirror", "--quiet", "--", url, tmp], timeout,
                 f"cannot clone {_shown(url)}")  # fmt: skip
            tmp.rename(path)  # whole or not at all
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return path


def checkout(
    mirror: Path, ref: str, dest: Path, refspec: str | None = None, *,
    timeout: float = GIT_TIMEOUT,
) -> str:  # fmt: skip
    """Check ``ref`` out at ``dest`` (a detached worktree of ``mirror``); its commit's sha.

    ``refspec`` (``refs/changes/34/1234/2``, ``+refs/pull/7/head:refs/pull/7/head``) is
    fetched from the origin first; without it a full ref name (``refs/...``) or a full sha
    that the mirror lacks is fetched by itself. ``dest`` must not exist or be empty."""
    _check_ref(ref)
    if refspec is not None:
        refspec = _check_refspec(refspec)
    if not (mirror / "HEAD").is_file():
        raise CheckoutError(f"{mirror}: no such mirror")
    dest = dest.absolute()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise CheckoutError(f"cannot check out {ref} at {dest}: it exists and is not empty")
    with _locked(mirror):
        url = _git(["-C", mirror, "config", "--get", "remote.origin.url"], timeout,
                   f"{mirror}: no origin").strip()  # fmt: skip
        if refspec is not None:
            _fetch(mirror, url, refspec, refspec, timeout)
        sha = _resolve(mirror, ref, timeout)
        if sha is None and refspec is None and (ref.startswith("refs/") or _full_sha(ref)):
            _fetch(mirror, url, ref, ref if _full_sha(ref) else f"+{ref}:{ref}", timeout)
            sha = _resolve(mirror, ref, timeout)
        if sha is None:
            raise CheckoutError(f"no such ref {ref} in {_shown(url)}")
        try:
            _git(["-C", mirror, "worktree", "add", "--quiet", "--detach", "--", dest, sha],
                 timeout, f"cannot check out {ref} at {dest}")  # fmt: skip
        except BaseException:
            _rmtree(dest)
            _git(["-C", mirror, "worktree", "prune"], timeout, f"cannot prune {mirror}")
            raise
    return sha


def remove(dest: Path, *, timeout: float = GIT_TIMEOUT) -> None:
    """Remove a checkout and its worktree entry in the mirror; nothing if it is gone."""
    if not dest.exists() and not dest.is_symlink():
        return
    repo = _worktree_of(dest)
    _rmtree(dest)
    if repo is not None and (repo / "HEAD").is_file():
        with _locked(repo):
            _git(["-C", repo, "worktree", "prune"], timeout, f"cannot prune {repo}")


def _origin(url_or_path: str) -> str:
    """The URL to clone, checked; a local path made absolute so one repository has one key."""
    text = url_or_path.strip()
    if not text or text.startswith("-") or any(c < " " or c == "\x7f" for c in text):
        raise CheckoutError(f"refused repository {url_or_path!r}: not a URL or a path")
    if "://" not in text and Path(text).exists():
        return str(Path(text).absolute())
    return text


def check_refspec(refspec: str) -> None:
    """CheckoutError unless ``refspec`` is ``[+]src[:dst]`` with both sides safe refs."""
    _check_refspec(refspec)


def check_ref(ref: str) -> None:
    """CheckoutError unless ``ref`` is a ref git could be asked for safely (before a check is
    even queued)."""
    _check_ref(ref)


def _check_ref(ref: str, what: str = "ref", whole: str | None = None) -> None:
    if len(ref) > 1000 or not _REF_RE.fullmatch(ref):
        raise CheckoutError(
            f"refused {what} {whole or ref!r}: a branch, tag, sha or refs/... name "
            "(letters, digits, _ . - and /)"
        )


def _check_refspec(refspec: str) -> str:
    """``[+]src[:dst]`` with both sides checked as refs; a bare ``refs/...`` source is kept
    under its own name (so it can be checked out by that name)."""
    spec = refspec.removeprefix("+")
    src, colon, dst = spec.partition(":")
    _check_ref(src, "refspec", repr(refspec))
    if colon:
        _check_ref(dst, "refspec", repr(refspec))
        return f"+{src}:{dst}"
    return f"+{src}:{src}" if src.startswith("refs/") else src


def _full_sha(ref: str) -> bool:
    return _FULL_SHA_RE.fullmatch(ref) is not None


def _resolve(repo: Path, ref: str, timeout: float) -> str | None:
    """The commit ``ref`` names in ``repo`` (branch, tag, sha or full name), or None."""
    found = _git(
        ["-C", repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"],
        timeout, f"cannot read {repo}", check=False,
    )  # fmt: skip
    return found.strip() or None


def _fetch(repo: Path, url: str, ref: str, refspec: str, timeout: float) -> None:
    try:
        _git(["-C", repo, "fetch", "--quiet", "--", "origin", refspec], timeout,
             f"cannot fetch {ref} from {_shown(url)}")  # fmt: skip
    except CheckoutError as exc:
        if any(words in str(exc) for words in _NOT_THERE):
            raise CheckoutError(f"no such ref {ref} in {_shown(url)}") from None
        raise


def _worktree_of(dest: Path) -> Path | None:
    """The repository a worktree belongs to, from its ``.git`` file
    (``gitdir: <repo>/worktrees/<name>``)."""
    gitfile = dest / ".git"
    if not gitfile.is_file():
        return None
    try:
        first = gitfile.read_text(encoding="utf-8").splitlines()[0]
    except (OSError, UnicodeDecodeError, IndexError):
        return None
    gitdir = Path(first.removeprefix("gitdir:").strip())
    return gitdir.parent.parent if gitdir.parent.name == "worktrees" else None


def _git(
    args: Sequence[str | os.PathLike[str]], timeout: float, what: str, *, check: bool = True
) -> str:
    """Run git; its stdout. A failure (with ``check``) or the time limit raises
    CheckoutError("<what>: <git's last line of stderr>")."""
    env = {k: v for k, v in os.environ.items() if k not in _REPO_VARS}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_ALLOW_PROTOCOL=_PROTOCOLS, LC_ALL="C")
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")  # no password prompt either
    proc = subprocess.Popen(  # an argv list, never a shell string
        ["git", *map(str, args)], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, errors="replace",
        start_new_session=True,  # its helpers (ssh, git-remote-https) are stopped with it
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise CheckoutError(f"{what}: git did not finish in {timeout:g} s") from None
    if check and proc.returncode != 0:
        lines = [line.strip() for line in err.splitlines() if line.strip()]
        raise CheckoutError(f"{what}: {lines[-1] if lines else f'git exited {proc.returncode}'}")
    return out


def _shown(url: str) -> str:
    """The URL as a message may show it: without a password."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}{host}"))


@contextmanager
def _locked(repo: Path) -> Iterator[None]:
    """Hold ``<repo>.lock`` beside the repository (``abc.git`` -> ``abc.lock``)."""
    with open(repo.with_suffix(".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        yield


def _rmtree(path: Path) -> None:
    def writable(function, name, exc_info) -> None:  # in a read-only folder a project made
        if function not in (os.unlink, os.rmdir):
            raise exc_info[1]
        os.chmod(os.path.dirname(name), 0o700)
        function(name)

    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, onerror=writable)
