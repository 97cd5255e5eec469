"""The flow people live in, in a real browser: import → run → drill down → the failing
test's log → compare with the previous day. Screenshots go to test-output/screenshots/."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from results.demo import junit_document
from results.models import TestResult

pytestmark = [pytest.mark.django_db(transaction=True)]


def _import(page, base: str, token: str, run: str, data: bytes) -> dict:
    resp = page.request.post(
        f"{base}/api/v1/imports/",
        headers={"Authorization": f"Token {token}"},
        multipart={
            "file": {"name": f"{run}.xml", "mimeType": "application/xml", "buffer": data},
            "run": run,
            "project": "engine",
            "host": "ci-1",
        },
    )
    assert resp.status == 201, resp.text()
    return resp.json()


def test_import_then_find_the_failing_test_and_its_log(page, live_server):
    user = get_user_model().objects.create_user("ci", password="unused-password-1")
    token = Token.objects.create(user=user).key
    base = live_server.url
    _import(page, base, token, "daily_2026-11-01", junit_document(300, seed=1, fail_every=1000))
    answer = _import(page, base, token, "daily_2026-11-02", junit_document(300, seed=1))
    [run] = answer["runs"]
    assert run["counts"]["F"] > 0

    page.goto(base + "/")
    page.shot("home")
    page.get_by_role("link", name="daily_2026-11-02").first.click()
    page.wait_for_url("**/runs/daily_2026-11-02/**")
    page.shot("run")

    # narrow to the failures, then open the first failing test
    page.locator("a.st-filter", has_text="fail").first.click()
    page.wait_for_url("**status=F**")
    page.shot("failures")
    page.locator("td.leaf a").first.click()
    page.wait_for_url("**/results/**")
    page.shot("failing-test")
    result = TestResult.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[1]))
    assert result.status == "F" and result.run.name == "daily_2026-11-02"
    assert page.locator(".st-F").first.is_visible()
    assert result.log.splitlines()[0] in page.locator("pre.log").inner_text()
