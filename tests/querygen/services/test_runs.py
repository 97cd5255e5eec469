"""querygen runs through the app: submitted, executed as jobs on real engines, findings reduced
and grouped, recorded in results, reported; pairs started by the schedule; replays."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.contrib.auth.models import Group as Group_
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

from core import jobs
from core.exceptions import AssayError
from core.jobs import LeaseLost
from core.models import Engine, JobState
from querygen.engine.compare import Kind
from querygen.engine.profile import Profile
from querygen.engine.runner import FailedCheck
from querygen.models import Finding, Group, GroupStatus, KnownIssue, Pair, QuerygenRun
from querygen.services import groups, runs
from results.models import TestResult, TestRun
from tests.querygen.conftest import OVERFLOWING

# Findings, groups and checkpoints are written under row locks and conditional updates: the
# PostgreSQL pass runs these too.
pytestmark = pytest.mark.db_dependent

LABEL = "querygen.QuerygenRun"
# The tables of the engines' files (the NaN dataset): where these tests' differences are.
DATASET = {"data": "dataset"}


def execute(run: QuerygenRun) -> QuerygenRun:
    assert jobs.run_job(LABEL, run.pk) == "succeeded", QuerygenRun.objects.get(pk=run.pk).error
    run.refresh_from_db()
    return run


def nan_run(**options) -> QuerygenRun:
    base = {
        "sut": "nan-duckdb",
        "reference": "nan-sqlite",
        "budget_queries": 60,
        "seed": 1,
        "profile": DATASET,
    }
    return execute(runs.submit_run(**{**base, **options}))


# --- the package ----------------------------------------------------------------------------------


def test_every_name_of_the_package_resolves() -> None:
    """Each stage loads when one of its names is used (lazy_loader): every name still does."""
    assert [name for name in runs.__all__ if getattr(runs, name, None) is None] == []


# --- submitting -----------------------------------------------------------------------------------


def _not_executable(tmp_path: Path) -> str:
    path = tmp_path / "python"
    path.write_text("#!/bin/sh\n")
    return str(path)


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"sut": "nope"}, "engine_not_found"),
        ({"reference": None}, "reference_required"),
        ({"oracle": "tlp"}, "reference_unused"),
        ({"oracle": "fuzz"}, "bad_oracle"),
        ({"profile": {"max_depht": 2}}, "bad_profile"),
        ({"profile": {"p_where": 2}}, "bad_profile"),
        ({"budget_queries": None}, "budget_required"),
        ({"budget_queries": 0}, "bad_budget_queries"),
        ({"budget_seconds": -5}, "bad_budget_seconds"),
        ({"budget_seconds": 10**6}, "bad_budget_seconds"),  # past the django-q task timeout
        ({"timeout": 0}, "bad_timeout"),
        ({"timeout": "1"}, "bad_timeout"),
        ({"seed": -1}, "bad_seed"),
        ({"max_rows": 0}, "bad_max_rows"),
        ({"sut_python": "python3"}, "bad_python"),
        ({"sut_python": "NOT_EXECUTABLE"}, "bad_python"),
    ],
)
def test_bad_submissions_say_what_is_wrong_and_create_nothing(
    nan_engines, tmp_path, options, code
) -> None:
    if options.get("sut_python") == "NOT_EXECUTABLE":
        options = {"sut_python": _not_executable(tmp_path)}
    base = {"sut": "nan-duckdb", "reference": "nan-sqlite", "budget_queries": 10}
    with pytest.raises(AssayError) as raised:
        runs.submit_run(**{**base, **options})
    assert raised.value.code == code, raised.value.detail
    assert QuerygenRun.objects.count() == 0


def test_engines_that_cannot_be_used_are_refused_at_submission(nan_engines, tmp_path) -> None:
    Engine.objects.create(name="gone", kind="duckdb", path=str(tmp_path / "missing.duckdb"))
    Engine.objects.create(
        name="pg", kind="postgresql", host="localhost", database="x", password_env="QG_NO_SUCH_PW"
    )
    with pytest.raises(AssayError, match="does not exist"):
        runs.submit_run(sut="gone", reference="nan-sqlite", budget_queries=5, profile=DATASET)
    with pytest.raises(AssayError, match="QG_NO_SUCH_PW"):
        runs.submit_run(sut="nan-duckdb", reference="pg", budget_queries=5, profile=DATASET)
    with pytest.raises(AssayError, match="embedded engine"):
        os.environ["QG_NO_SUCH_PW"] = "x"
        try:
            runs.submit_run(
                sut="pg",
                oracle="norec",
                sut_python=sys.executable,
                budget_queries=5,
                profile=DATASET,
            )
        finally:
            del os.environ["QG_NO_SUCH_PW"]
    assert QuerygenRun.objects.count() == 0


def test_only_listed_interpreters_when_a_list_is_set(nan_engines, settings) -> None:
    settings.ASSAY_QUERYGEN_PYTHONS = ["/opt/duckdb-dev/bin/python"]
    with pytest.raises(AssayError, match="ASSAY_QUERYGEN_PYTHONS"):
        runs.submit_run(
            sut="nan-duckdb", reference="nan-sqlite", sut_python=sys.executable, budget_queries=5
        )


def test_a_private_build_needs_the_permission_of_who_asks(nan_engines, django_user_model) -> None:
    """The web's callers pass their user: a CI user may start runs, not a private build's
    interpreter; the CLI and the schedule (no user) are trusted."""
    ci = django_user_model.objects.create_user("ci-runner")
    ci.groups.add(Group_.objects.get(name="CI"))
    private = {"sut": "nan-duckdb", "reference": "nan-sqlite", "budget_queries": 5}
    with pytest.raises(PermissionDenied, match="private build"):
        runs.submit_run(user=ci, sut_python=sys.executable, **private)
    assert QuerygenRun.objects.count() == 0
    runs.submit_run(user=ci, **private)
    runs.submit_run(sut_python=sys.executable, **private)
    assert QuerygenRun.objects.count() == 2


# --- the proof: a real difference found, reduced and grouped ---------------------------------


def test_a_real_difference_is_found_reduced_and_grouped(nan_engines) -> None:
    """DuckDB keeps NaN; SQLite reads a stored NaN back as NULL. Dozens of generated queries
    show it; their reduced queries collapse into a few groups, each a two-line query."""
    run = nan_run()
    assert run.state == JobState.SUCCEEDED
    assert run.queries == 60
    kinds = ("matches", "errors", "row_counts", "contents", "crashes", "timeouts", "too_big")
    assert sum(getattr(run, k) for k in (*kinds, "both_errors")) == 60
    assert run.findings == Finding.objects.filter(run=run).count() >= 10
    assert run.findings == run.errors + run.row_counts + run.contents + run.crashes
    assert run.crashes == run.timeouts == 0
    assert "DuckDB" in run.sut_version or run.sut_version.startswith("v")
    found = Group.objects.filter(first_run=run)
    assert found.count() < run.findings, [g.title for g in found]
    biggest = found.order_by("-count").first()
    # The biggest group is the NaN column read as it is: SELECT t.v FROM measures AS t. The
    # others are the NaN in a predicate, one group per operator (v > 0, v IS NULL, v = v...).
    assert biggest.count * 3 >= run.findings and biggest.count >= 4
    assert biggest.reduced and biggest.kind == "content"
    assert biggest.shape == "Select(Column from:From(Table)) columns:FLOAT"
    for group in found:  # and every group reads the column holding NaN
        assert "FLOAT" in group.shape.rsplit("columns:", 1)[1], group.shape
    sample = biggest.samples.exclude(reduced_query="").order_by("pk").first()
    assert sample.reduced_size * 3 <= sample.original_size
    # Later findings whose answers differ the same way (NaN where SQLite has NULL) join the
    # group without a reduction of their own.
    assert "NaN>NULL" in sample.difference
    reduced_keys = set(
        biggest.samples.exclude(reduced_query="").values_list("difference", flat=True)
    )
    attached = biggest.samples.filter(reduction_checks=0)
    assert attached.exists()
    assert set(attached.values_list("difference", flat=True)) <= reduced_keys
    reduced = sample.reduced_sql["sut"]
    assert "measures" in reduced and len(reduced) < len(sample.sql["sut"]), reduced
    duck, lite = sample.results
    assert (duck["side"], duck["engine"], lite["engine"]) == ("sut", "nan-duckdb", "nan-sqlite")
    differing = {str(duck["rows"][n][0]) for n in duck["marked"]} | {
        str(row[0]) for row in duck["only"]
    }
    assert "nan" in differing
    assert all(lite["rows"][n] == [None] or lite["rows"][n][0] is None for n in lite["marked"])
    assert run.reductions == Finding.objects.filter(run=run, reduction_checks__gt=0).count() >= 1

    # Recorded in results: a failing test per group, a passing summary.
    assert run.results_run == f"querygen-custom_{run.pk}"
    results = TestResult.objects.filter(run__name=run.results_run)
    statuses = dict(results.values_list("test_name", "status"))
    assert statuses.pop("querygen.custom.summary") == "P"
    assert set(statuses) == {f"querygen.custom.groups.{g.signature}" for g in found}
    assert set(statuses.values()) == {"F"}
    # And reported.
    assert f"{run.findings} findings" in run.report
    assert biggest.title[:60] in run.report


def test_known_issues_silence_groups_and_a_known_group_is_recorded_as_known(nan_engines) -> None:
    KnownIssue.objects.create(
        pattern=r"(?s)^row_count\b", url="https://example.org/nan-predicates", action="silence"
    )
    first = nan_run()
    ignored = Group.objects.filter(kind="row_count")
    assert ignored.exists() and set(ignored.values_list("status", flat=True)) == {"ignored"}
    assert {g.link for g in ignored} == {"https://example.org/nan-predicates"}
    assert first.silenced == Finding.objects.filter(group__in=ignored).count() > 0
    recorded = dict(
        TestResult.objects.filter(run__name=first.results_run).values_list("test_name", "status")
    )
    for group in ignored:  # silenced: not in results
        assert f"querygen.custom.groups.{group.signature}" not in recorded

    nan_group = Group.objects.filter(kind="content").order_by("-count").first()
    groups.set_status(nan_group, "known", link="https://example.org/sqlite-nan")
    count = nan_group.count
    second = nan_run()  # the same queries: the same findings, in the same groups
    nan_group.refresh_from_db()
    assert nan_group.last_run == second and nan_group.first_run == first
    assert nan_group.count == 2 * count == Finding.objects.filter(group=nan_group).count()
    assert nan_group.status == GroupStatus.KNOWN
    recorded = dict(
        TestResult.objects.filter(run__name=second.results_run).values_list("test_name", "status")
    )
    assert recorded[f"querygen.custom.groups.{nan_group.signature}"] == "k"
    assert second.findings == first.findings and Group.objects.count() == len(
        set(Finding.objects.filter(run=first).values_list("group", flat=True))
    )


def test_a_fixed_group_that_comes_back_is_new_again(nan_engines) -> None:
    nan_run()
    group = Group.objects.order_by("-count").first()
    groups.set_status(group, "fixed", note="fixed upstream")
    second = nan_run(seed=11)  # other queries: reduced again, signed into the same group
    group.refresh_from_db()
    assert group.status == GroupStatus.NEW
    assert group.note.startswith("fixed upstream\n")
    assert f"seen again in run {second.pk}" in group.note
    assert Finding.objects.filter(run=second, group=group, reduction_checks__gt=0).exists()


def test_set_status_checks_its_input(nan_engines) -> None:
    nan_run(budget_queries=20)
    group = Group.objects.first()
    with pytest.raises(AssayError, match="needs a link"):
        groups.set_status(group, "known")
    with pytest.raises(AssayError, match="not an http"):
        groups.set_status(group, "known", link="javascript:alert(1)")
    with pytest.raises(AssayError, match="Unknown status"):
        groups.set_status(group, "solved")
    group.refresh_from_db()
    assert group.status == GroupStatus.NEW and group.link == ""


# --- a run picked up again ------------------------------------------------------------------------


def test_a_run_queued_again_goes_on_from_its_checkpoint(nan_engines) -> None:
    """What the reaper does after a worker died: the row goes back to queued, and the next
    attempt starts at the checkpoint, counts and findings kept, none twice."""
    whole = nan_run(budget_queries=50)
    whole_findings = sorted(whole.finding_rows.values_list("index", flat=True))

    part = nan_run(budget_queries=25)
    assert part.next_index == 25
    QuerygenRun.objects.filter(pk=part.pk).update(state=JobState.QUEUED, budget_queries=50)
    resumed = execute(part)
    assert resumed.queries == 50 and resumed.next_index == 50
    assert sorted(resumed.finding_rows.values_list("index", flat=True)) == whole_findings
    for field in ("matches", "errors", "row_counts", "contents", "reference_ok"):
        assert getattr(resumed, field) == getattr(whole, field), field


def test_a_finding_recorded_twice_is_one_row(nan_engines) -> None:
    run = nan_run(budget_queries=30)
    finding = run.finding_rows.first()
    group = finding.group
    count = group.count
    again = FailedCheck(
        seed=finding.seed,
        index=finding.index,
        kind=Kind(finding.kind),
        sql=finding.sql,
        detail="",
        errors={},
        shape="",
        signature=finding.raw_signature,
        known=None,
        check=None,
    )
    assert groups.record_finding(run, again, None, group, []) is None
    group.refresh_from_db()
    assert group.count == count


# --- other oracles and engines -------------------------------------------------------------------


@pytest.mark.parametrize("oracle", ["tlp", "norec"])
def test_single_engine_oracles_run_on_one_engine(nan_engines, oracle) -> None:
    run = execute(
        runs.submit_run(sut="nan-sqlite", oracle=oracle, budget_queries=40, seed=2, profile=DATASET)
    )
    assert run.queries == 40 and run.reference is None
    assert run.scope == f"{oracle} on nan-sqlite"
    assert run.findings == run.finding_rows.count()
    assert TestRun.objects.filter(name=run.results_run).exists()


def test_the_plan_oracle_runs_on_one_duckdb_engine(nan_engines) -> None:
    run = execute(
        runs.submit_run(sut="nan-duckdb", oracle="plan", budget_queries=40, seed=2, profile=DATASET)
    )
    assert run.queries == 40 and run.reference is None
    assert run.scope == "plan on nan-duckdb"
    assert run.matches >= 30, run.report
    assert run.findings == run.finding_rows.count()
    assert TestRun.objects.filter(name=run.results_run).exists()


def test_the_plan_oracle_needs_an_optimizer_to_switch_off(nan_engines) -> None:
    with pytest.raises(AssayError) as raised:
        runs.submit_run(sut="nan-sqlite", oracle="plan", budget_queries=5, profile=DATASET)
    assert raised.value.code == "oracle_unsupported"
    assert "DuckDB or PostgreSQL" in raised.value.detail
    assert QuerygenRun.objects.count() == 0


@pytest.mark.postgresql_only
def test_the_plan_oracle_runs_on_postgresql(db, querygen_pg) -> None:
    """The second run of each query goes to connections opened from the row's conninfo."""
    pg_engine_row(querygen_pg)
    run = execute(
        runs.submit_run(
            sut="qg-pg", oracle="plan", budget_queries=40, seed=2, timeout=2, profile=DATASET
        )
    )
    assert run.queries == 40 and run.sut_version.startswith("PostgreSQL")
    assert run.matches >= 30, run.report
    assert run.findings == run.finding_rows.count()


def test_a_private_build_runs_in_its_own_interpreter(nan_engines) -> None:
    """The system under test through IsolatedClient: here this very interpreter, in another
    process; a private build is another virtualenv's python."""
    run = execute(
        runs.submit_run(
            sut="nan-duckdb",
            reference="nan-sqlite",
            sut_python=sys.executable,
            budget_queries=30,
            seed=3,
            profile=DATASET,
        )
    )
    assert run.scope == f"differential nan-duckdb@{sys.executable} vs nan-sqlite"
    assert run.queries == 30 and run.findings > 0
    sample = run.finding_rows.first()
    assert sample.engines["sut"] == f"nan-duckdb@{sys.executable}"


def test_an_engine_that_cannot_open_fails_the_run_with_its_reason(nan_engines, tmp_path) -> None:
    broken = tmp_path / "broken.duckdb"
    broken.write_bytes(b"this is not a database file" * 100)
    Engine.objects.create(name="broken", kind="duckdb", path=str(broken))
    run = runs.submit_run(sut="broken", reference="nan-sqlite", budget_queries=5, profile=DATASET)
    # A file that cannot be opened fails the same way every time: once, not max_attempts times.
    assert jobs.run_job(LABEL, run.pk) == "failed"
    run.refresh_from_db()
    assert run.state == JobState.FAILED and run.attempts == 1 < run.max_attempts
    assert run.error.startswith("differential broken vs nan-sqlite: ")
    assert "cannot open duckdb database" in run.error
    assert jobs.run_job(LABEL, run.pk) == "skipped"


def test_a_private_build_that_cannot_open_its_file_fails_at_once(nan_engines, tmp_path) -> None:
    # As an old release meets a file written in a newer storage format: its worker says why.
    broken = tmp_path / "newer.duckdb"
    broken.write_bytes(b"not the storage format this build reads" * 100)
    Engine.objects.create(name="newer", kind="duckdb", path=str(broken))
    run = runs.submit_run(
        sut="newer",
        reference="nan-sqlite",
        sut_python=sys.executable,
        budget_queries=5,
        profile=DATASET,
    )
    assert jobs.run_job(LABEL, run.pk) == "failed"
    run.refresh_from_db()
    assert run.attempts == 1 and "worker did not start" in run.error


# --- replay ---------------------------------------------------------------------------------------


def test_a_finding_replays_reduced_and_original(nan_engines) -> None:
    run = nan_run(budget_queries=30)
    finding = run.finding_rows.exclude(reduced_query="").first()
    reduced = runs.replay_finding(finding)
    assert reduced.which == "reduced" and reduced.reproduced
    assert reduced.sql == finding.reduced_sql
    original = runs.replay_finding(finding, "original")
    assert original.which == "original" and original.reproduced
    assert original.sql == finding.sql
    with pytest.raises(AssayError):
        runs.replay_finding(finding, "both")


def test_a_replay_that_cannot_be_made_is_a_clear_error(nan_engines) -> None:
    run = nan_run(budget_queries=30)
    finding = run.finding_rows.exclude(reduced_query="").first()
    Finding.objects.filter(pk=finding.pk).update(reduced_query="SELECT FROM WHERE (((")
    finding.refresh_from_db()
    with pytest.raises(AssayError) as raised:
        runs.replay_finding(finding)
    assert raised.value.code == "replay_failed"


def test_a_worker_that_lost_the_run_records_nothing(nan_engines) -> None:
    run = nan_run(budget_queries=30)
    finding = run.finding_rows.first()
    again = FailedCheck(
        seed=finding.seed, index=10_000, kind=Kind(finding.kind), sql=finding.sql, detail="",
        errors={}, shape="", signature=finding.raw_signature, known=None, check=None,
    )  # fmt: skip
    run.worker = "another-host:1"  # the row is finished, and was never this worker's
    with pytest.raises(LeaseLost):
        groups.record_finding(run, again, None, finding.group, [], fence=True)
    assert not Finding.objects.filter(run=run, index=10_000).exists()


def test_a_timeout_a_check_cannot_fit_in_the_task_timeout_is_refused(nan_engines, settings) -> None:
    """The lease no longer bounds a query's timeout (a thread keeps it alive); the task
    timeout does: two engines' checks must end within it."""
    settings.ASSAY_JOB_LEASE_SECONDS = 5
    settings.Q_TIMEOUT = 300
    with pytest.raises(AssayError, match="within the task timeout"):
        runs.submit_run(
            sut="nan-duckdb", reference="nan-sqlite", budget_queries=5, timeout=100,
            profile=DATASET,
        )  # fmt: skip
    run = runs.build_run(
        sut="nan-duckdb", reference="nan-sqlite", budget_queries=5, timeout=30, profile=DATASET
    )
    assert run.timeout == 30 and run.max_attempts == runs.RUN_ATTEMPTS


# --- the schedule -------------------------------------------------------------------------------


def test_pairs_are_started_when_due_and_not_twice(nan_engines) -> None:
    duck, lite = nan_engines
    pair = Pair.objects.create(
        name="nan-pair", sut=duck, reference=lite, every_minutes=60, budget_queries=20
    )
    Pair.objects.create(name="off", sut=duck, reference=lite, enabled=False, budget_queries=5)
    started = runs.start_due_runs()
    assert [r.pair for r in started] == [pair]
    assert runs.start_due_runs() == []  # one pending: not another
    execute(started[0])
    assert runs.start_due_runs() == []  # finished, but not due yet
    Pair.objects.filter(pk=pair.pk).update(last_started_at=timezone.now() - timedelta(hours=2))
    again = runs.start_due_runs()
    assert len(again) == 1 and again[0].label == "nan-pair (scheduled)"
    assert runs.results_run_name(again[0]) == f"querygen-nan-pair_{again[0].pk}"


def test_a_pair_whose_engine_went_away_does_not_stop_the_others(nan_engines, tmp_path) -> None:
    duck, lite = nan_engines
    gone = Engine.objects.create(name="gone", kind="sqlite", path=str(tmp_path / "gone.sqlite3"))
    Pair.objects.create(
        name="a-broken", sut=gone, reference=lite, budget_queries=5, profile=DATASET
    )
    Pair.objects.create(name="b-fine", sut=duck, reference=lite, budget_queries=5, profile=DATASET)
    assert [r.pair.name for r in runs.start_due_runs()] == ["b-fine"]
    broken = Pair.objects.get(name="a-broken")
    assert "gone.sqlite3 does not exist" in broken.last_error  # on the pair, for the admin
    Path(gone.path).write_bytes(Path(nan_engines[1].path).read_bytes())
    Pair.objects.filter(pk=broken.pk).update(last_started_at=None)
    assert [r.pair.name for r in runs.start_due_runs()] == ["a-broken"]
    broken.refresh_from_db()
    assert broken.last_error == ""


@pytest.mark.parametrize("name", ["custom", "a_b", "Nightly", "-x", ""])
def test_a_pair_name_must_make_a_results_prefix(nan_engines, name) -> None:
    from django.core.exceptions import ValidationError

    duck, lite = nan_engines
    with pytest.raises(ValidationError):
        Pair(name=name, sut=duck, reference=lite, budget_queries=5).full_clean()
    Pair(name="nightly-2", sut=duck, reference=lite, budget_queries=5).full_clean()


def pg_engine_row(conninfo: str) -> Engine:
    """The Engine row `qg-pg` (host, port, database, user) of the querygen database."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(conninfo)
    return Engine.objects.create(
        name="qg-pg",
        kind="postgresql",
        host=params["host"],
        port=int(params["port"]),
        database=params["dbname"],
        user=params["user"],
    )


@pytest.mark.postgresql_only
def test_postgresql_as_the_reference(qg_engines, querygen_pg) -> None:
    """An Engine row of kind postgresql (host, port, database, user) as the reference."""
    pg_engine_row(querygen_pg)
    run = execute(
        runs.submit_run(
            sut="qg-duckdb",
            reference="qg-pg",
            budget_queries=40,
            seed=2,
            timeout=2,
            profile=DATASET,
        )
    )
    assert run.queries == 40 and run.reference_version.startswith("PostgreSQL")
    assert run.reference_ok >= 30, run.report
    assert run.findings == run.finding_rows.count()


def test_contacts_hear_of_a_run_that_found_a_new_bug_only(nan_engines, mailoutbox) -> None:
    from results.models import Contact, Project

    project, _ = Project.objects.get_or_create(name="querygen")
    Contact.objects.create(project=project, test_prefix="querygen.custom.", email="qa@example.org")
    first = nan_run()
    (message,) = mailoutbox
    assert message.to == ["qa@example.org"] and first.results_run in message.subject
    body = message.body
    for group in Group.objects.filter(first_run=first):
        assert f"querygen.custom.groups.{group.signature}" in body
    nan_run()  # the same queries: the same groups, nothing new, no mail
    assert len(mailoutbox) == 1


def test_past_its_reduction_budget_a_run_groups_findings_by_how_they_differ(nan_engines) -> None:
    first = nan_run()
    keyed = dict(
        Finding.objects.filter(run=first)
        .exclude(reduced_query="")
        .exclude(difference="")
        .values_list("difference", "group")
    )
    assert "content|NaN>NULL" in keyed
    second = nan_run(seed=12, max_reductions=0)  # other queries, none reduced
    assert second.reductions == 0 and second.findings > 0
    later = Finding.objects.filter(run=second, difference__in=list(keyed))
    assert later.exists()
    for finding in later:  # each joined the group its difference was reduced into
        assert finding.group_id == keyed[finding.difference] or (
            Finding.objects.filter(
                group=finding.group, difference=finding.difference, run=first
            ).exists()
        )
    new_groups = Group.objects.filter(first_run=second)
    assert not new_groups.filter(kind="content", samples__difference="content|NaN>NULL").exists()


# --- databases of querygen's own (the default) ----------------------------------------------------


@pytest.fixture
def memory_engines(db, tmp_path) -> tuple[Engine, Engine]:
    """Engine rows whose files do not exist: a run on generated databases never opens them."""
    return (
        Engine.objects.create(name="g-duck", kind="duckdb", path=str(tmp_path / "none.duckdb")),
        Engine.objects.create(name="g-lite", kind="sqlite", path=str(tmp_path / "none.sqlite")),
    )


def test_by_default_a_run_tests_on_databases_of_its_own(memory_engines, tmp_path) -> None:
    run = execute(
        runs.submit_run(
            sut="g-duck", reference="g-lite", budget_queries=150, seed=4, profile=OVERFLOWING
        )
    )
    assert run.queries == 150 and run.findings > 0
    assert "a new database every 100 queries" in (run.log_dir / "job.log").read_text()
    assert not any(tmp_path.glob("none.*"))  # no file was made
    reduced = run.finding_rows.exclude(scripts={}).first()
    assert reduced is not None and reduced.original_rows > 0
    assert reduced.reduced_rows is not None and reduced.reduced_rows <= 5
    script = reduced.scripts["sut"]
    assert script.startswith('CREATE TABLE "t')
    assert "-- sut: error: " in script and "Overflow" in script
    # As it is, in the SUT's engine: the same refusal.
    import duckdb

    with pytest.raises(duckdb.Error, match="Overflow"):
        duckdb.connect().execute(script)


def test_a_query_querygen_cannot_generate_is_skipped_and_its_traceback_logged(
    memory_engines, monkeypatch
) -> None:
    """A bug of querygen's own in one query (injected: none is known) neither fails the run
    nor every later attempt at that index; a generator that makes nothing fails it once."""
    from querygen.engine.generator import QueryGenerator

    made = QueryGenerator.query

    def broken_at_5(self, index):
        if index == 5:
            raise KeyError("no such scope")
        return made(self, index)

    monkeypatch.setattr(QueryGenerator, "query", broken_at_5)
    run = execute(runs.submit_run(sut="g-duck", reference="g-lite", budget_queries=20, seed=4))
    assert run.queries == 20 and run.next_index == 21
    log = (run.log_dir / "job.log").read_text()
    assert "1 queries could not be generated" in log
    assert "could not generate query 5: KeyError: 'no such scope'" in log
    assert "Traceback" in log and "broken_at_5" in log

    def broken(self, index):
        raise KeyError("no such scope")

    monkeypatch.setattr(QueryGenerator, "query", broken)
    run = runs.submit_run(sut="g-duck", reference="g-lite", budget_queries=20, seed=4)
    assert jobs.run_job(LABEL, run.pk) == "failed"
    run.refresh_from_db()
    assert run.state == JobState.FAILED and run.attempts == 1 and run.queries == 0
    assert "could not generate 20 queries in a row" in run.error
    assert "the first: query 0: KeyError: 'no such scope'" in run.error


def test_a_finding_on_a_generated_database_replays(memory_engines) -> None:
    run = execute(
        runs.submit_run(
            sut="g-duck", reference="g-lite", budget_queries=100, seed=4, profile=OVERFLOWING
        )
    )
    finding = run.finding_rows.exclude(reduced_query="").first()
    assert finding is not None
    assert runs.replay_finding(finding, "reduced").reproduced
    assert runs.replay_finding(finding, "original").reproduced


def test_a_private_build_runs_generated_databases_in_its_worker(memory_engines) -> None:
    run = execute(
        runs.submit_run(
            sut="g-duck",
            reference="g-lite",
            sut_python=sys.executable,
            budget_queries=60,
            seed=4,
            profile=OVERFLOWING,
        )
    )
    assert run.queries == 60 and run.findings > 0
    assert run.finding_rows.first().engines["sut"] == f"g-duck@{sys.executable}"


def test_every_kind_takes_generated_databases_and_their_settings_are_checked(
    memory_engines, monkeypatch
) -> None:
    Engine.objects.create(
        name="pg", kind="postgresql", host="localhost", database="x", password_env="QG_PW"
    )
    monkeypatch.setenv("QG_PW", "x")
    run = runs.build_run(sut="g-duck", reference="pg", budget_queries=5)  # in a schema of its own
    assert run.reference.kind == "postgresql" and Profile.from_mapping(run.profile).generated
    with pytest.raises(AssayError, match="profile.data: one of"):
        runs.submit_run(sut="g-duck", reference="g-lite", budget_queries=5, profile={"data": 1})
    with pytest.raises(AssayError, match="database: unknown setting 'rows'"):
        runs.submit_run(
            sut="g-duck", reference="g-lite", budget_queries=5, profile={"database": {"rows": 2}}
        )
    assert QuerygenRun.objects.count() == 0


def _engine_schemas(conninfo: str) -> set[str]:
    """The schemas querygen's PostgreSQL engines load generated databases into."""
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(r"SELECT nspname FROM pg_namespace WHERE nspname LIKE 'assay\_qg\_%'")
        return {name for (name,) in rows}


@pytest.mark.postgresql_only
def test_postgresql_runs_on_databases_of_its_own(memory_engines, querygen_pg) -> None:
    """DuckDB in memory against PostgreSQL, on generated databases (the default): PostgreSQL
    loads each into a schema of the run's own, dropped when the run ends."""
    pg_engine_row(querygen_pg)
    before = _engine_schemas(querygen_pg)
    run = execute(
        runs.submit_run(sut="g-duck", reference="qg-pg", budget_queries=150, seed=5, timeout=2)
    )
    assert run.queries == 150 and run.reference_version.startswith("PostgreSQL")
    log = (run.log_dir / "job.log").read_text()
    assert "a new database every 100 queries" in log and "refused" not in log, log
    assert run.matches >= 100 and run.reference_ok >= 100, run.report
    assert run.findings == run.finding_rows.count()
    assert _engine_schemas(querygen_pg) == before
    finding = run.finding_rows.first()
    if finding is not None:  # replays load the database again, into a schema of their own
        assert runs.replay_finding(finding, "original").kind == finding.kind
        assert _engine_schemas(querygen_pg) == before


@pytest.mark.postgresql_only
def test_the_plan_oracle_runs_on_postgresql_on_databases_of_its_own(db, querygen_pg) -> None:
    """The plan oracle's connections (planning under other settings) see the databases the
    engine loads: no query fails on one side only for want of its tables."""
    pg_engine_row(querygen_pg)
    run = execute(runs.submit_run(sut="qg-pg", oracle="plan", budget_queries=60, seed=2, timeout=2))
    assert run.queries == 60 and run.errors == 0, run.report
    assert run.matches >= 50, run.report


@pytest.mark.postgresql_only
def test_a_postgresql_user_without_create_fails_the_run_once_saying_what_to_grant(
    memory_engines, querygen_pg
) -> None:
    role = f"qg_nocreate_{os.getpid()}"
    with psycopg.connect(querygen_pg, autocommit=True) as admin:
        admin.execute(f"DROP ROLE IF EXISTS {role}")
        admin.execute(f"CREATE ROLE {role} LOGIN")  # PUBLIC has no CREATE on databases
    try:
        row = pg_engine_row(querygen_pg)
        Engine.objects.filter(pk=row.pk).update(user=role)
        run = runs.submit_run(sut="g-duck", reference="qg-pg", budget_queries=50, seed=5)
        assert jobs.run_job(LABEL, run.pk) == "failed"
        run.refresh_from_db()
        assert run.state == JobState.FAILED and run.attempts == 1  # not tried again
        assert "permission denied" in run.error and "GRANT CREATE ON DATABASE" in run.error
        assert run.queries == 0
    finally:
        with psycopg.connect(querygen_pg, autocommit=True) as admin:
            admin.execute(f"DROP ROLE {role}")


# --- the proof: an old release's known, fixed bug ---------------------------------------------

RUN_SCRIPT = """
import sys, duckdb
conn = duckdb.connect()
*setup, query = [s for s in sys.stdin.read().split(";\\n") if s.strip() and not s.startswith("--")]
for statement in setup:
    conn.execute(statement)
print(sorted(map(repr, conn.execute(query).fetchall())))
"""


def run_script(python: str, script: str) -> str:
    done = subprocess.run(  # noqa: S603 (our own interpreters, no shell)
        [python, "-c", RUN_SCRIPT], input=script, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_an_old_releases_fixed_bug_is_found_reduced_bisected_and_grouped_once(
    memory_engines, duckdb_releases
) -> None:
    """DuckDB 0.9.2 from PyPI (in its cached virtualenv) against this DuckDB, on generated
    databases: 0.9.2's EXCEPT ALL answers a row too many; 0.10.3 fixed it. Both findings of it
    are reduced to a few rows, bisected over the releases between, and land in one group,
    whose script shows the bug when run as it is by 0.9.2, and not by this DuckDB."""
    old = str(duckdb_releases["0.9.2"])
    ladder = [str(duckdb_releases[v]) for v in ("0.10.3", "1.0.0", "1.1.3")]
    run = execute(
        runs.submit_run(
            sut="g-duck", reference="g-duck", sut_python=old, ladder=ladder,
            budget_queries=600, seed=6,
        )
    )  # fmt: skip
    assert "DuckDB v0.9.2" in run.sut_version and run.findings > 0
    group = Group.objects.get(fixed_in="DuckDB v0.10.3", shape__contains="except_all")
    assert group.kind == "row_count" and group.count == 2 and group.reduced
    assert group.shape == "fixed in DuckDB v0.10.3; constructs: except_all"
    for sample in group.samples.all():
        assert sample.fixed_in == "DuckDB v0.10.3"
        assert sample.reduced_rows is not None and sample.reduced_rows <= 5
        script = sample.scripts["sut"]
        assert "EXCEPT ALL" in script
        assert run_script(old, script) != run_script(sys.executable, script)
    # Grouped once: no other group of this run was fixed in 0.10.3 by EXCEPT ALL.
    assert Group.objects.filter(first_run=run, shape__contains="except_all").count() == 1
    # The page says where it was fixed.
    assert "Fixed in" in Client().get(f"/querygen/groups/{group.pk}/").content.decode()


def test_a_ladder_is_checked_like_a_private_build(memory_engines, tmp_path) -> None:
    with pytest.raises(AssayError) as raised:
        runs.submit_run(sut="g-duck", reference="g-duck", ladder="python", budget_queries=5)
    assert raised.value.code == "bad_ladder"
    with pytest.raises(AssayError) as raised:
        runs.submit_run(sut="g-duck", reference="g-duck", ladder=["python3"], budget_queries=5)
    assert raised.value.code == "bad_python"
    with pytest.raises(AssayError, match="generated databases with the differential"):
        runs.submit_run(sut="g-duck", oracle="tlp", ladder=[sys.executable], budget_queries=5)
    assert QuerygenRun.objects.count() == 0
