"""Query testing in a real browser: the dashboard of a real run (trend chart, groups), a
group's page with its differing rows marked, and a staff user marking the group known.
Screenshots go to test-output/screenshots/."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group as DjangoGroup
from playwright.sync_api import expect

from core import jobs
from core.models import JobState
from querygen import selectors
from querygen.models import Group, QuerygenRun
from querygen.services import runs
from tests.querygen.conftest import qg_engines, querygen_duckdb, querygen_sqlite  # noqa: F401 - fixtures
from tests.querygen.factories import make_finding, make_group, make_run

# The live server is another thread: the test's writes must be committed for it to see them.
pytestmark = [pytest.mark.django_db(transaction=True)]

LINK = "https://bugs.example.org/duckdb/1234"


def _group_with_marked_rows(run) -> Group:
    """A content group of the run whose shown sample has differing rows among those kept."""
    for group in Group.objects.filter(samples__run=run, kind="content").distinct():
        sample = selectors.shown_sample(group)
        if sample is not None and any(side["marked"] for side in sample.results):
            return group
    kinds = [(g.kind, g.title[:80]) for g in Group.objects.filter(samples__run=run).distinct()]
    raise AssertionError(f"the run found no content difference with marked rows: {kinds}")


@pytest.mark.usefixtures("qg_engines")
def test_a_run_s_findings_from_the_dashboard_to_a_known_group(page, live_server, django_user_model):
    # A triager, not staff: signs in on the site's own page and acts on groups (core.roles).
    triager = django_user_model.objects.create_user("qa-lead", password="secret-pw")
    triager.groups.add(DjangoGroup.objects.get(name="Triager"))
    # On the fixture dataset, whose FLOAT column holds NaN (SQLite reads it back as NULL): a
    # content difference with rows to mark. Generated databases, quiet by design, rarely
    # show one in 60 queries.
    run = runs.submit_run(
        sut="qg-duckdb",
        reference="qg-sqlite",
        budget_queries=60,
        seed=1,
        timeout=1.0,
        profile={"data": "dataset"},
    )
    assert jobs.run_job("querygen.QuerygenRun", run.pk) == "succeeded"
    group = _group_with_marked_rows(run)

    page.goto(f"{live_server.url}/querygen/")
    chart = page.locator("svg.qg-trend")
    expect(chart).to_be_visible()
    expect(chart.locator("title").first).to_contain_text("Findings per 1,000 queries")
    expect(chart.locator("polyline")).to_have_count(4)
    expect(page.locator(".qg-legend")).to_contain_text("contents")
    groups = page.locator("table.qg-groups tbody tr")
    expect(groups).to_have_count(Group.objects.count())
    expect(page.locator(f'table.qg-runs tr[data-run="{run.pk}"]')).to_contain_text("succeeded")
    page.shot("dashboard")

    page.locator(f'table.qg-groups tr[data-group="{group.pk}"] td.qg-title a').click()
    expect(page).to_have_url(f"{live_server.url}/querygen/groups/{group.pk}/")
    expect(page.locator("h1")).to_contain_text(group.title[:40])
    expect(page.locator(".qg-sample .qg-side")).to_have_count(2)
    marked = page.locator(".qg-sample table.qg-result tr.differs .marker")
    assert marked.count() > 0
    expect(marked.first).to_be_visible()
    expect(marked.first).to_have_text("≠")
    expect(page.locator(".qg-sample pre.sql .sql-k").first).to_have_text("SELECT")
    assert page.locator("details.qg-original").get_attribute("open") is None
    # Readers see no actions until they log in.
    expect(page.get_by_role("button", name="Mark known")).to_have_count(0)
    page.shot("group")

    page.goto(f"{live_server.url}/accounts/login/?next=/querygen/groups/{group.pk}/")
    page.fill("#id_username", "qa-lead")
    page.fill("#id_password", "secret-pw")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/querygen/groups/{group.pk}/")

    page.fill("input[name=link]", LINK)
    page.fill("textarea[name=note]", "Reported upstream.")
    page.get_by_role("button", name="Mark known").click()
    expect(page.locator(".messages")).to_contain_text("Marked known.")
    expect(page.locator('[data-field="status"]')).to_have_text("known")
    expect(page.locator('[data-field="link"] a')).to_have_attribute("href", LINK)
    expect(page.get_by_role("button", name="Reopen")).to_be_visible()
    page.shot("known")
    group.refresh_from_db()
    assert (group.status, group.link, group.note) == ("known", LINK, "Reported upstream.")


def test_the_dashboard_follows_a_running_run(page, live_server):
    run = make_run(state=JobState.RUNNING, finished_at=None, progress_done=10, progress_total=100)
    page.goto(f"{live_server.url}/querygen/")
    expect(page.locator("[data-live-note]")).to_contain_text("1 run queued or running")
    expect(page.locator("table.qg-groups")).to_have_count(0)
    page.evaluate("window.notReloaded = true")  # a reload would lose it

    # The run records a finding and checkpoints: the page shows both without a reload.
    make_finding(make_group(run, title="crash: the engine went away"))
    QuerygenRun.objects.filter(pk=run.pk).update(progress_done=55)
    row = page.locator(f'table.qg-runs tr[data-run="{run.pk}"]')
    expect(page.locator("table.qg-groups")).to_contain_text(
        "crash: the engine went away", timeout=25_000
    )
    expect(row.locator('[data-field="percent"]')).to_have_text("55 %")
    expect(row.locator('[data-field="findings"]')).to_have_text("1")
    assert page.evaluate("window.notReloaded") is True
    page.shot("following")

    # The run finishes: one last redraw, and the note about following is gone.
    QuerygenRun.objects.filter(pk=run.pk).update(state=JobState.SUCCEEDED, queries=100)
    expect(row.locator('[data-field="state"]')).to_have_text("succeeded", timeout=25_000)
    expect(page.locator("[data-live-note]")).to_have_count(0)


@pytest.mark.usefixtures("qg_engines")
def test_staff_start_a_custom_run_of_a_private_build_from_the_form(
    page, live_server, django_user_model
):
    import sys

    django_user_model.objects.create_user("qa-lead", password="secret-pw", is_staff=True)
    page.goto(f"{live_server.url}/admin/login/?next=/querygen/runs/new/")
    page.fill("#id_username", "qa-lead")
    page.fill("#id_password", "secret-pw")
    page.locator("input[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/querygen/runs/new/")

    form = page.locator("form").filter(has=page.locator("[name=sut]"))
    form.locator("[name=sut]").select_option(label="qg-duckdb (DuckDB)")
    form.locator("[name=reference]").select_option(label="qg-sqlite (SQLite)")
    form.locator("[name=sut_python]").fill("python3")  # not an absolute path: refused
    form.locator("[name=budget_queries]").fill("30")
    form.locator("[name=seed]").fill("7")
    page.get_by_role("button", name="Start the run").click()
    expect(page.locator("body")).to_contain_text("not an absolute path")
    assert not QuerygenRun.objects.exists()
    expect(form.locator("[name=budget_queries]")).to_have_value("30")  # the values are kept

    form.locator("[name=sut_python]").fill(sys.executable)
    page.get_by_role("button", name="Start the run").click()
    run = QuerygenRun.objects.get()
    expect(page).to_have_url(f"{live_server.url}/querygen/runs/{run.pk}/")
    assert run.sut_python == sys.executable and run.budget_queries == 30
    page.shot("custom-run-queued")

    assert jobs.run_job("querygen.QuerygenRun", run.pk) == "succeeded"
    page.reload()
    expect(page.locator("body")).to_contain_text(sys.executable)
    expect(page.locator("body")).to_contain_text("succeeded")
    run.refresh_from_db()
    expect(page.locator("body")).to_contain_text(f"{run.findings} findings")
    page.shot("custom-run-done")
