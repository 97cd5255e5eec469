"""The admin of the results app: run deletion through the service, counts, filters, queries."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.jobs import run_job
from core.models import JobState
from results.models import (
    CleanJob,
    Contact,
    ExpectedTest,
    FlakinessJob,
    Project,
    TestResult,
    TestRun,
)
from results.services.flaky import refresh_flaky
from results.services.runs import refresh_counts
from tests import factories as f
from tests.results.factories import flaky_days
from tests.results.mail import RUN, notify

RUNS_URL = reverse("admin:results_testrun_changelist")
RESULTS_URL = reverse("admin:results_testresult_changelist")
EXPECTED_URL = reverse("admin:results_expectedtest_changelist")

pytestmark = pytest.mark.django_db


def make_run(name: str, statuses: str = "", **fields) -> TestRun:
    """A run holding one result per letter of `statuses` ("PPF" = two passes, one fail)."""
    run = f.run(name, **fields)
    for i, status in enumerate(statuses):
        f.result(run, f"suite.test_{i}", status)
    refresh_counts(run)
    run.refresh_from_db()
    return run


def action(name: str, runs: list[TestRun], *, confirm: bool = False) -> dict:
    data = {"action": name, "_selected_action": [r.pk for r in runs]}
    if confirm:
        data["post"] = "yes"  # what the confirmation page posts (no "index")
    else:
        data["index"] = "0"  # what the changelist's action bar posts
    return data


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def live(run: TestRun) -> bool:
    return TestRun.objects.filter(pk=run.pk, deleted_at__isnull=True).exists()


# --- run list --------------------------------------------------------------------------------


def test_run_list_shows_cached_counts_and_only_live_runs(admin_client):
    make_run("nightly-1", "PPPFE")
    TestRun.objects.create(name="gone", deleted_at="2026-01-01T00:00:00Z")
    run = make_run("counts-only")
    # The list reads the cached counts, not the rows: a count no row backs still shows.
    TestRun.objects.filter(pk=run.pk).update(status_counts={"P": 41, "x": 2})

    response = admin_client.get(RUNS_URL)

    assert response.status_code == 200
    content = response.content.decode()
    assert "nightly-1" in content
    assert "gone" not in content
    rows = {r.name: r for r in response.context["cl"].result_list}
    assert set(rows) == {"nightly-1", "counts-only"}
    assert '<td class="field-count_P">3</td>' in content
    assert '<td class="field-count_F">1</td>' in content
    assert '<td class="field-count_P">41</td>' in content
    assert '<td class="field-other_statuses">x 2</td>' in content
    assert f"?run__id__exact={run.pk}" in content  # total links to the run's results
    assert ">43</a>" in content


def test_run_list_state_filter_shows_deleted_runs(admin_client):
    make_run("alive")
    TestRun.objects.create(name="gone", deleted_at="2026-01-01T00:00:00Z")

    deleted = admin_client.get(RUNS_URL, {"state": "deleted"})
    everything = admin_client.get(RUNS_URL, {"state": "all"})

    assert [r.name for r in deleted.context["cl"].result_list] == ["gone"]
    assert {r.name for r in everything.context["cl"].result_list} == {"alive", "gone"}


def test_run_list_search_and_filters(admin_client):
    make_run("daily_2026-01-02", valuable=True)
    make_run("daily_2026-01-03")
    make_run("adhoc-run")

    by_name = admin_client.get(RUNS_URL, {"q": "adhoc"})
    by_prefix = admin_client.get(RUNS_URL, {"prefix": "daily"})
    by_valuable = admin_client.get(RUNS_URL, {"valuable__exact": "1"})

    assert [r.name for r in by_name.context["cl"].result_list] == ["adhoc-run"]
    assert {r.name for r in by_prefix.context["cl"].result_list} == {
        "daily_2026-01-02",
        "daily_2026-01-03",
    }
    assert [r.name for r in by_valuable.context["cl"].result_list] == ["daily_2026-01-02"]


def test_run_list_queries_do_not_grow_with_runs(admin_client, django_assert_max_num_queries):
    make_run("first", "PF")
    with CaptureQueriesContext(_connection()) as few:
        assert admin_client.get(RUNS_URL).status_code == 200
    for i in range(40):
        make_run(f"run-{i}", "PPFE")

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(RUNS_URL)

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 41


def _connection():
    from django.db import connection

    return connection


# --- deleting runs: confirmation, rule, clean job ------------------------------------------


@pytest.mark.db_dependent
def test_delete_action_confirmation_shows_counts_and_kept_runs(admin_client):
    doomed = make_run("doomed", "PPFE")
    other = make_run("other", "P")
    precious = make_run("precious", "PPP", valuable=True)

    response = admin_client.post(RUNS_URL, action("delete_runs_action", [doomed, other, precious]))

    assert response.status_code == 200
    assert response.templates[0].name == "admin/results/testrun/delete_runs_confirmation.html"
    content = response.content.decode()
    deleting = {row["run"].name: row for row in response.context["deleting"]}
    kept = {row["run"].name: row for row in response.context["kept"]}
    assert set(deleting) == {"doomed", "other"}
    assert set(kept) == {"precious"}
    columns = [letter for letter, _ in response.context["columns"]]
    assert dict(zip(columns, deleting["doomed"]["counts"], strict=True)) == {
        "P": 2,
        "F": 1,
        "E": 1,
        "D": 0,
        "M": 0,
    }
    assert deleting["doomed"]["total"] == 4
    assert kept["precious"]["total"] == 3
    assert response.context["results_total"] == 5  # the real count, from the dry run
    assert '<strong id="results-total">5</strong>' in content
    assert "Kept: marked valuable" in content
    assert '<input type="hidden" name="post" value="yes">' in content
    # Nothing happened yet.
    assert live(doomed) and live(other) and live(precious)
    assert not CleanJob.objects.exists()


@pytest.mark.db_dependent
def test_confirming_deletes_non_valuable_keeps_valuable_and_queues_clean(admin_client):
    doomed = make_run("doomed", "PPFE")
    precious = make_run("precious", "PPP", valuable=True)

    response = admin_client.post(
        RUNS_URL, action("delete_runs_action", [doomed, precious], confirm=True)
    )

    assert response.status_code == 302
    assert not live(doomed)
    assert TestRun.objects.get(pk=doomed.pk).deleted_at is not None
    assert live(precious)
    job = CleanJob.objects.get()
    assert job.state == JobState.QUEUED
    assert job.enqueued_at is not None
    text = " ".join(messages_of(response))
    assert "Deleted 1 run(s) holding 4 result(s): doomed" in text
    assert f"clean job #{job.pk}" in text
    assert reverse("admin:results_cleanjob_change", args=[job.pk]) in text
    assert "Kept 1 valuable run(s): precious" in text
    # Nothing was removed in the request: the rows wait for the clean job.
    assert TestResult.objects.filter(run=doomed).count() == 4

    assert run_job("results.CleanJob", job.pk) == "succeeded"

    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert job.rows_deleted == 4
    assert job.runs_removed == 1
    assert not TestRun.objects.filter(pk=doomed.pk).exists()
    assert not TestResult.objects.filter(run_id=doomed.pk).exists()
    assert TestResult.objects.filter(run=precious).count() == 3


@pytest.mark.db_dependent
def test_confirming_runs_the_clean_job_through_django_q(
    admin_client, monkeypatch, django_capture_on_commit_callbacks
):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)  # Conf reads Q_CLUSTER once, at import
    doomed = make_run("doomed", "PF")
    kept = make_run("kept", "P")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(RUNS_URL, action("delete_runs_action", [doomed], confirm=True))

    assert response.status_code == 302
    assert len(callbacks) == 1
    job = CleanJob.objects.get()
    assert job.state == JobState.SUCCEEDED
    assert job.rows_deleted == 2
    assert not TestRun.objects.filter(pk=doomed.pk).exists()
    assert not TestResult.objects.filter(run_id=doomed.pk).exists()
    assert TestResult.objects.filter(run=kept).count() == 1


@pytest.mark.db_dependent
def test_only_valuable_runs_selected_deletes_nothing(admin_client):
    precious = make_run("precious", "PP", valuable=True)

    page = admin_client.post(RUNS_URL, action("delete_runs_action", [precious]))
    confirmed = admin_client.post(RUNS_URL, action("delete_runs_action", [precious], confirm=True))

    assert page.status_code == 200
    assert "None of the selected runs can be deleted." in page.content.decode()
    assert 'name="post"' not in page.content.decode()
    assert confirmed.status_code == 302
    assert live(precious)
    assert not CleanJob.objects.exists()
    assert any("Kept 1 valuable run(s): precious" in m for m in messages_of(confirmed))


@pytest.mark.db_dependent
def test_djangos_delete_selected_is_not_offered_and_does_nothing(admin_client):
    doomed = make_run("doomed", "PP")

    page = admin_client.get(RUNS_URL)
    response = admin_client.post(RUNS_URL, action("delete_selected", [doomed]))
    response_confirmed = admin_client.post(
        RUNS_URL, action("delete_selected", [doomed], confirm=True)
    )

    choices = [name for name, _ in page.context["action_form"].fields["action"].choices]
    assert "delete_selected" not in choices
    assert "delete_runs_action" in choices
    assert response.status_code == 302
    assert response_confirmed.status_code in (200, 302)
    assert live(doomed)
    assert TestResult.objects.filter(run=doomed).count() == 2


@pytest.mark.db_dependent
def test_too_many_runs_for_one_confirmation_are_refused(admin_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 15
    runs = [make_run(f"run-{i}", "P") for i in range(6)]

    response = admin_client.post(RUNS_URL, action("delete_runs_action", runs))

    assert response.status_code == 302
    assert any("Select at most 5 runs" in m for m in messages_of(response))
    assert all(live(r) for r in runs)


# --- the change page's delete ----------------------------------------------------------------


@pytest.mark.db_dependent
def test_change_page_of_valuable_run_cannot_delete_it(admin_client):
    precious = make_run("precious", "PPF", valuable=True)
    change_url = reverse("admin:results_testrun_change", args=[precious.pk])
    delete_url = reverse("admin:results_testrun_delete", args=[precious.pk])

    change = admin_client.get(change_url)
    confirm_page = admin_client.get(delete_url)
    forced = admin_client.post(delete_url, {"post": "yes"})

    assert change.status_code == 200
    assert delete_url not in change.content.decode()  # no Delete button
    assert confirm_page.status_code == 200
    assert [row["run"].name for row in confirm_page.context["kept"]] == ["precious"]
    assert confirm_page.context["deleting"] == []
    assert 'name="post"' not in confirm_page.content.decode()
    assert forced.status_code == 302
    assert forced["Location"] == change_url
    assert live(precious)
    assert TestResult.objects.filter(run=precious).count() == 3
    assert not CleanJob.objects.exists()
    assert any("Kept 1 valuable run(s)" in m for m in messages_of(forced))


@pytest.mark.db_dependent
def test_change_page_delete_goes_through_confirmation_and_clean_job(admin_client):
    doomed = make_run("doomed", "PPFM")
    change_url = reverse("admin:results_testrun_change", args=[doomed.pk])
    delete_url = reverse("admin:results_testrun_delete", args=[doomed.pk])

    change = admin_client.get(change_url)
    confirm_page = admin_client.get(delete_url)

    assert delete_url in change.content.decode()
    assert confirm_page.status_code == 200
    assert confirm_page.context["results_total"] == 4
    row = confirm_page.context["deleting"][0]
    assert row["run"] == doomed and row["total"] == 4
    assert live(doomed)  # a GET changes nothing

    response = admin_client.post(delete_url, {"post": "yes"})

    assert response.status_code == 302
    assert response["Location"] == RUNS_URL
    assert not live(doomed)
    assert TestResult.objects.filter(run=doomed).count() == 4  # removed later, in chunks
    job = CleanJob.objects.get()
    assert run_job("results.CleanJob", job.pk) == "succeeded"
    assert not TestResult.objects.filter(run_id=doomed.pk).exists()


@pytest.mark.db_dependent
def test_deleted_run_is_read_only_and_not_deleted_twice(admin_client):
    gone = TestRun.objects.create(name="gone", deleted_at="2026-01-01T00:00:00Z")
    change_url = reverse("admin:results_testrun_change", args=[gone.pk])
    delete_url = reverse("admin:results_testrun_delete", args=[gone.pk])

    change = admin_client.get(change_url)
    response = admin_client.post(delete_url, {"post": "yes"})

    assert change.status_code == 200
    assert change.context["has_change_permission"] is False
    assert delete_url not in change.content.decode()
    assert response.status_code == 302
    assert not CleanJob.objects.exists()
    assert TestRun.objects.get(pk=gone.pk).deleted_at.year == 2026


# --- valuable ------------------------------------------------------------------------------


def test_mark_and_unmark_valuable(admin_client):
    a = make_run("a")
    b = make_run("b")
    c = make_run("c")

    marked = admin_client.post(RUNS_URL, action("mark_valuable", [a, b]))

    assert marked.status_code == 302
    assert set(TestRun.objects.filter(valuable=True).values_list("name", flat=True)) == {"a", "b"}
    assert "Marked 2 run(s) valuable." in messages_of(marked)

    unmarked = admin_client.post(RUNS_URL, action("unmark_valuable", [b, c]))

    assert set(TestRun.objects.filter(valuable=True).values_list("name", flat=True)) == {"a"}
    assert "Unmarked 1 run(s) valuable." in messages_of(unmarked)


def test_change_form_edits_valuable_and_note_only(admin_client):
    run = make_run("daily_2026-01-02", "PF")
    url = reverse("admin:results_testrun_change", args=[run.pk])

    response = admin_client.post(
        url, {"valuable": "on", "note": "release candidate", "name": "renamed"}
    )

    assert response.status_code == 302
    run.refresh_from_db()
    assert run.valuable is True
    assert run.note == "release candidate"
    assert run.name == "daily_2026-01-02"  # read-only: names come from imports
    assert run.status_counts == {"P": 1, "F": 1}


# --- clean jobs ----------------------------------------------------------------------------


def test_clean_job_list_is_read_only(admin_client):
    job = CleanJob.objects.create(
        state=JobState.FAILED, attempts=3, rows_deleted=7, error="boom", progress_done=7
    )

    listing = admin_client.get(reverse("admin:results_cleanjob_changelist"))
    detail = admin_client.get(reverse("admin:results_cleanjob_change", args=[job.pk]))
    add = admin_client.get(reverse("admin:results_cleanjob_add"))

    assert listing.status_code == 200
    content = listing.content.decode()
    assert "boom" in content and "7/?" in content
    assert detail.status_code == 200
    assert detail.context["has_change_permission"] is False
    assert add.status_code == 403


# --- expected tests ------------------------------------------------------------------------


def test_expected_tests_filter_by_class_and_project(admin_client):
    f.expected("daily", "a.one", proj="alpha")
    f.expected("daily", "a.two", proj="beta")
    f.expected("weekly", "a.three", proj="alpha")
    alpha = Project.objects.get(name="alpha")

    by_class = admin_client.get(EXPECTED_URL, {"run_class": "daily"})
    by_both = admin_client.get(EXPECTED_URL, {"run_class": "daily", "project__id__exact": alpha.pk})
    by_search = admin_client.get(EXPECTED_URL, {"q": "three"})

    def names(r):
        return sorted(e.test_name for e in r.context["cl"].result_list)

    assert names(by_class) == ["a.one", "a.two"]
    assert names(by_both) == ["a.one"]
    assert names(by_search) == ["a.three"]


def test_expected_test_edit_and_bulk_delete(admin_client):
    one = f.expected("daily", "a.one")
    two = f.expected("daily", "a.two")
    f.expected("daily", "a.three")

    edit = admin_client.post(
        reverse("admin:results_expectedtest_change", args=[one.pk]),
        {
            "run_class": "weekly",
            "project": one.project_id,
            "host": "h2",
            "context": "default",
            "test_name": "a.one",
        },
    )
    delete = admin_client.post(
        EXPECTED_URL,
        {"action": "delete_selected", "_selected_action": [one.pk, two.pk], "post": "yes"},
    )

    assert edit.status_code == 302
    assert delete.status_code == 302
    assert list(ExpectedTest.objects.values_list("test_name", flat=True)) == ["a.three"]


def test_expected_test_list_queries_are_bounded(admin_client, django_assert_max_num_queries):
    for i in range(30):
        f.expected("daily", f"t.{i}", proj=f"p{i % 5}")

    with django_assert_max_num_queries(12):
        response = admin_client.get(EXPECTED_URL)

    assert response.status_code == 200


# --- results -------------------------------------------------------------------------------


def test_result_list_filters_searches_and_is_read_only(admin_client):
    run = make_run("r", "PPF")
    failed = TestResult.objects.get(run=run, status="F")

    by_status = admin_client.get(RESULTS_URL, {"status": "F"})
    by_search = admin_client.get(RESULTS_URL, {"q": "test_1"})
    by_run = admin_client.get(RESULTS_URL, {"run__id__exact": run.pk})
    detail = admin_client.get(reverse("admin:results_testresult_change", args=[failed.pk]))

    assert [r.pk for r in by_status.context["cl"].result_list] == [failed.pk]
    assert [r.test_name for r in by_search.context["cl"].result_list] == ["suite.test_1"]
    assert len(by_run.context["cl"].result_list) == 3
    assert detail.status_code == 200
    assert detail.context["has_change_permission"] is False
    assert admin_client.get(reverse("admin:results_testresult_add")).status_code == 403


@pytest.mark.db_dependent
def test_result_search_ignores_case_as_the_site_search_does(admin_client):
    """The names compare bytewise (PostgreSQL's "C"), where UPPER folds ASCII only: the
    admin's search still finds a name in any case, non-ASCII letters too on PostgreSQL
    (SQLite's LIKE folds ASCII letters only, as it always has)."""
    from django.db import connection

    run = f.run("r")
    for name in ("pkg.Café.test_a", "pkg.other.test_b", "pkg.100%.test_c"):
        f.result(run, name)

    def found(term: str) -> list[str]:
        response = admin_client.get(RESULTS_URL, {"q": term})
        return sorted(r.test_name for r in response.context["cl"].result_list)

    assert found("CAF") == ["pkg.Café.test_a"]
    assert found("100%") == ["pkg.100%.test_c"]  # % is a character, not LIKE's wildcard
    assert found("PKG.*.TEST_B") == ["pkg.other.test_b"]  # * is the site search's wildcard
    if connection.vendor == "postgresql":
        assert found("CAFÉ") == ["pkg.Café.test_a"]


@pytest.mark.db_dependent
def test_result_list_queries_are_bounded(admin_client, django_assert_max_num_queries):
    for i in range(5):
        make_run(f"run-{i}", "PFEDM" * 6)

    with django_assert_max_num_queries(10):
        response = admin_client.get(RESULTS_URL)

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 100  # one page


@pytest.mark.db_dependent
def test_result_count_is_capped(admin_client, monkeypatch):
    from results.admin import CappedCountPaginator

    monkeypatch.setattr(CappedCountPaginator, "cap", 5)
    make_run("r", "PPPPPPP")

    capped = admin_client.get(RESULTS_URL)
    exact = admin_client.get(RESULTS_URL, {"status": "P", "q": "test_1"})

    assert capped.context["cl"].result_count == 5
    assert "More than 5 test results" in capped.content.decode()
    assert exact.context["cl"].result_count == 1
    assert "1 test result" in exact.content.decode()


# --- projects and contacts -----------------------------------------------------------------


def test_project_and_contact_lists(admin_client):
    proj = f.project("alpha")
    Contact.objects.create(project=proj, test_prefix="a.", email="qa@example.com", format="full")
    f.project("beta")

    projects = admin_client.get(reverse("admin:results_project_changelist"), {"q": "alp"})
    contacts = admin_client.get(
        reverse("admin:results_contact_changelist"),
        {"project__id__exact": proj.pk, "format": "full"},
    )

    assert [p.name for p in projects.context["cl"].result_list] == ["alpha"]
    assert [c.email for c in contacts.context["cl"].result_list] == ["qa@example.com"]


@pytest.mark.db_dependent
def test_project_with_results_cannot_be_deleted(admin_client):
    run = make_run("r", "PP")
    proj = TestResult.objects.filter(run=run).first().project
    f.project("empty")
    empty = Project.objects.get(name="empty")

    blocked = admin_client.get(reverse("admin:results_project_delete", args=[proj.pk]))
    allowed = admin_client.post(
        reverse("admin:results_project_delete", args=[empty.pk]), {"post": "yes"}
    )

    assert blocked.status_code == 200
    assert "has test results" in blocked.content.decode()
    assert allowed.status_code == 302
    assert not Project.objects.filter(pk=empty.pk).exists()
    assert Project.objects.filter(pk=proj.pk).exists()


def test_expected_test_classes_follow_the_cli_rule(admin_client):
    from results.models import ExpectedTest
    from tests import factories

    project = factories.project("p")
    resp = admin_client.post(
        "/admin/results/expectedtest/add/",
        {"run_class": "bad class", "project": project.pk, "host": "", "context": "default",
         "test_name": "t"},
    )  # fmt: skip
    assert resp.status_code == 200 and b"not a valid class of runs" in resp.content
    assert not ExpectedTest.objects.exists()


# --- flaky tests, contacts, announcements ---------------------------------------------------


@pytest.mark.db_dependent
def test_admin_shows_flaky_tests_and_jobs_read_only(admin_client):
    flaky_days({"t.x": "PFPF"})
    refresh_flaky("daily", k=3)
    FlakinessJob.objects.create(series="daily")
    assert "t.x" in admin_client.get("/admin/results/flakytest/").content.decode()
    assert "daily" in admin_client.get("/admin/results/flakinessjob/").content.decode()
    assert admin_client.get("/admin/results/flakytest/add/").status_code == 403


@pytest.mark.db_dependent
def test_contacts_are_editable_in_the_admin(admin_client):
    contact = Contact.objects.create(project=f.project("engine"), email="a@example.com")
    page = admin_client.get("/admin/results/contact/")
    assert page.status_code == 200 and b"a@example.com" in page.content
    change = admin_client.get(f"/admin/results/contact/{contact.pk}/change/")
    assert change.status_code == 200


@pytest.mark.db_dependent
def test_announcements_are_listed_in_the_admin(smtp, night, admin_client):
    notify(RUN)
    page = admin_client.get("/admin/results/announcement/")
    assert page.status_code == 200 and b"alice@example.com" in page.content


# --- triage ----------------------------------------------------------------------------------


def test_triage_admin_records_who_and_takes_comments_inline(admin_client, admin_user):
    from results.models import Triage

    project = Project.objects.create(name="db")
    answer = admin_client.post(
        "/admin/results/triage/add/",
        {
            "project": project.pk, "test_name": "t.x", "host": "", "context": "",
            "fingerprint": "", "defect_type": "product_bug", "ticket": "", "muted": "on",
            "muted_until_0": "", "muted_until_1": "",
            "comments-TOTAL_FORMS": "1", "comments-INITIAL_FORMS": "0",
            "comments-MIN_NUM_FORMS": "0", "comments-MAX_NUM_FORMS": "1000",
            "comments-0-text": "muted while BUG-9 is open",
        },
    )  # fmt: skip
    assert answer.status_code == 302, answer.content.decode()[-2000:]
    triage = Triage.objects.get()
    assert triage.is_muted() and triage.created_by == admin_user.username
    assert triage.comments.get().author == admin_user.username
    listing = admin_client.get("/admin/results/triage/").content.decode()
    assert "t.x" in listing
    # Both a test and a cluster: the model's constraint refuses it.
    refused = admin_client.post(
        "/admin/results/triage/add/",
        {
            "project": project.pk, "test_name": "t.y", "fingerprint": "0123456789abcdef",
            "defect_type": "test_bug", "comments-TOTAL_FORMS": "0",
            "comments-INITIAL_FORMS": "0", "comments-MIN_NUM_FORMS": "0",
            "comments-MAX_NUM_FORMS": "1000",
        },
    )  # fmt: skip
    assert refused.status_code == 200 and Triage.objects.count() == 1
