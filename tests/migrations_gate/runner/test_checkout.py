"""A project's repository: mirrored once and fetched after, checked out at any kind of ref in a
detached worktree, removed without a trace; bad URLs, missing refs and refs meant as options or
shell commands refused in one line. Real git repositories, made here."""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from migrations_gate.runner import checkout as checkout_module
from migrations_gate.runner.checkout import CheckoutError, checkout, mirror, remove

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}  # fmt: skip


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], env=GIT_ENV, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def commit(repo: Path, text: str) -> str:
    (repo / "schema.txt").write_text(text)
    git(repo, "add", "schema.txt")
    git(repo, "commit", "-q", "-m", text)
    return git(repo, "rev-parse", "HEAD")


def side_ref(repo: Path, ref: str, text: str) -> str:
    """A commit on no branch, reachable only through ``ref`` (as Gerrit keeps a patch set)."""
    git(repo, "checkout", "-q", "--detach")
    sha = commit(repo, text)
    git(repo, "update-ref", ref, sha)
    git(repo, "checkout", "-q", "main")
    return sha


@dataclass
class Origin:
    path: Path
    shas: dict[str, str]  # ref -> commit


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    repo = tmp_path / "origin"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    first = commit(repo, "v1")
    git(repo, "tag", "-a", "v1.0", "-m", "release")  # annotated: its commit is found through it
    git(repo, "checkout", "-q", "-b", "feature")
    feature = commit(repo, "feature")
    git(repo, "checkout", "-q", "main")
    second = commit(repo, "v2")
    shas = {
        "main": second, "feature": feature, "v1.0": first, first: first, second[:10]: second,
        "refs/changes/34/1234/2": side_ref(repo, "refs/changes/34/1234/2", "change 1234/2"),
        "refs/pull/7/head": side_ref(repo, "refs/pull/7/head", "pull 7"),
    }  # fmt: skip
    return Origin(repo, shas)


def contents(dest: Path) -> str:
    return (dest / "schema.txt").read_text()


def one_line(exc: pytest.ExceptionInfo[CheckoutError]) -> str:
    message = str(exc.value)
    assert "\n" not in message and message.strip() == message, repr(message)
    return message


@pytest.mark.parametrize(
    "ref",
    ["main", "feature", "v1.0", "first-sha", "short-sha", "refs/changes/34/1234/2",
     "refs/pull/7/head"],
)  # fmt: skip
def test_each_kind_of_ref_is_checked_out_at_its_commit(origin, tmp_path, ref) -> None:
    ref = {
        "first-sha": origin.shas["v1.0"],
        "short-sha": next(r for r in origin.shas if len(r) == 10),
    }.get(ref, ref)
    m = mirror(str(origin.path), tmp_path / "cache")
    dest = tmp_path / "work"
    sha = checkout(m, ref, dest)
    assert sha == origin.shas[ref] and len(sha) == 40
    assert git(dest, "rev-parse", "HEAD") == sha
    assert git(dest, "status", "--porcelain") == ""
    expected = {"main": "v2", "feature": "feature", "v1.0": "v1", "refs/changes/34/1234/2":
                "change 1234/2", "refs/pull/7/head": "pull 7"}  # fmt: skip
    if ref in expected:
        assert contents(dest) == expected[ref]


def test_the_checkout_is_detached_and_leaves_the_mirror_bare(origin, tmp_path) -> None:
    m = mirror(str(origin.path), tmp_path / "cache")
    dest = tmp_path / "work"
    checkout(m, "main", dest)
    detached = subprocess.run(["git", "-C", str(dest), "symbolic-ref", "-q", "HEAD"], env=GIT_ENV)
    assert detached.returncode == 1  # HEAD names a commit, no branch
    assert git(m, "rev-parse", "--is-bare-repository") == "true"
    assert m.parent == tmp_path / "cache" and m.name.endswith(".git")


def test_one_mirror_per_url_fetched_on_later_calls(origin, tmp_path) -> None:
    cache = tmp_path / "cache"
    m = mirror(str(origin.path), cache)
    assert mirror(str(origin.path) + "/", cache) == m  # one key for one repository
    newer = commit(origin.path, "v3")
    git(origin.path, "tag", "v3.0")
    git(origin.path, "branch", "-D", "feature")
    assert mirror(str(origin.path), cache) == m
    assert checkout(m, "main", tmp_path / "a") == newer
    assert contents(tmp_path / "a") == "v3"
    assert checkout(m, "v3.0", tmp_path / "b") == newer
    with pytest.raises(CheckoutError, match="^no such ref feature in "):  # pruned
        checkout(m, "feature", tmp_path / "c")
    assert sorted(p.name for p in cache.iterdir()) == [m.name, m.with_suffix(".lock").name]


def test_a_ref_or_a_commit_the_mirror_lacks_is_fetched_by_itself(origin, tmp_path) -> None:
    m = mirror(str(origin.path), tmp_path / "cache")
    patch_set = side_ref(origin.path, "refs/changes/34/1234/3", "change 1234/3")
    assert checkout(m, "refs/changes/34/1234/3", tmp_path / "a") == patch_set
    assert contents(tmp_path / "a") == "change 1234/3"
    newer = commit(origin.path, "v3")  # on main, which the mirror has not fetched
    assert checkout(m, newer, tmp_path / "b") == newer
    assert contents(tmp_path / "b") == "v3"
    assert git(m, "rev-parse", "main") == origin.shas["main"]  # the mirror's branches untouched


@pytest.mark.parametrize(
    ("refspec", "ref"),
    [
        ("refs/changes/56/5678/1", "refs/changes/56/5678/1"),
        ("+refs/changes/56/5678/1:refs/zuul/Z1", "refs/zuul/Z1"),
    ],
)
def test_a_refspec_is_fetched_before_the_ref_is_looked_up(origin, tmp_path, refspec, ref) -> None:
    m = mirror(str(origin.path), tmp_path / "cache")
    sha = side_ref(origin.path, "refs/changes/56/5678/1", "change 5678/1")
    assert checkout(m, ref, tmp_path / "work", refspec=refspec) == sha
    assert contents(tmp_path / "work") == "change 5678/1"


def test_a_moved_ref_is_fetched_again_when_its_refspec_is_given(origin, tmp_path) -> None:
    m = mirror(str(origin.path), tmp_path / "cache")
    assert checkout(m, "refs/pull/7/head", tmp_path / "a") == origin.shas["refs/pull/7/head"]
    pushed = side_ref(origin.path, "refs/pull/7/head", "pull 7, pushed again")
    got = checkout(m, "refs/pull/7/head", tmp_path / "b", refspec="refs/pull/7/head")
    assert got == pushed and contents(tmp_path / "b") == "pull 7, pushed again"


def test_remove_leaves_nothing_behind(origin, tmp_path) -> None:
    m = mirror(str(origin.path), tmp_path / "cache")
    dest = tmp_path / "work"
    checkout(m, "main", dest)
    (dest / "made by the project").mkdir()
    (dest / "made by the project" / "db.sqlite3").write_bytes(b"x")
    assert len(git(m, "worktree", "list").splitlines()) == 2
    remove(dest)
    assert not dest.exists()
    assert git(m, "worktree", "list").splitlines() == [f"{m}  (bare)"]
    assert not any((m / "worktrees").glob("*"))
    remove(dest)  # gone already: nothing to do
    checkout(m, "main", dest)  # the place can be used again
    assert contents(dest) == "v2"


def test_a_worktree_deleted_by_hand_is_forgotten_at_the_next_mirror_call(origin, tmp_path) -> None:
    m = mirror(str(origin.path), tmp_path / "cache")
    checkout(m, "main", tmp_path / "work")
    subprocess.run(["rm", "-rf", str(tmp_path / "work")], check=True)
    mirror(str(origin.path), tmp_path / "cache")
    assert git(m, "worktree", "list").splitlines() == [f"{m}  (bare)"]


def test_a_repository_that_cannot_be_cloned_leaves_nothing(tmp_path) -> None:
    cache = tmp_path / "cache"
    missing = tmp_path / "nope"
    with pytest.raises(CheckoutError) as exc:
        mirror(str(missing), cache)
    assert one_line(exc) == f"cannot clone {missing}: fatal: repository '{missing}' does not exist"
    assert [p.suffix for p in cache.iterdir()] == [".lock"]  # no mirror, no half clone


def test_a_password_in_a_url_is_not_shown(tmp_path) -> None:
    with pytest.raises(CheckoutError) as exc:  # port 9 on this machine: refused at once
        mirror("https://user:s3cret@127.0.0.1:9/project.git", tmp_path / "cache", timeout=30)
    message = one_line(exc)
    assert message.startswith("cannot clone https://user@127.0.0.1:9/project.git: ")
    assert "s3cret" not in message


def test_a_clone_that_takes_too_long_is_stopped(origin, tmp_path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(CheckoutError, match=r"^cannot clone .*: git did not finish in 0.0001 s$"):
        mirror(str(origin.path), cache, timeout=0.0001)
    assert [p.suffix for p in cache.iterdir()] == [".lock"]


@pytest.mark.parametrize(
    "ref",
    ["nosuch", "refs/changes/99/9999/1", "0123456789abcdef0123456789abcdef01234567", "abcdef1"],
)
def test_a_missing_ref_is_said_in_one_line(origin, tmp_path, ref) -> None:
    m = mirror(str(origin.path), tmp_path / "cache")
    dest = tmp_path / "work"
    with pytest.raises(CheckoutError) as exc:
        checkout(m, ref, dest)
    assert one_line(exc) == f"no such ref {ref} in {origin.path}"
    assert not dest.exists()
    assert git(m, "worktree", "list").splitlines() == [f"{m}  (bare)"]


MALICIOUS = [
    "--upload-pack=touch {pwned}", "-b", "a;rm -rf /", "$(id)", "`id`", "main\nx", "main x",
    "../x", "x/../../y", "x..y", ".hidden", "HEAD~1", "main^", "x@{1}", "x.lock", "x/", "",
]  # fmt: skip


@pytest.mark.parametrize("ref", MALICIOUS)
def test_a_ref_that_is_an_option_or_a_command_is_refused_before_git_runs(
    tmp_path, monkeypatch, ref
) -> None:
    pwned = tmp_path / "pwned"
    ref = ref.replace("{pwned}", str(pwned))
    fake = tmp_path / "cache" / "x.git"
    fake.mkdir(parents=True)
    (fake / "HEAD").write_text("ref: refs/heads/main\n")

    def no_git(*args, **kwargs):
        raise AssertionError(f"git ran: {args}")

    monkeypatch.setattr(checkout_module.subprocess, "Popen", no_git)
    dest = tmp_path / "work"
    for call in (
        lambda: checkout(fake, ref, dest),
        lambda: checkout(fake, "main", dest, refspec=ref),
        lambda: checkout(fake, "main", dest, refspec=f"+refs/x:{ref}"),
    ):
        with pytest.raises(CheckoutError) as exc:
            call()
        assert one_line(exc).startswith(("refused ref ", "refused refspec "))
    assert not dest.exists() and not pwned.exists()


@pytest.mark.parametrize("url", ["--upload-pack=touch {pwned}", "-oProxyCommand=x", "", "a\nb"])
def test_a_url_that_is_an_option_is_refused_before_git_runs(tmp_path, monkeypatch, url) -> None:
    pwned = tmp_path / "pwned"
    monkeypatch.setattr(checkout_module.subprocess, "Popen", None)
    with pytest.raises(CheckoutError) as exc:
        mirror(url.replace("{pwned}", str(pwned)), tmp_path / "cache")
    assert one_line(exc).startswith("refused repository ")
    assert not pwned.exists() and not (tmp_path / "cache").exists()


def test_a_url_whose_transport_runs_a_command_is_refused_by_git(tmp_path) -> None:
    pwned = tmp_path / "pwned"
    with pytest.raises(CheckoutError) as exc:
        mirror(f"ext::sh -c touch% {pwned}", tmp_path / "cache")
    assert one_line(exc).startswith("cannot clone ext::sh -c touch% ")
    assert not pwned.exists()


def test_a_checkout_over_files_is_refused(origin, tmp_path) -> None:
    m = mirror(str(origin.path), tmp_path / "cache")
    dest = tmp_path / "work"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    with pytest.raises(CheckoutError, match="it exists and is not empty$"):
        checkout(m, "main", dest)
    assert (dest / "keep.txt").read_text() == "mine"
    empty = tmp_path / "empty"
    empty.mkdir()
    checkout(m, "main", empty)  # an empty folder is fine
    assert contents(empty) == "v2"


def test_a_missing_mirror_is_said(tmp_path) -> None:
    with pytest.raises(CheckoutError, match=r"^\S+/nothing\.git: no such mirror$"):
        checkout(tmp_path / "nothing.git", "main", tmp_path / "work")


def test_concurrent_callers_share_one_mirror_and_one_clone(origin, tmp_path) -> None:
    cache = tmp_path / "cache"
    with ThreadPoolExecutor(4) as pool:  # each opens the lock file: flock keeps them apart
        paths = list(pool.map(lambda _: mirror(str(origin.path), cache), range(4)))
    assert len(set(paths)) == 1
    assert sorted(p.suffix for p in cache.iterdir()) == [".git", ".lock"]
    with ThreadPoolExecutor(3) as pool:
        shas = list(pool.map(lambda i: checkout(paths[0], "feature", tmp_path / f"w{i}"), range(3)))
    assert shas == [origin.shas["feature"]] * 3
    for i in range(3):
        remove(tmp_path / f"w{i}")
    assert git(paths[0], "worktree", "list").splitlines() == [f"{paths[0]}  (bare)"]
