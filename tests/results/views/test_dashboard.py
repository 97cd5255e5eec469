import pytest
from django.core.cache import cache

from results.models import FlakyTest, TestResult
from results.services.flaky import refresh_flaky
from results.services.runs import refresh_counts
from tests import factories

# compare_counts and the flakiness SQL underneath: every test runs on PostgreSQL too.
pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


day = factories.day


def test_dashboard_shows_the_latest_run_with_bar_regressions_and_flakiest(client, nights):
    html = client.get("/").content.decode()
    assert '<a class="run" href="/runs/daily_2026-11-04/">daily_2026-11-04</a>' in html
    # 5 results: P 2, F 2, M 1
    assert 'class="seg st-P" style="width: 40.000%"' in html
    assert 'class="seg st-F" style="width: 40.000%"' in html
    assert 'class="seg st-M" style="width: 20.000%"' in html
    # a.breaks and a.flaky P -> F; a.gone (M) is new, not a regression: it was not there before
    assert "<b>2</b> regressions</a>, 1 fix, 1 new, 0 vanished" in html
    assert 'href="/runs/daily_2026-11-04/compare/daily_2026-11-03/"' in html
    flaky = TestResult.objects.get(run=nights, test_name="a.flaky")
    assert f'<a href="/results/{flaky.pk}/">a.flaky</a>' in html
    assert html.count('<td class="name">') == 1  # only a.flaky flipped 3 times


def test_the_comparison_is_counted_once_per_write(client, nights, django_assert_max_num_queries):
    cache.clear()
    client.get("/")
    # latest, previous, flakiest, other runs, the active mutes (part of the cache key),
    # the series' trends
    with django_assert_max_num_queries(6):
        assert "<b>2</b> regressions" in client.get("/").content.decode()
    TestResult.objects.filter(run=nights, test_name="a.ok").update(status="F")
    refresh_counts(nights)  # every write ends here, and moves the run's version
    assert "<b>3</b> regressions" in client.get("/").content.decode()


def test_flakiest_are_the_top_ten_by_flips(client):
    names = {f"t.{i:02d}": "PFPFPF"[: 4 + i % 3] for i in range(14)}
    for d in range(6):
        day(f"daily_2026-11-0{d + 1}", {n: s[d] for n, s in names.items() if d < len(s)})
    refresh_flaky("daily", k=3)
    assert FlakyTest.objects.count() == 14
    html = client.get("/").content.decode()
    section = html.split("Flakiest tests")[1].split("</table>")[0]
    assert section.count('<td class="name">') == 10
    assert section.index("t.02") < section.index("t.01") < section.index("t.00")  # 5, 4, 3 flips


def test_dashboard_lists_recent_other_runs_and_prefixes_without_runs(client, settings):
    settings.ASSAY_RECURRING_PREFIXES = ["daily", "nightly"]
    day("daily_2026-11-01", {"a.x": "P"})
    day("pr-1234", {"a.x": "F", "a.y": "P"})
    html = client.get("/").content.decode()
    assert "No nightly_YYYY-MM-DD run yet." in html
    assert "No earlier daily run to compare with." in html
    others = html.split("Other recent runs")[1]
    assert '<a href="/runs/pr-1234/">pr-1234</a>' in others
    assert 'class="seg st-F" style="width: 50.000%"' in others
    assert "daily_2026-11-01" not in others


def test_navigation_has_dashboard_runs_flaky_and_a_search_box(client):
    html = client.get("/").content.decode()
    nav = html.split("<nav>")[1].split("</header>")[0]
    for link in ['href="/">Dashboard', 'href="/runs/">Runs', 'href="/flaky/">Flaky']:
        assert link in nav
    assert '<form class="search" action="/search/" method="get"' in nav


def test_dashboard_runs_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    cache.clear()
    for d in range(1, 5):
        factories.bulk_results(
            factories.run(f"daily_2026-11-{d:02d}"),
            5000,
            lambda i, d=d: (
                "PF"[(i + d) % 2] if i % 50 == 0 else ("F" if d == 4 and i % 7 == 0 else "P")
            ),
            name_of=lambda i: f"pkg.m{i // 100}.test_{i:04d}",
        )
    for i in range(12):
        day(f"pr-{i}", {"a.x": "P"})
    assert refresh_flaky("daily", k=3).flaky == 100
    # latest, previous, three counts, flakiest, other runs, the active mutes, the trends
    with django_assert_max_num_queries(9):
        html = client.get("/").content.decode()
    assert html.count('<td class="name">') == 10
    assert "regressions</a>" in html
