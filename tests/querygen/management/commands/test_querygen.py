"""manage.py querygen: run, work, groups, replay, pairs, start."""

from __future__ import annotations

import io
import sqlite3

import pytest
from django.core.management import CommandError, call_command

from core.models import Engine, JobState
from querygen.models import Finding, Group, GroupStatus, KnownIssue, Pair, QuerygenRun
from querygen.services.demo import DEMO_KNOWN_ISSUES

pytestmark = pytest.mark.django_db

REAL = [
    "--sut", "qg-duckdb", "--reference", "qg-sqlite", "--seed", "3", "--timeout", "1",
    "--data", "dataset",
]  # fmt: skip


def querygen(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("querygen", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_run_reports_and_its_findings_list_and_replay(qg_engines):
    out, err = querygen("run", *REAL, "--queries", "40", "--label", "cli")
    run = QuerygenRun.objects.get()
    assert run.state == JobState.SUCCEEDED and run.label == "cli" and run.queries == 40
    assert run.findings  # the dataset's NaN and decimals differ between the two engines
    assert f"run {run.pk}: differential qg-duckdb vs qg-sqlite, seed 3, budget 40 queries" in out
    assert f"querygen run {run.pk}: differential qg-duckdb vs qg-sqlite" in out
    assert f"{run.findings} findings" in out and f"results run: querygen-custom_{run.pk}" in out
    assert "40/40" in err  # the progress bar, at its end

    listing, _ = querygen("groups")
    assert "signature" in listing and "status" in listing and "title" in listing
    for group in Group.objects.all():
        assert group.signature in listing and group.title[:60] in listing
    assert querygen("groups", "--status", "known")[0].strip() == "no groups with status known"

    finding = Finding.objects.filter(run=run).order_by("pk").first()
    replayed, _ = querygen("replay", str(finding.pk))
    assert f"finding {finding.pk} ({finding.kind}, seed 3, query {finding.index})" in replayed
    assert "reproduced" in replayed and "NOT" not in replayed
    original, _ = querygen("replay", str(finding.pk), "--original")
    assert "original query replayed" in original and "NOT" not in original


def test_detach_then_work(qg_engines, tmp_path):
    profile = tmp_path / "small.yaml"
    profile.write_text("max_tables: 1\np_window: 0\n")
    out, _ = querygen(
        "run", "--sut", "qg-sqlite", "--oracle", "tlp", "--queries", "3", "--minutes", "0.5",
        "--profile", str(profile), "--detach",
    )  # fmt: skip
    run = QuerygenRun.objects.get()
    assert run.state == JobState.QUEUED and f"querygen work {run.pk}" in out
    assert run.budget_seconds == 30 and run.profile == {"max_tables": 1, "p_window": 0}
    worked, _ = querygen("work", str(run.pk), "--no-progress")
    run.refresh_from_db()
    assert run.state == JobState.SUCCEEDED and run.queries == 3
    assert f"querygen run {run.pk}: tlp on qg-sqlite" in worked


def test_a_failed_run_is_a_command_error(db, tmp_path):
    for name in ("a", "b"):
        path = tmp_path / f"{name}.sqlite"
        sqlite3.connect(path).close()  # an empty database: no table in common
        Engine.objects.create(name=name, kind="sqlite", path=str(path))
    with pytest.raises(CommandError, match=r"run \d+ failed: .*a vs b") as info:
        querygen(
            "run", "--sut", "a", "--reference", "b", "--queries", "5", "--no-progress",
            "--data", "dataset",
        )  # fmt: skip
    assert "\n" not in str(info.value)
    assert QuerygenRun.objects.get().state == JobState.FAILED


TLP = ["run", "--sut", "qg-duckdb", "--oracle", "tlp", "--queries", "5"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--sut", "ghost", "--queries", "5"], "No engine named 'ghost'"),
        (["run", "--sut", "qg-duckdb", "--reference", "qg-sqlite"], "needs a budget"),
        (["run", "--sut", "qg-duckdb", "--minutes", "0"], "--minutes must be more than 0"),
        (["run", "--sut", "qg-duckdb", "--queries", "5"], "needs a reference engine"),
        ([*TLP, "--reference", "qg-sqlite"], "give no reference"),
        ([*TLP, "--python", "python3"], "not an absolute path"),
        ([*TLP, "--profile", "missing.json"], "Cannot read the profile missing.json"),
        ([*TLP, "--profile", "BAD_KEY"], "unknown setting 'max_joinz'"),
        ([*TLP, "--profile", "BAD_YAML"], "is not valid JSON or YAML"),
        (["replay", "999"], "There is no finding 999"),
        (["work", "999"], "There is no querygen run 999"),
        (["start", "ghost"], "There is no pair named 'ghost'"),
    ],
)
def test_bad_input_is_a_one_line_error(qg_engines, tmp_path, args, message):
    files = {"BAD_KEY": ("bad.json", '{"max_joinz": 2}'), "BAD_YAML": ("bad.yaml", "a: [1\n")}
    for key, (name, text) in files.items():
        if key in args:
            (tmp_path / name).write_text(text)
            args = [str(tmp_path / name) if a == key else a for a in args]
    with pytest.raises(CommandError, match=message) as info:
        querygen(*args)
    assert "\n" not in str(info.value)
    assert not QuerygenRun.objects.exists()


def test_pairs_and_start(qg_engines):
    assert querygen("pairs")[0].strip() == "no pairs (add one in the admin)"
    duck, lite = qg_engines
    Pair.objects.create(name="nightly", sut=duck, reference=lite, budget_queries=40)
    listing, _ = querygen("pairs")
    assert "nightly" in listing and "differential qg-duckdb vs qg-sqlite" in listing
    assert "never" in listing
    out, _ = querygen("start", "nightly")
    run = QuerygenRun.objects.get()
    assert f"run {run.pk} of nightly queued" in out
    assert run.pair.name == "nightly" and run.budget_queries == 40
    assert run.state == JobState.QUEUED


def test_groups_table_filters_by_status(qg_engines):
    from django.utils import timezone

    duck, lite = qg_engines
    run = QuerygenRun.objects.create(sut=duck, reference=lite, seed=1, budget_queries=1)
    now = timezone.now()
    for signature, status in [("s-new", GroupStatus.NEW), ("s-known", GroupStatus.KNOWN)]:
        Group.objects.create(
            scope=run.scope, signature=signature, kind="error", shape="S", title=f"t {signature}",
            status=status, count=3, first_seen=now, last_seen=now,
        )  # fmt: skip
    out, _ = querygen("groups", "--status", "known")
    assert "s-known" in out and "s-new" not in out and "known" in out
    assert "s-new" in querygen("groups")[0]


def test_demo_makes_the_pair_make_run_starts(db, nan_files):
    with pytest.raises(CommandError, match="datagen demo"):
        querygen("demo")
    Engine.objects.create(name="querygen-duckdb", kind="duckdb", path=str(nan_files[0]))
    Engine.objects.create(name="querygen-sqlite", kind="sqlite", path=str(nan_files[1]))
    out, _ = querygen("demo")
    assert "duckdb-vs-sqlite: differential querygen-duckdb vs querygen-sqlite" in out
    Pair.objects.filter(name="duckdb-vs-sqlite").update(every_minutes=45)  # an admin's edit
    querygen("demo")
    pair = Pair.objects.get()
    assert pair.every_minutes == 45 and pair.enabled and pair.budget_seconds == 900
    assert pair.profile == {}  # the defaults: databases of querygen's own
    assert KnownIssue.objects.count() == len(DEMO_KNOWN_ISSUES)  # created once
    # Due at once: the schedule's first tick starts it.
    from querygen.services.runs import start_due_runs

    assert [r.pair for r in start_due_runs()] == [pair]
