"""core/db.py's retry of a busy database, through a real web server on a real SQLite file
whose write lock another connection holds (tests/core/conftest.py: busy_site, write_lock)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from crashtest.harness.imports import multipart
from crashtest.harness.site import free_port
from results.demo import junit_document
from tests.core.conftest import BUSY_TIMEOUT, write_lock


@pytest.fixture(scope="module")
def web(busy_site):
    """The site's web server and a CI token."""
    token = busy_site.manage("create_ci_token", "ci-bot").strip()
    url = busy_site.start_web("web", free_port(), time.monotonic() + 60)
    yield url, token
    busy_site.stop("web")


def post_import(url: str, token: str, run: str) -> tuple[int, dict, dict]:
    """POST one small JUnit file; (status, headers, answer)."""
    body, content_type = multipart({"run": run}, [("small.xml", junit_document(5))])
    request = urllib.request.Request(  # noqa: S310
        f"{url}/api/v1/imports/",
        data=body,
        headers={"Content-Type": content_type, "Authorization": f"Token {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
            return answer.status, dict(answer.headers), json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def test_an_import_waits_out_a_lock_released_within_the_retry_budget(busy_site, web):
    url, token = web
    # Held three busy timeouts: one attempt alone fails; the retries (4 s budget) get through.
    with write_lock(busy_site.db, release_after=3 * BUSY_TIMEOUT):
        status, _, answer = post_import(url, token, "busy_released")
    assert status == 201, answer
    assert answer["runs"][0]["name"] == "busy_released"


def test_an_import_meeting_a_lock_held_past_the_budget_is_a_503_with_retry_after(busy_site, web):
    url, token = web
    with write_lock(busy_site.db):
        status, headers, answer = post_import(url, token, "busy_held")
    assert status == 503, answer
    assert headers["Retry-After"] == "4"  # ASSAY_BUSY_RETRY_SECONDS
    assert answer["error"] == "database_busy"
    assert "nothing of this request was written" in answer["detail"]
    # Nothing was written, and the same import goes through once the lock is gone.
    status, _, answer = post_import(url, token, "busy_held")
    assert status == 201, answer
    assert answer["runs"][0]["new"] == 5


# The job runner's writes, in a process of the site: a job row, the lock held by another
# connection (this script's own sqlite3 connection), then claim and finish.
JOB_SCRIPT = """
import sqlite3, threading
from django.conf import settings
from core import jobs
from core.exceptions import DatabaseBusy
from results.models import CleanJob

def hold(seconds):
    holder = sqlite3.connect(settings.DATABASES["default"]["NAME"], isolation_level=None,
                             check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    if seconds is None:
        return holder
    threading.Timer(seconds, holder.rollback).start()

job = CleanJob.objects.create(state="queued")
hold({held})
claimed = jobs.claim(CleanJob, job.pk, "tester:1")
print("CLAIMED", claimed is not None and claimed.state)
hold({held})
print("FINISHED", jobs._finish(claimed, "succeeded"))
holder = hold(None)
try:
    jobs.heartbeat(claimed, 1, 1, "still here")
except DatabaseBusy as exc:
    print("BUSY", exc.detail)
"""


def test_the_job_runner_waits_out_a_busy_database(busy_site):
    # Held three busy timeouts: a claim or a finish that did not retry would fail.
    out = busy_site.manage("shell", "-c", JOB_SCRIPT.format(held=3 * BUSY_TIMEOUT))
    assert "CLAIMED running" in out
    assert "FINISHED True" in out
    # A lock held for longer than a lease (5 s here): the runner gives up with DatabaseBusy.
    assert "BUSY The database is busy" in out


def test_a_page_whose_write_meets_a_held_lock_is_a_short_503_page(busy_site, web):
    """Signing in writes (the session, last_login); no retry there, but never a 500."""
    import http.cookiejar
    import re
    import urllib.parse

    url, _ = web
    busy_site.manage(
        "shell", "-c",
        "from django.contrib.auth.models import User; "
        "User.objects.create_superuser('boss', 'b@example.org', 'a-long-password-1')",
    )  # fmt: skip
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with opener.open(f"{url}/admin/login/", timeout=60) as page:
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.read())[1]
    form = urllib.parse.urlencode(
        {"username": "boss", "password": "a-long-password-1", "csrfmiddlewaretoken": token}
    ).encode()
    with write_lock(busy_site.db):
        try:
            opener.open(f"{url}/admin/login/", data=form, timeout=60)
            raise AssertionError("signed in, although another connection held the write lock")
        except urllib.error.HTTPError as exc:
            status, headers, text = exc.code, exc.headers, exc.read().decode()
    assert status == 503, text
    assert headers["Retry-After"] == "4"
    assert headers["Content-Type"].startswith("text/plain")
    assert text.startswith("The database is busy with another write")
