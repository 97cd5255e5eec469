"""The gate's read paths: checks filtered, the migrations-by-datasets table (datasets at
different schemas, measured and not), a log read for the viewer (a failure, a timeout, a retried
attempt, warnings, a long log, a long line) and which log files a check may show."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrations_gate import selectors
from migrations_gate.models import Check, Dataset, Project

pytestmark = pytest.mark.django_db

T = "2026-01-02T03:04:05+00:00 "


def step(name: str, status: str = "ok", seconds: float = 0.5, **measures) -> dict:
    return {"migration": name, "status": status, "seconds": seconds, "wal_bytes": None,
            "size_change_bytes": None, "rewritten": None, "locks": None, **measures}  # fmt: skip


def record(name: str, steps: list[dict], outcome: str = "SUCCESS", findings=()) -> dict:
    return {"dataset": name, "outcome": outcome, "error": "", "findings": list(findings),
            "steps": steps, "left": 0}  # fmt: skip


@pytest.fixture
def project() -> Project:
    project = Project.objects.create(name="shop", repository="/r", kind="django")
    for name in ("big", "small"):
        project.datasets.add(Dataset.objects.create(name=name, kind="sqlite", source="s"))
    return project


def write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{T}{line}\n" for line in lines))
    return path


# --- checks and the table -----------------------------------------------------------------------


def test_checks_newest_first_filtered_by_project_and_outcome(project):
    other = Project.objects.create(name="other", repository="/o", kind="sql")
    a = Check.objects.create(project=project, ref="a", outcome="SUCCESS")
    b = Check.objects.create(project=other, ref="b", outcome="FAILURE")
    c = Check.objects.create(project=project, ref="c", outcome="FAILURE")
    queued = Check.objects.create(project=project, ref="d")
    assert list(selectors.checks()) == [queued, c, b, a]
    assert list(selectors.checks(project="shop")) == [queued, c, a]
    assert list(selectors.checks(project="shop", outcome="FAILURE")) == [c]
    assert selectors.outcome_counts() == {"SUCCESS": 1, "WARNING": 0, "FAILURE": 2,
                                          "INTERNAL_ERROR": 0}  # fmt: skip
    assert selectors.project_names() == ["other", "shop"]


def test_the_table_puts_an_older_dataset_s_migrations_in_their_place(project):
    lock = {"relation": "public.t", "mode": "AccessExclusiveLock", "seconds": 1.5, "waited": False}
    share = {"relation": "public.u", "mode": "ShareLock", "seconds": 3.0, "waited": False}
    check = Check(project=project, datasets=[
        record("small", [step("m3"), step("m4", "failed")], "FAILURE",
               [{"outcome": "FAILURE", "code": "failed", "migration": "m4", "message": "boom"}]),
        record("big", [step("m1", locks=[], wal_bytes=10, rewritten=[]),
                       step("m2", locks=[lock, share], wal_bytes=99, rewritten=["public.t"]),
                       step("m3", "timeout", locks=[], wal_bytes=0, rewritten=[])]),
    ])  # fmt: skip
    table = selectors.matrix(check)
    assert table.datasets == ["small", "big"]
    assert [r.migration for r in table.rows] == ["m1", "m2", "m3", "m4"]
    assert [r.anchor for r in table.rows] == ["m-m1", "m-m2", "m-m3", "m-m4"]
    by = {r.migration: r.cells for r in table.rows}
    assert by["m1"][0] is None and by["m4"][1] is None  # not run there
    small_m4 = by["m4"][0]
    assert small_m4.bad and not small_m4.measured and small_m4.findings[0]["message"] == "boom"
    big_m2 = by["m2"][1]
    assert big_m2.measured and not big_m2.bad and big_m2.dataset == "big"
    assert big_m2.exclusive == [("public.t", 1.5, False)]  # only ACCESS EXCLUSIVE
    assert big_m2.rewritten == ["public.t"] and big_m2.wal_bytes == 99
    assert by["m3"][1].bad and by["m3"][1].status == "timeout" and not by["m3"][0].bad


def test_findings_carry_their_migration_s_anchor(project):
    finding = {"outcome": "WARNING", "code": "too_long", "migration": "V2__add col.sql",
               "message": "slow"}  # fmt: skip
    check = Check(project=project, datasets=[
        record("big", [], "WARNING", [finding, {**finding, "migration": ""}])])  # fmt: skip
    (shown,) = selectors.dataset_findings(check)
    assert [f["anchor"] for f in shown["findings"]] == ["m-V2__add_col.sql", ""]
    assert selectors.anchor('a"b<c>') == "m-a_b_c_"


# --- which logs -----------------------------------------------------------------------------------


def test_a_check_shows_only_its_own_datasets_logs(project):
    check = Check.objects.create(project=project, ref="x", outcome="SUCCESS",
                                 datasets=[record("small", [])])  # fmt: skip
    write(check.log_dir / "small.log", ["hello"])
    write(check.log_dir / "big.log", ["not this check's"])
    assert selectors.dataset_names(check) == ["small"]
    assert selectors.dataset_log(check, "small") == (check.log_dir / "small.log").resolve()
    for name in ("big", "job", "../job", "..", "small/../job", "/etc/passwd", ""):
        assert selectors.dataset_log(check, name) is None, name
    check.datasets = [record("../job", [])]  # a record edited by hand
    assert selectors.dataset_log(check, "../job") is None


def test_a_check_not_finished_shows_its_project_s_datasets(project):
    check = Check.objects.create(project=project, ref="x")
    assert selectors.dataset_names(check) == ["big", "small"]
    assert selectors.dataset_log(check, "big") is None  # not written yet
    write(check.log_dir / "big.log", ["dataset big: cloning"])
    assert selectors.dataset_log(check, "big") is not None
    check.outcome = "INTERNAL_ERROR"  # finished with no record: nothing to show
    assert selectors.dataset_names(check) == []


# --- a log read for the viewer ------------------------------------------------------------------


def test_a_log_s_failure_timeout_and_verdict_are_marked(tmp_path):
    path = write(tmp_path / "d.log", [
        "dataset d: cloning",                                      # 1
        "=== start app.0001",                                      # 2
        "Applying app.0001... OK",                                 # 3
        "=== end app.0001 ok in 0.120s",                           # 4
        "=== start app.0002",                                      # 5
        "Applying app.0002...Traceback (most recent call last):",  # 6
        '  File "x.py", line 1, in f',                             # 7
        "psycopg.errors.DuplicateColumn: column exists",           # 8
        "",                                                        # 9
        "=== end app.0002 FAILED in 0.250s",                       # 10
        "FAILURE: d: migration app.0002 failed: column exists",    # 11
        "WARNING: d: app.0001 took long",                          # 12
        "dataset d: FAILURE",                                      # 13
    ])  # fmt: skip
    log = selectors.read_log(path, [step("app.0001"), step("app.0002", "failed"), step("app.0003")])
    kinds = {line.number: line.kind for line in log.lines}
    assert kinds == {
        1: "",
        2: "start",
        3: "",
        4: "end",
        5: "start",
        6: "error",
        7: "",
        8: "error",
        9: "",
        10: "end-failed",
        11: "failure",
        12: "warning",
        13: "",
    }
    assert [n.number for n in log.lines if n.in_failed] == [5, 6, 7, 8, 9, 10]
    assert log.lines[0].stamp == T.strip() and log.lines[0].text == "dataset d: cloning"
    first, second, third = log.toc
    assert (first.migration, first.status, first.seconds, first.line) == ("app.0001", "ok", 0.12, 2)
    assert (second.status, second.seconds, second.line) == ("failed", 0.25, 5)
    assert [e.number for e in second.errors] == [6, 8, 10]
    assert (third.migration, third.line) == ("app.0003", None)  # in the record, not the log
    assert [f.number for f in log.findings] == [11, 12] and not log.truncated
    assert {line.anchor for line in log.lines if line.anchor} == {"m-app.0001", "m-app.0002"}


def test_a_migration_stopped_at_the_time_limit(tmp_path):
    path = write(tmp_path / "d.log", ["=== start s.1", "working", "still working",
                                      "=== stopped at the check's time limit"])  # fmt: skip
    (entry,) = selectors.read_log(path).toc
    assert entry.status == "timeout" and [e.number for e in entry.errors] == [3, 4]
    assert [line.kind for line in selectors.read_log(path).lines] == ["start", "", "error",
                                                                     "stopped"]  # fmt: skip


def test_a_retried_attempt_is_anchored_at_its_last_start(tmp_path):
    path = write(tmp_path / "d.log", ["=== start a.1", "=== end a.1 FAILED in 1s", "=== start a.1",
                                      "=== end a.1 ok in 0.5s", "=== start a.2"])  # fmt: skip
    log = selectors.read_log(path)
    assert [(e.line, e.status) for e in log.toc] == [(1, "failed"), (3, "ok"), (5, "running")]
    assert [line.number for line in log.lines if line.anchor == "m-a.1"] == [3]


def test_a_long_log_is_cut_and_a_long_line_too(tmp_path):
    path = write(tmp_path / "d.log", [f"line {n}" for n in range(1, 30)] + ["=== start late"])
    log = selectors.read_log(path, [step("late")], limit=10)
    assert [line.number for line in log.lines] == list(range(1, 11)) and log.truncated
    assert [(e.migration, e.line) for e in log.toc] == [("late", None)]
    exact = selectors.read_log(path, limit=30)
    assert len(exact.lines) == 30 and not exact.truncated
    (tmp_path / "wide.log").write_bytes(b"x" * 10_000 + b"\n\xff\xfe not utf-8\n")
    wide, odd = selectors.read_log(tmp_path / "wide.log").lines
    assert wide.cut and len(wide.text) == selectors.LINE_CHARS_SHOWN and wide.stamp == ""
    assert odd.text == "\ufffd\ufffd not utf-8" and not odd.cut


def test_a_migration_whose_driver_died_is_failed_by_the_record(tmp_path):
    path = write(tmp_path / "d.log", ["=== start a.1", "Killed", "FAILURE: d: a.1 did not end",
                                      "dataset d: FAILURE"])  # fmt: skip
    log = selectors.read_log(path, [step("a.1", "failed", 2.0)])
    (entry,) = log.toc
    assert (entry.status, entry.seconds, [e.number for e in entry.errors]) == ("failed", 2.0, [2])
    assert [line.in_failed for line in log.lines] == [True, True, False, False]
    running = selectors.read_log(path)  # no record yet (a check still running)
    assert running.toc[0].status == "running" and not any(x.in_failed for x in running.lines)


def test_datasets_with_their_rows_and_schema_version(project):
    Dataset.objects.filter(name="big").update(
        tables={"a": 2, "b": 40}, schema_version={"django": {"shop": "0004_x", "auth": "0012"},
                                                   "alembic": ["a3"], "flyway": "7"})  # fmt: skip
    by = {row.dataset.name: row for row in selectors.datasets()}
    assert by["big"].rows == 42 and by["small"].rows == 0
    assert by["big"].schema == ["django: shop 0004_x, auth 0012", "alembic: a3", "flyway: 7"]
    assert [p.name for p in by["big"].dataset.projects.all()] == ["shop"]
