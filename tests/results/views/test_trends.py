"""The series pages: the list with sparklines, a series' trends and runs; the dashboard's."""

import re

import pytest

from results.models import TestResult
from tests import factories
from tests.results.factories import NIGHTLY, NIGHTLY_RATES, nightly, series_run

pytestmark = pytest.mark.django_db


def chart(html: str, title_start: str) -> str:
    """The <svg> whose <title> starts with `title_start`."""
    for svg in re.findall(r"<svg class=\"trend.*?</svg>", html, re.S):
        if f"<title>{title_start}" in svg:
            return svg
    raise AssertionError(f"no chart titled {title_start!r}")


@pytest.mark.db_dependent
def test_series_page_charts_one_point_per_run_with_its_pass_rate(client):
    runs = nightly()
    html = client.get("/series/nightly/").content.decode()
    rate = chart(html, "Pass rate of the last 4 runs")
    dots = re.findall(
        r'<a href="(/runs/[^"]+/)"><circle class="point"[^>]*><title>([^<]+)</title>', rate
    )
    assert [href for href, _ in dots] == [f"/runs/{r.name}/" for r in runs]  # oldest first
    shown = [float(re.search(r": ([\d.]+)% passed", tip).group(1)) for _, tip in dots]
    assert shown == pytest.approx([100 * r for r in NIGHTLY_RATES], abs=0.05)
    assert "build-2: 33.3% passed (1 of 3 that ran)" in rate
    assert 'class="axis-title"' in rate and ">passed (%)</text>" in rate  # labelled axes
    stack = chart(html, "Results per status of the last 4 runs")
    assert stack.count('<a class="bar"') == 4
    assert "<title>build-2: 1 pass, 2 fail, 1 disabled</title>" in stack
    duration = chart(html, "Total duration of the last 4 runs")
    assert "<title>build-4: 43 s in all</title>" in duration


@pytest.mark.db_dependent
def test_series_page_lists_tests_and_runs_newest_first(client):
    runs = nightly()
    html = client.get("/series/nightly/").content.decode()
    slowest = html.split("Slowest tests")[1].split("</table>")[0]
    slow = TestResult.objects.get(run=runs[3], test_name="t.slow")
    assert f'<a href="/results/{slow.pk}/">t.slow</a>' in slowest
    assert "25.000 s" in slowest
    failing = html.split("Most often failing")[1].split("</table>")[0]
    assert failing.index("t.flaky") < failing.index("t.a")
    assert "3/3" in failing and "100%" in failing and "1/4" in failing
    table = html.split("<h2>Runs")[1]
    assert table.index("build-4") < table.index("build-3") < table.index("build-1")
    assert "<td>main</td><td><code>abc3</code></td>" in table
    assert "43.0 s" in table


def test_series_page_window_and_bad_input(client):
    nightly()
    two = client.get("/series/nightly/?runs=2").content.decode()
    assert "<title>Pass rate of the last 2 runs</title>" in two
    bad = client.get("/series/nightly/?runs=zero")
    assert bad.status_code == 400 and b"number of runs from 2" in bad.content
    assert client.get("/series/nosuch/").status_code == 404


def test_series_page_is_paged(client, monkeypatch):
    from results.views import trends as views

    monkeypatch.setattr(views, "SERIES_RUNS_PER_PAGE", 3)
    nightly()
    html = client.get("/series/nightly/?page=2").content.decode()
    assert "page 2 of 2" in html
    assert (
        "build-1</a>" in html.split("<h2>Runs")[1]
        and "build-4</a>" not in html.split("<h2>Runs")[1]
    )


def test_series_list_shows_latest_counts_and_a_sparkline(client):
    nightly()
    series_run("weekly", "weekly-1", 2, NIGHTLY, 0)
    factories.run("no-series")
    html = client.get("/series/").content.decode()
    assert html.index('href="/series/nightly/"') < html.index('href="/series/weekly/"')
    row = html.split('href="/series/nightly/"')[1].split("</tr>")[0]
    assert '<a href="/runs/build-4/">build-4</a>' in row
    assert '<span class="st st-F" title="fail">F</span> 1' in row
    assert '<svg class="sparkline"' in row and "from 100% to 33%" in row
    assert "no-series" not in html


def test_series_list_empty(client):
    assert "No series yet" in client.get("/series/").content.decode()


def test_series_pages_run_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    for day in range(1, 9):
        run = factories.bulk_results(
            factories.run(f"n-{day}", series="nightly"), 500, lambda i: "F" if i % 9 else "P"
        )
        assert run.total == 500
    with django_assert_max_num_queries(9):
        assert client.get("/series/nightly/").status_code == 200
    with django_assert_max_num_queries(3):
        assert client.get("/series/").status_code == 200


def test_dashboard_shows_a_trend_per_recent_series(client):
    nightly()
    html = client.get("/").content.decode()
    section = html.split("<h2>Trends")[1].split("</section>")[0]
    assert '<a href="/series/nightly/">nightly</a>' in section
    assert "<title>Pass rate of the last 4 runs</title>" in section
    assert section.count('<circle class="point"') == 4


def test_navigation_links_the_series(client):
    nav = client.get("/").content.decode().split("<nav>")[1].split("</nav>")[0]
    assert 'href="/series/">Series' in nav
