"""manage.py jobs: every registered job type and schedule, with rows and next runs."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from core import registry
from core.models import JobState
from results.models import CleanJob

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[4]


def run_jobs() -> str:
    out = io.StringIO()
    call_command("jobs", stdout=out)
    return out.getvalue()


def test_lists_every_job_type_with_its_handlers_and_rows_per_state():
    CleanJob.objects.create(state=JobState.FAILED)
    CleanJob.objects.create(state=JobState.SUCCEEDED)
    CleanJob.objects.create(state=JobState.SUCCEEDED)
    out = run_jobs()
    for label in ("datagen.Chunk", "datagen.DatagenRun", "querygen.QuerygenRun"):
        assert f"  {label}\n" in out
    lines = out[out.index("results.CleanJob") :].splitlines()
    clean = "\n".join([lines[0], *(x for x in lines[1:4] if x.startswith("    "))])
    assert "execute: results.services.purge.run_clean_job" in clean
    assert "queued 0  running 0  succeeded 2  failed 1" in clean
    assert "after finish: datagen.services.runs.chunk_finished" in out


def test_lists_every_schedule_with_its_next_run():
    out = run_jobs()
    section = out[out.index("Schedules") :]
    for spec in registry.schedules():
        line = next(x for x in section.splitlines() if x.strip().startswith(spec.name + ":"))
        assert spec.func in line and "next run 20" in line
    assert "assay.refresh_flaky_all: results.tasks.refresh_flaky_all, daily" in section
    assert "assay.reap_jobs: core.tasks.reap_jobs, every 1 min" in section


def test_a_schedule_not_created_yet_says_to_migrate():
    from django_q.models import Schedule

    Schedule.objects.filter(name="assay.reap_jobs").delete()
    assert "assay.reap_jobs: core.tasks.reap_jobs, every 1 min, not created yet" in run_jobs()


def test_an_unmigrated_database_is_a_one_line_error(tmp_path):
    # As a newcomer would: the command before `migrate`, on a database with no tables.
    env = {**os.environ, "ASSAY_DEV": "1", "DATABASE_URL": f"sqlite:///{tmp_path}/new.db"}
    done = subprocess.run(
        [sys.executable, "manage.py", "jobs"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.strip().startswith("CommandError: Cannot read the job rows")
    assert "Run `manage.py migrate`" in done.stderr and "Traceback" not in done.stderr
