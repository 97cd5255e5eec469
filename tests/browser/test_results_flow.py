"""The flow people live in, in a real browser: import → run → drill down → the failing
test's log → compare with the previous day. Screenshots go to test-output/screenshots/."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token

from results.demo import junit_document
from results.models import TestResult, TestRun
from results.selectors.compare import compare_counts
from tests.browser.conftest import import_junit

pytestmark = [pytest.mark.django_db(transaction=True)]


def _import(page, base: str, token: str, run: str, data: bytes) -> dict:
    return import_junit(page, base, token, run, data, host="ci-1")


def test_import_then_find_the_failing_test_and_its_log(page, live_server):
    user = get_user_model().objects.create_user("ci", password="unused-password-1")
    user.groups.add(Group.objects.get(name="CI"))
    token = Token.objects.create(user=user).key
    base = live_server.url
    _import(page, base, token, "daily_2026-11-01", junit_document(300, seed=1, fail_every=1000))
    answer = _import(page, base, token, "daily_2026-11-02", junit_document(300, seed=1))
    [run] = answer["runs"]
    assert run["counts"]["F"] > 0

    # a test that passed the day before and fails now: the flow must lead to it
    failing = (
        TestResult.objects.filter(run__name="daily_2026-11-02", status="F")
        .order_by("test_name")
        .first()
    )
    assert TestResult.objects.get(run__name="daily_2026-11-01", test_name=failing.test_name,
                                  host=failing.host).status == "P"  # fmt: skip

    page.goto(base + "/")
    page.shot("dashboard")
    page.get_by_role("link", name="daily_2026-11-02").first.click()
    page.wait_for_url("**/runs/daily_2026-11-02/**")
    page.shot("run-tree")

    # drill down the tree, one dotted level at a time, to the failing test
    segments = re.split(r"[./]", failing.test_name)
    for depth, segment in enumerate(segments):
        row = page.locator("table.tree td.name a", has_text=re.compile(rf"^{re.escape(segment)}$"))
        row.first.click()
        page.wait_for_load_state()
        if depth < len(segments) - 1:
            assert page.locator("p.crumbs").inner_text().endswith(segment)
    page.wait_for_url("**/results/**")
    page.shot("failing-test")
    result = TestResult.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[1]))
    assert result == failing
    assert page.locator(".st-F").first.is_visible()
    assert failing.log.splitlines()[0] in page.locator("pre.log").inner_text()

    # compare with the previous day: the test is among the regressions
    page.goto(f"{base}/runs/daily_2026-11-02/")
    page.get_by_role("button", name="Regressions and fixes").click()
    page.wait_for_url("**/compare/**")
    page.shot("compare")
    assert "daily_2026-11-01" in page.url
    assert page.get_by_role("link", name=failing.test_name).first.is_visible()
    now, before = (TestRun.objects.get(name=f"daily_2026-11-0{d}") for d in (2, 1))
    expected = compare_counts(now, before).regressions
    assert expected > 0
    assert re.search(rf"Regressions\s+{expected}\b", page.locator("body").inner_text())
