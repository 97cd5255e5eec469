"""Issue 15's acceptance, in a real browser: CI imports three builds of one series with
attributes → the series page shows the trend → a failure cluster → a triager mutes a test →
the next build's regressions leave it out. Screenshots go to test-output/screenshots/."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token

from results.models import TestRun
from tests.browser.conftest import import_junit

pytestmark = [pytest.mark.django_db(transaction=True)]

PASSING = [f"db.storage.test_case_{i}" for i in range(12)]
FLAKY = "db.network.test_reconnect"
OTHER = "db.planner.test_join_order"


def _junit(failing: dict[str, str]) -> bytes:
    """A JUnit file of every test above; `failing` maps a test to its failure message."""
    cases = []
    for name in [*PASSING, FLAKY, OTHER]:
        classname, _, short = name.rpartition(".")
        body = ""
        if name in failing:
            message = failing[name].replace('"', "&quot;")
            body = f'<failure message="{message}">Traceback: {message}</failure>'
        cases.append(
            f'<testcase classname="{classname}" name="{short}" time="0.5">{body}</testcase>'
        )
    return (
        '<?xml version="1.0"?><testsuites><testsuite name="engine" tests="'
        + str(len(cases))
        + '">'
        + "".join(cases)
        + "</testsuite></testsuites>"
    ).encode()


def _import(page, base: str, token: str, run: str, commit: str, started: str, data: bytes):
    """One CI build of the series nightly, on main, in the prod environment."""
    build = {"series": "nightly", "branch": "main", "commit": commit, "started_at": started}
    return import_junit(page, base, token, run, data, **build, attr="env=prod")


def _user(name: str, group: str) -> object:
    user = get_user_model().objects.create_user(name, password=f"{name}-password-1")
    user.groups.add(Group.objects.get(name=group))
    return user


def test_series_trend_cluster_mute_then_regressions_leave_it_out(page, live_server):
    token = Token.objects.create(user=_user("ci", "CI")).key
    _user("tri", "Triager")
    base = live_server.url
    # Nine storage tests fail with one assertion and different numbers: one cluster.
    assertion = {name: f"AssertionError: assert {i + 3} == 4" for i, name in enumerate(PASSING[:9])}
    # Two builds the same day, named by commit: the series orders them by start time.
    _import(page, base, token, "engine-a1b2c3", "a1b2c3", "2026-12-01T01:00:00Z", _junit({}))
    _import(page, base, token, "engine-d4e5f6", "d4e5f6", "2026-12-01T13:00:00Z", _junit(assertion))
    _import(page, base, token, "engine-0718aa", "0718aa", "2026-12-02T01:00:00Z", _junit(assertion))
    assert [r.name for r in TestRun.objects.filter(series="nightly").order_by("started_at")] == [
        "engine-a1b2c3",
        "engine-d4e5f6",
        "engine-0718aa",
    ]

    # The series page: its pass-rate trend has one point per build, each linked to its run.
    page.goto(f"{base}/series/nightly/")
    page.shot("series")
    chart = page.locator("svg.trend").first
    assert chart.is_visible()
    points = chart.locator("a:has(circle.point)")
    assert points.count() == 3
    hrefs = [points.nth(i).get_attribute("href") for i in range(3)]
    assert hrefs == [f"/runs/{n}/" for n in ("engine-a1b2c3", "engine-d4e5f6", "engine-0718aa")]
    tips = " ".join(chart.locator("circle.point title").all_text_contents())
    assert "engine-a1b2c3: 100.0% passed (14 of 14" in tips
    assert "engine-0718aa: 35.7% passed (5 of 14" in tips
    assert "0718aa" in page.locator("body").inner_text()

    # The latest build's page: the nine assertion failures are one cluster, seen before.
    page.goto(f"{base}/runs/engine-0718aa/")
    page.shot("run")
    row = page.locator("table.clusters tr", has_text="assert <n> == <n>")
    assert row.count() == 1
    assert "seen before" in row.inner_text()
    row.get_by_role("link", name="9 tests").click()
    page.wait_for_url("**/clusters/**")
    page.shot("cluster")
    runs = page.locator("#runs + table").inner_text()
    assert "engine-d4e5f6" in runs and "engine-0718aa" in runs and "engine-a1b2c3" not in runs

    # A triager signs in, finds the reconnect test and mutes it (an infrastructure problem).
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("User name").fill("tri")
    page.get_by_label("Password").fill("tri-password-1")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    page.goto(f"{base}/search/?q=RECONNECT")
    page.get_by_role("link", name=FLAKY).click()
    page.wait_for_url("**/results/**")
    form = page.locator("form.triage-form").first
    form.get_by_label("Defect type").select_option(label="Infrastructure")
    form.get_by_label("Ticket").fill("https://tracker.example.com/ENG-42")
    form.get_by_role("checkbox", name="Mute").check()
    form.get_by_label("Comment").fill("The lab network drops connections.")
    form.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    page.shot("muted")
    panel = page.locator("section.triage").first
    assert "muted" in panel.inner_text() and "ENG-42" in panel.inner_text()
    assert "The lab network drops connections." in panel.inner_text()

    # The next build: the muted test and another one regress; only the other is a regression.
    regressed = {FLAKY: "ConnectionError: timeout after 30 s", OTHER: "AssertionError: plan"}
    _import(page, base, token, "engine-99ffee", "99ffee", "2026-12-03T01:00:00Z", _junit(regressed))
    page.goto(f"{base}/runs/engine-99ffee/")
    page.get_by_role("button", name="Regressions and fixes").click()
    page.wait_for_url("**/compare/**")
    page.shot("regressions")
    assert "engine-0718aa" in page.url  # the series' previous build, not a date
    text = page.locator("body").inner_text()
    assert re.search(r"Regressions\s+1\b", text), text
    listed = page.locator("table td.testname a").all_inner_texts()
    assert OTHER in listed and FLAKY not in listed
