import pytest
from django.utils import timezone

from results.models import TestResult, TestRun
from results.selectors.history import history_runs, result_history
from results.services.flaky import refresh_flaky
from results.services.runs import refresh_counts
from tests import factories

# The history is SQL (a correlated lookup per run): every test runs on PostgreSQL too.
pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


def days(statuses: str, name: str = "a.test_x", **kwargs) -> list[TestRun]:
    """One daily run per letter; "-" is a run where the test has no result."""
    runs = []
    for i, status in enumerate(statuses, start=1):
        run = factories.run(f"daily_2026-11-{i:02d}")
        factories.result(run, "a.other", "P")
        if status != "-":
            factories.result(run, name, status, **kwargs)
        refresh_counts(run)
        runs.append(run)
    return runs


def result_in(run: TestRun, name: str = "a.test_x", host: str = "h1") -> TestResult:
    return TestResult.objects.select_related("run").get(run=run, test_name=name, host=host)


def cells(history) -> list[tuple[str, str | None, bool]]:
    return [(c.run.name[-2:], c.status, c.current) for c in history.cells]


def test_history_has_the_status_in_each_run_or_not_run():
    runs = days("PF-P")
    factories.result(runs[2], "a.test_x", "F", host="other-host")  # another identity
    history = result_history(result_in(runs[3]))
    assert history.prefix == "daily"
    assert cells(history) == [("01", "P", False), ("02", "F", False), ("03", None, False),
                              ("04", "P", True)]  # fmt: skip
    assert history.cells[2].result_id is None and history.cells[2].label == "not run"
    assert history.cells[1].result_id == result_in(runs[1]).pk
    assert history.cells[1].label == "fail"


def test_the_window_is_the_last_n_runs_or_the_n_ending_at_an_older_result():
    runs = days("PFPFPF")
    assert [c[0] for c in cells(result_history(result_in(runs[5]), 3))] == ["04", "05", "06"]
    # A result in the window keeps the same window, highlighted where it is.
    assert cells(result_history(result_in(runs[3]), 3))[0] == ("04", "F", True)
    # An older one gets the n runs that end with it.
    assert [c[0] for c in cells(result_history(result_in(runs[1]), 3))] == ["01", "02"]
    assert cells(result_history(result_in(runs[2]), 3))[-1] == ("03", "P", True)


def test_deleted_runs_are_left_out():
    runs = days("PFP")
    TestRun.objects.filter(pk=runs[1].pk).update(deleted_at=timezone.now())
    assert cells(result_history(result_in(runs[2]))) == [("01", "P", False), ("03", "P", True)]


def test_a_run_without_a_prefix_has_only_itself():
    run = factories.run("pr-1234")
    result = factories.result(run, "a.test_x", "F")
    history = result_history(result)
    assert not history.recurring
    assert [(c.run, c.status, c.current) for c in history.cells] == [(run, "F", True)]


def test_n_is_bounded(settings):
    settings.ASSAY_HISTORY_RUNS = 7
    assert [history_runs(v) for v in (None, "", "abc", "0", "-3", "30", "1000")] == [
        7, 7, 7, 1, 1, 30, 100,
    ]  # fmt: skip


def test_history_is_one_query_for_the_newest_runs(django_assert_num_queries):
    runs = days("PFPFPFPFPFPF")
    newest, oldest = result_in(runs[-1]), result_in(runs[0])
    with django_assert_num_queries(1):
        assert len(result_history(newest, 10).cells) == 10
    with django_assert_num_queries(2):  # not among the newest 10: the 10 ending with it
        assert len(result_history(oldest, 10).cells) == 1


# --- the test page ------------------------------------------------------------------------------


def test_test_page_shows_a_strip_linking_results_and_runs(client):
    runs = days("PF-P")
    current = result_in(runs[3])
    html = client.get(f"/results/{current.pk}/").content.decode()
    assert "last 4 runs of daily" in html
    assert f'<li class="current"><a class="cell st-P" href="/results/{current.pk}/"' in html
    assert f'<a class="cell st-F" href="/results/{result_in(runs[1]).pk}/"' in html
    # No result in that run: the cell links to the run page.
    not_run = '<a class="cell st-none" href="/runs/daily_2026-11-03/" title="daily_2026-11-03: not'
    assert not_run + ' run">' in html
    strip = html.split('<ol class="strip">')[1].split("</ol>")[0]
    assert strip.index("11-01") < strip.index("11-02") < strip.index("11-04")  # oldest first
    assert 'class="log"' not in html and "No log." in html  # the rest of the page is kept
    assert "flaky" not in html.split("<main>")[1].split("History")[0]


def test_test_page_keeps_n_in_the_strip_links(client):
    runs = days("PFPFP")
    page = client.get(f"/results/{result_in(runs[4]).pk}/?n=2").content.decode()
    assert "last 2 runs of daily" in page
    assert f'href="/results/{result_in(runs[3]).pk}/?n=2"' in page
    assert client.get(f"/results/{result_in(runs[4]).pk}/?n=zzz").status_code == 200


def test_test_page_marks_a_flaky_test(client):
    runs = days("PFPF")
    refresh_flaky("daily", k=3)
    html = client.get(f"/results/{result_in(runs[3]).pk}/").content.decode()
    assert '<span class="tag flaky">flaky</span>' in html
    assert "flipped 3 times in the 4 runs of daily" in html
    other = client.get(f"/results/{result_in(runs[3], 'a.other').pk}/").content.decode()
    assert '<span class="tag flaky">' not in other


def test_test_page_of_a_run_without_prefix_says_so(client):
    result = factories.result(factories.run("pr-1234"), "a.test_x", "F")
    html = client.get(f"/results/{result.pk}/").content.decode()
    assert "pr-1234 is not a recurring run" in html
    assert f'<li class="current"><a class="cell st-F" href="/results/{result.pk}/"' in html


def test_test_page_runs_a_bounded_number_of_queries_over_big_runs(
    client, django_assert_max_num_queries
):
    runs = []
    for day in range(1, 31):
        run = factories.bulk_results(
            factories.run(f"daily_2026-11-{day:02d}"),
            2000,
            lambda i, day=day: "F" if (i + day) % 7 == 0 else "P",
            name_of=lambda i: f"pkg.m{i // 100}.test_{i:04d}",
            proj="proj",
            host="h1",
        )
        runs.append(run)
    refresh_flaky("daily", k=3)
    result = TestResult.objects.get(run=runs[-1], test_name="pkg.m0.test_0006")
    for url in [f"/results/{result.pk}/", f"/results/{result.pk}/?n=100"]:
        with django_assert_max_num_queries(4):
            html = client.get(url).content.decode()
        assert html.count('class="cell st-') == (10 if url.endswith("/") else 30)


# --- the API ------------------------------------------------------------------------------------


def test_history_api(api_client):
    runs = days("PF-P")
    refresh_flaky("daily", k=2)
    result = result_in(runs[3])
    answer = api_client.get(f"/api/v1/results/{result.pk}/history/?n=3").json()
    assert answer["prefix"] == "daily"
    assert [(r["run"], r["status"], r["current"]) for r in answer["runs"]] == [
        ("daily_2026-11-02", "F", False),
        ("daily_2026-11-03", None, False),
        ("daily_2026-11-04", "P", True),
    ]
    assert answer["runs"][0]["result"] == result_in(runs[1]).pk
    assert answer["runs"][0]["run_date"] == "2026-11-02"
    assert answer["flaky"]["flips"] == 2 and answer["flaky"]["runs"] == 3
    default = api_client.get(f"/api/v1/results/{result.pk}/history/").json()
    assert len(default["runs"]) == 4


def test_history_api_refuses_a_bad_n(api_client):
    result = factories.result(factories.run("pr-1"), "a.test_x", "P")
    for bad in ("0", "101", "x"):
        resp = api_client.get(f"/api/v1/results/{result.pk}/history/?n={bad}")
        assert resp.status_code == 400
        assert resp.json()["error"] == "invalid" and "1 to 100" in resp.json()["detail"]
    answer = api_client.get(f"/api/v1/results/{result.pk}/history/").json()
    assert answer["prefix"] == "" and answer["flaky"] is None and len(answer["runs"]) == 1
    assert api_client.get("/api/v1/results/999999/history/").status_code == 404
