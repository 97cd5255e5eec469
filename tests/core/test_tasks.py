"""core/tasks.py's run_job and reaper on django-q2's Redis broker, with real processes: a
private redis-server (tests/conftest.py's redis_server), real `manage.py qcluster` processes on
a throwaway SQLite site (crashtest/harness/site.py), and a datagen run as the work.

The Redis broker delivers at most once: a task is gone from Redis once a cluster popped it, so
when that cluster is SIGKILLed the chunk it was working, and the tasks it had fetched and not
started, are nowhere in the queue. Only the rows bring them back: a running chunk whose worker
died or whose lease expired, and queued ones once the broker is idle. The crash of
tests/datagen/test_tasks.py (there on the ORM broker) must end the same: every chunk's effect
exactly once.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import redis

from tests.datagen.test_tasks import CHUNKS, crash_and_check


def test_on_redis_a_killed_cluster_loses_no_chunk_and_duplicates_none(
    tmp_path: Path, redis_server
) -> None:
    site, run, (killed_chunk, _) = crash_and_check(
        tmp_path, {"ASSAY_Q_REDIS_URL": redis_server.url}
    )
    with contextlib.closing(sqlite3.connect(site.db)) as db:
        # Redis dropped the killed chunk's task: only its row brought it back.
        (attempts,) = db.execute(
            "SELECT attempts FROM datagen_chunk WHERE run_id = ? AND chunk_id = ?",
            [run, killed_chunk],
        ).fetchone()
        assert attempts >= 2, site.logs()
        # Nothing went through the ORM broker's table: the tasks were Redis's.
        assert db.execute("SELECT COUNT(*) FROM django_q_ormq").fetchone() == (0,)

    stats = redis.Redis.from_url(redis_server.url).info("commandstats")
    # The setup task, one per chunk, and the requeued ones.
    assert stats["cmdstat_rpush"]["calls"] > 1 + CHUNKS
    assert stats["cmdstat_blpop"]["calls"] > 0


# django-q's scheduler tick (which turns due schedules into tasks) has no hook to retry: this
# holds what docs/operations.md says of it, that a busy database delays a tick and loses none.
TICK_SCRIPT = """
import sqlite3
from datetime import timedelta
from django.conf import settings
from django.utils import timezone
from django_q.models import OrmQ, Schedule
from django_q.scheduler import scheduler
Schedule.objects.filter(name="assay.reap_jobs").update(
    next_run=timezone.now() - timedelta(minutes=1))
holder = sqlite3.connect(settings.DATABASES["default"]["NAME"], isolation_level=None)
holder.execute("BEGIN IMMEDIATE")
def reaps():  # the site's earlier tests may have left other tasks (a SearchIndexJob's)
    return [t.task["func"] for t in OrmQ.objects.all()].count("core.tasks.reap_jobs")
before = reaps()
scheduler()
print("LOCKED", reaps() - before,
      Schedule.objects.get(name="assay.reap_jobs").next_run < timezone.now())
holder.rollback()
scheduler()
print("RELEASED", reaps() - before,
      Schedule.objects.get(name="assay.reap_jobs").next_run > timezone.now())
"""


def test_a_scheduler_tick_on_a_busy_database_is_delayed_not_lost(busy_site) -> None:
    out = busy_site.manage("shell", "-c", TICK_SCRIPT)
    # The busy tick created nothing and left the schedule due; the next one creates the task.
    assert "LOCKED 0 True" in out
    assert "RELEASED 1 True" in out
