import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from core.exceptions import Conflict
from results.models import ExpectedTest, TestResult
from results.services.expected import check_expected, unexpect
from results.services.runs import today
from tests import factories
from tests.results.factories import BEFORE, COMPARE, NOW

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


@pytest.fixture
def staff_client(db):
    user = get_user_model().objects.create_user("qa-lead", password="pw-12345678", is_staff=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def plain_client(db):
    user = get_user_model().objects.create_user("dev", password="pw-12345678")
    client = Client()
    client.force_login(user)
    return client


def _tabs(html: str) -> dict[str, int]:
    tabs = re.findall(r'class="tab tab-(\w+)[^"]*".*?class="n">(\d+)<', html)
    return {kind: int(n) for kind, n in tabs}


def _result(run, test_name: str) -> TestResult:
    return TestResult.objects.get(run=run, test_name=test_name)


# --- the compare page -----------------------------------------------------------------------


def test_compare_page_counts_and_lists_regressions_with_both_results(client, compared_days):
    now, before = compared_days
    html = client.get(COMPARE).content.decode()
    assert _tabs(html) == {"regressions": 2, "fixes": 1, "new": 1, "vanished": 1, "missing": 1}
    assert "a.breaks" in html and "a.missing" in html and "a.fixed" not in html
    # Both statuses, each linked to its result.
    assert f'href="/results/{_result(before, "a.breaks").pk}/"' in html
    assert f'href="/results/{_result(now, "a.breaks").pk}/"' in html
    assert f'href="/runs/{NOW}/compare/{BEFORE}/?kind=fixes"' in html
    assert f'href="/runs/{BEFORE}/compare/{NOW}/?kind=regressions"' in html  # swap


@pytest.mark.parametrize(
    ("kind", "shown", "absent"),
    [
        ("fixes", ["a.fixed"], ["a.breaks", "a.new"]),
        ("new", ["a.new"], ["a.fixed", "a.gone"]),
        ("vanished", ["a.gone"], ["a.new", "a.ok"]),
        ("missing", ["a.missing", "daily"], ["a.breaks"]),
    ],
)
def test_each_tab_lists_its_tests(client, compared_days, kind, shown, absent):
    html = client.get(f"{COMPARE}?kind={kind}").content.decode()
    table = html[html.index('<table class="grid results">') :]
    assert all(name in table for name in shown), kind
    assert not any(f">{name}<" in table for name in absent), kind


def test_the_vanished_test_links_to_the_other_run_only(client, compared_days):
    _, before = compared_days
    html = client.get(f"{COMPARE}?kind=vanished").content.decode()
    assert f'href="/results/{_result(before, "a.gone").pk}/"' in html
    assert '<span class="absent">—</span>' in html


def test_compare_with_the_previous_run_and_aliases(client, compared_days):
    resp = client.get("/runs/daily_latest/compare/")
    assert resp.status_code == 302 and resp["Location"] == f"/runs/{NOW}/compare/"
    html = client.get(f"/runs/{NOW}/compare/").content.decode()
    assert f'compared with</small> <a href="/runs/{BEFORE}/">{BEFORE}</a>' in html
    assert _tabs(html)["regressions"] == 2
    resp = client.get(f"/runs/daily_latest/compare/{BEFORE}/?kind=new")
    assert resp["Location"] == f"{COMPARE}?kind=new"
    # The run page's "compare with" box gives the comparison its own address.
    resp = client.get(f"/runs/{NOW}/compare/?compare={BEFORE}")
    assert resp.status_code == 302 and resp["Location"] == COMPARE
    resp = client.get("/runs/daily_latest/compare/?compare=daily_yesterday")
    assert resp["Location"] == f"/runs/{NOW}/compare/daily_{today() - timedelta(days=1)}/"
    for bad in ["a/b", "nope"]:
        assert client.get(f"/runs/{NOW}/compare/?compare={bad}").status_code == 404


def test_private_reads_need_a_login(client, staff_client, compared_days, settings):
    settings.ASSAY_PUBLIC_READ = False
    resp = client.get(COMPARE)
    assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/")
    assert staff_client.get(COMPARE).status_code == 200


def test_compare_refusals_say_why(client, compared_days):
    resp = client.get(f"/runs/{BEFORE}/compare/")
    assert resp.status_code == 404
    assert "is the first run of its series daily" in resp.content.decode()
    assert 'name="compare"' in resp.content.decode()  # and offers to pick one
    factories.run("adhoc")
    resp = client.get("/runs/adhoc/compare/")
    assert resp.status_code == 404 and "a run of no series" in resp.content.decode()
    resp = client.get(f"/runs/{NOW}/compare/{NOW}/")
    assert resp.status_code == 400 and "itself" in resp.content.decode()
    assert client.get(f"/runs/{NOW}/compare/nope/").status_code == 404


# --- "not expected any more" ------------------------------------------------------------------


def test_only_staff_see_the_button(client, plain_client, staff_client, compared_days):
    for url in [f"{COMPARE}?kind=missing", f"/runs/{NOW}/?status=M"]:
        assert "not expected any more" not in client.get(url).content.decode()
        assert "not expected any more" not in plain_client.get(url).content.decode()
        assert "not expected any more" in staff_client.get(url).content.decode()


def test_staff_unexpect_removes_the_expected_test_and_the_m_record(staff_client, compared_days):
    now, _ = compared_days
    missing = _result(now, "a.missing")
    assert missing.tra == {"expected_in": "daily"}
    back = f"{COMPARE}?kind=missing"
    resp = staff_client.post(f"/results/{missing.pk}/unexpect/", {"next": back})
    assert resp.status_code == 302 and resp["Location"] == back
    assert not TestResult.objects.filter(pk=missing.pk).exists()
    assert list(ExpectedTest.objects.values_list("test_name", flat=True)) == ["a.ok"]
    now.refresh_from_db()
    assert now.status_counts == {"P": 3, "F": 1}  # refreshed: no M any more
    html = staff_client.get(back).content.decode()
    assert "a.missing is not expected any more: removed from daily" in html  # the message
    assert _tabs(html) == {"regressions": 1, "fixes": 1, "new": 1, "vanished": 2, "missing": 0}
    # check_expected no longer puts it back.
    assert check_expected("daily", NOW).added == 0
    assert not TestResult.objects.filter(run=now, test_name="a.missing").exists()


def test_anonymous_and_non_staff_get_403_and_nothing_changes(client, plain_client, compared_days):
    now, _ = compared_days
    missing = _result(now, "a.missing")
    for someone in (client, plain_client):
        assert someone.post(f"/results/{missing.pk}/unexpect/").status_code == 403
    assert TestResult.objects.filter(pk=missing.pk).exists()
    assert ExpectedTest.objects.count() == 2
    assert client.get(f"/results/{missing.pk}/unexpect/").status_code == 405  # POST only


def test_unexpect_needs_the_csrf_token(compared_days):
    now, _ = compared_days
    missing = _result(now, "a.missing")
    user = get_user_model().objects.create_user("qa", password="pw-12345678", is_staff=True)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    url = f"/results/{missing.pk}/unexpect/"
    assert browser.post(url).status_code == 403
    assert TestResult.objects.filter(pk=missing.pk).exists()
    html = browser.get(f"{COMPARE}?kind=missing").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    assert browser.post(url, {"csrfmiddlewaretoken": token}).status_code == 302
    assert not TestResult.objects.filter(pk=missing.pk).exists()


def test_unexpect_refuses_a_result_that_is_not_missing(staff_client, compared_days):
    now, _ = compared_days
    passed = _result(now, "a.ok")
    resp = staff_client.post(f"/results/{passed.pk}/unexpect/", {"next": "https://evil.example/"})
    assert resp.status_code == 302 and resp["Location"] == f"/runs/{NOW}/?status=M"
    html = staff_client.get(resp["Location"]).content.decode()
    assert "is not missing in daily_2026-11-02 (status P)" in html
    assert TestResult.objects.filter(pk=passed.pk).exists()
    with pytest.raises(Conflict):
        unexpect(passed)


# --- speed ------------------------------------------------------------------------------------


def _bulk(run, project, n: int, status_of) -> None:
    factories.bulk_results(run, n, status_of, proj=project.name)


def test_tree_and_compare_pages_of_big_runs_run_a_bounded_number_of_queries(
    client, django_assert_max_num_queries
):
    # 20,000 results a day prove the point as well as 100,000 (test_runs.py beside this file
    # has the 100,000 one): the query count does not grow with the rows.
    project = factories.project("p")
    before, now = factories.run(BEFORE), factories.run(NOW)
    _bulk(before, project, 20_000, lambda i: "F" if i % 89 == 0 else "P")
    _bulk(now, project, 20_000, lambda i: "F" if i % 97 == 0 else ("M" if i % 501 == 0 else "P"))
    # Each page reads the active mutes once (results.selectors.triage): + 1.
    pages = {
        # run, previous, next, two GROUP BYs, run choices, the active mutes, the failure
        # clusters (one query here: no failure has a message; a second when some do)
        f"/runs/{NOW}/": 9,
        f"/runs/{NOW}/?prefix=pkg.": 8,
        f"/runs/{NOW}/?prefix=pkg.m7.": 9,  # + the leaves' results
        f"/runs/{NOW}/?prefix=pkg.m7.&status=F": 9,  # + the page of results
        COMPARE: 9,  # two runs, three counts, the rows, their counterparts, run choices, mutes
        f"{COMPARE}?kind=fixes&page=2": 9,
        f"{COMPARE}?kind=missing": 8,
        f"/runs/{NOW}/compare/": 9,
    }
    for url, limit in pages.items():
        with django_assert_max_num_queries(limit):
            resp = client.get(url)
        assert resp.status_code == 200, url
    html = client.get(f"{COMPARE}?kind=regressions").content.decode()
    counts = _tabs(html)
    assert counts["missing"] == 39 and counts["regressions"] > 200  # i = 0 is an F
    assert "page 1 of 2" in client.get(f"{COMPARE}?kind=fixes").content.decode()
