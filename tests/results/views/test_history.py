"""The pages of results.views.history: a test's page, the flaky tests, the search."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from results.models import FlakyTest, TestResult, Triage
from results.services.flaky import refresh_flaky
from tests import factories
from tests.results.factories import flaky_days, history_days, result_in, series_run

# The history, flakiness and search SQL is the database's: those tests run on PostgreSQL too.
pytestmark = pytest.mark.django_db


# --- a test's page ---------------------------------------------------------------------------


def test_result_page_shows_the_log_escaped(client, day):
    result = TestResult.objects.get(test_name="pkg.a.test_2")
    html = client.get(f"/results/{result.pk}/").content.decode()
    assert "Traceback: &lt;b&gt;boom&lt;/b&gt;" in html
    assert 'href="/runs/daily_2026-11-01/"' in html


@pytest.mark.db_dependent
def test_test_page_shows_a_strip_linking_results_and_runs(client):
    runs = history_days("PF-P")
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


@pytest.mark.db_dependent
def test_test_page_keeps_n_in_the_strip_links(client):
    runs = history_days("PFPFP")
    page = client.get(f"/results/{result_in(runs[4]).pk}/?n=2").content.decode()
    assert "last 2 runs of daily" in page
    assert f'href="/results/{result_in(runs[3]).pk}/?n=2"' in page
    assert client.get(f"/results/{result_in(runs[4]).pk}/?n=zzz").status_code == 200


@pytest.mark.db_dependent
def test_test_page_marks_a_flaky_test(client):
    runs = history_days("PFPF")
    refresh_flaky("daily", k=3)
    html = client.get(f"/results/{result_in(runs[3]).pk}/").content.decode()
    assert '<span class="tag flaky">flaky</span>' in html
    assert "flipped 3 times in the 4 runs of daily" in html
    other = client.get(f"/results/{result_in(runs[3], 'a.other').pk}/").content.decode()
    assert '<span class="tag flaky">' not in other


@pytest.mark.db_dependent
def test_test_page_of_a_run_without_series_says_so(client):
    result = factories.result(factories.run("pr-1234"), "a.test_x", "F")
    html = client.get(f"/results/{result.pk}/").content.decode()
    assert "pr-1234 belongs to no series" in html
    assert f'<li class="current"><a class="cell st-F" href="/results/{result.pk}/"' in html


@pytest.mark.db_dependent
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
        with django_assert_max_num_queries(5):  # + its triages
            html = client.get(url).content.decode()
        assert html.count('class="cell st-') == (10 if url.endswith("/") else 30)


# --- the flaky tests -----------------------------------------------------------------------


@pytest.mark.db_dependent
def test_flaky_page_lists_tests_by_flips_with_filters(client):
    flaky_days({"t.most": "PFPFP", "t.three": "PFPFF", "t.steady": "PPPPP"})
    flaky_days({"t.other_project": "PFPFP"}, host="h9")
    TestResult.objects.filter(test_name="t.other_project").update(
        project=factories.project("other")
    )
    refresh_flaky("daily", k=3)
    html = client.get("/flaky/").content.decode()
    assert html.index("t.most") < html.index("t.three") and "t.steady" not in html
    latest = TestResult.objects.get(test_name="t.most", run__name="daily_2026-11-05")
    assert f'href="/results/{latest.pk}/">t.most</a>' in html
    only_other = client.get("/flaky/?prefix=daily&project=other").content.decode()
    assert "t.other_project" in only_other and "t.most" not in only_other
    assert "No flaky tests" in client.get("/flaky/?project=nobody").content.decode()


@pytest.mark.db_dependent
def test_flaky_page_runs_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    series = {f"t.flaky_{i:03d}": "PFPF" if i % 2 else "FPFP" for i in range(300)}
    flaky_days(series)
    refresh_flaky("daily", k=3)
    assert FlakyTest.objects.count() == 300
    with django_assert_max_num_queries(4):
        resp = client.get("/flaky/?page=2")
    assert resp.status_code == 200 and "page 2 of 3" in resp.content.decode()


# --- the search --------------------------------------------------------------------------------


@pytest.mark.db_dependent
def test_search_page_finds_a_substring_in_any_case_one_row_per_test(client):
    for i in range(3):
        series_run(
            "nightly",
            f"n-{i}",
            i + 1,
            {"tests.Storage.test_update_one_row_fast": ("PFP", [1] * 3)},
            i,
        )
    series_run("main", "m-1", 5, {"tests.Storage.test_update_one_row_fast": ("F", [1])}, 0)
    html = client.get("/search/?q=update_one_row").content.decode()
    assert "1 test, by name." in html
    rows = html.split("<tbody>")[1].split("</tbody>")[0]
    assert rows.count("<tr>") == 1  # grouped: four runs, one test
    newest = TestResult.objects.get(run__name="m-1")
    assert f'<a href="/results/{newest.pk}/">tests.Storage.test_update_one_row_fast</a>' in rows
    nightly = TestResult.objects.get(run__name="n-2")
    link = f'<a href="/results/{nightly.pk}/" title="n-2: P">'
    assert link + '<span class="st st-P" title="pass">P</span> nightly</a>' in rows
    assert '<span class="st st-F" title="fail">F</span> main</a>' in rows
    assert 'value="update_one_row"' in html  # the box keeps the text
    assert "1 test" in client.get("/search/?q=UPDATE_ONE").content.decode()


@pytest.mark.db_dependent
def test_search_page_keeps_old_links_working_and_says_when_nothing_matches(client, search_runs):
    old = client.get("/search/?q=storage.wal&run=daily_latest&prefix=daily&status=E")
    assert old.status_code == 200 and "2 tests, by name." in old.content.decode()
    empty = client.get("/search/?q=nothing.here").content.decode()
    assert "No test name contains <code>nothing.here</code>" in empty
    assert "by name." not in client.get("/search/").content.decode()
    other = client.get("/search/?q=storage&project=nope").content.decode()
    assert "in project nope" in other


@pytest.mark.db_dependent
def test_search_page_is_paginated(client, search_runs, monkeypatch):
    from results.views import history as views

    monkeypatch.setattr(views, "SEARCH_PER_PAGE", 2)
    first = client.get("/search/?q=storage").content.decode()
    assert "page 1 of 2" in first and "4 tests, by name." in first
    second = client.get("/search/?q=storage&page=2").content.decode()
    assert second.split("<tbody>")[1].count("<tr>") == 2


@pytest.mark.db_dependent
def test_search_page_runs_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    for day in range(1, 6):
        factories.bulk_results(
            factories.run(f"n-{day}", series="nightly"),
            3000,
            lambda i: "F" if i % 13 == 0 else "P",
            name_of=lambda i: f"pkg.m{i // 100}.test_{i:04d}",
        )
    for url in ["/search/?q=pkg.m1", "/search/?q=PKG.M1&page=7", "/search/?q=test_00"]:
        with django_assert_max_num_queries(6):  # + the runs the search's job has not done
            resp = client.get(url)
        assert resp.status_code == 200
        assert len(re.findall(r'<td class="name">', resp.content.decode())) <= 50


def _mute(test_name: str, proj: str = "proj", **fields) -> Triage:
    return Triage.objects.create(
        project=factories.project(proj), test_name=test_name, muted=True, created_by="t",
        updated_by="t", **fields,
    )  # fmt: skip


def _mute_all(names, proj: str = "proj") -> None:
    project = factories.project(proj)
    Triage.objects.bulk_create(
        Triage(project=project, test_name=name, muted=True, created_by="t", updated_by="t")
        for name in names
    )


@pytest.mark.db_dependent
def test_flaky_page_says_how_many_muted_tests_it_hides_and_shows_them_marked(client):
    flaky_days({"t.flip": "PFPFP", "t.flop": "FPFPF", "t.flap": "PFPFF"})
    refresh_flaky("daily", k=2)
    assert "muted test" not in client.get("/flaky/").content.decode()
    mute = _mute("t.flip")
    page = client.get("/flaky/?series=daily").content.decode()
    assert "t.flip" not in page and "t.flop" in page
    assert "1 muted test hidden" in page
    assert 'href="?series=daily&amp;muted=1">Show them</a>' in page
    shown = client.get("/flaky/?series=daily&muted=1").content.decode()
    rows = shown.split("<tbody>")[1].split("</tbody>")[0]
    assert rows.count("<tr>") == 3 and rows.count("tag mute") == 1
    flip = rows[rows.index("t.flip") :].split("</tr>")[0]
    latest = TestResult.objects.get(test_name="t.flip", run__name="daily_2026-11-05")
    assert f'href="/results/{latest.pk}/#triage"' in flip and ">muted</a>" in flip
    assert 'href="?series=daily&amp;">Hide them</a>' in shown
    assert 'name="muted" value="1"' in shown  # the filter form keeps them shown
    mute.delete()
    assert "muted test" not in client.get("/flaky/").content.decode()


@pytest.mark.db_dependent
def test_flaky_page_hiding_muted_tests_keeps_its_query_count(client, django_assert_max_num_queries):
    flaky_days({f"t.flaky_{i:03d}": "PFPF" if i % 2 else "FPFP" for i in range(300)})
    refresh_flaky("daily", k=3)
    _mute_all(f"t.flaky_{i:03d}" for i in range(0, 300, 3))
    for url, pages in [("/flaky/?page=2", "page 2 of 2"), ("/flaky/?muted=1&page=3", "of 3")]:
        with django_assert_max_num_queries(4):
            resp = client.get(url)
        assert pages in resp.content.decode()
    assert "100 muted tests hidden" in client.get("/flaky/").content.decode()


# --- the search: muted tests ---------------------------------------------------------------


@pytest.mark.db_dependent
def test_search_page_marks_a_muted_test_with_its_expiry_and_its_triage(client, search_runs):
    until = timezone.now() + timedelta(days=3)
    fsync = _mute("storage.wal.test_fsync", muted_until=until)
    replay = _mute("storage.wal.test_replay")  # until unmuted
    _mute("storage.btree.test_split_fsync", host="h9")  # another host than the results'
    _mute("query.test_fsync_plan", muted_until=timezone.now() - timedelta(hours=1))  # expired
    html = client.get("/search/?q=fsync").content.decode()
    rows = {
        re.search(r'<td class="name">.*?>([\w.]+)</a>', row).group(1): row
        for row in html.split("<tbody>")[1].split("</tbody>")[0].split("</tr>")[:-1]
    }
    assert len(rows) == 3 and "storage.wal.test_replay" not in rows
    assert f'<a class="tag mute" href="/triage/{fsync.pk}/"' in rows["storage.wal.test_fsync"]
    assert f"muted until {until:%Y-%m-%d %H:%M} UTC</a>" in rows["storage.wal.test_fsync"]
    assert "tag mute" not in rows["storage.btree.test_split_fsync"]
    assert "tag mute" not in rows["query.test_fsync_plan"]
    wal = client.get("/search/?q=storage.wal").content.decode()
    assert f'href="/triage/{replay.pk}/"' in wal and wal.count("tag mute") == 2
    assert ">muted</a>" in wal  # no expiry said for a mute until unmuted


@pytest.mark.db_dependent
def test_search_page_reads_the_mutes_of_its_tests_in_one_query(
    client, django_assert_max_num_queries
):
    run = factories.run("n-1", series="nightly")
    factories.bulk_results(run, 120, lambda i: "F", name_of=lambda i: f"pkg.test_{i:03d}")
    _mute_all((f"pkg.test_{i:03d}" for i in range(0, 120, 2)), proj="p")
    with CaptureQueriesContext(connection) as ctx, django_assert_max_num_queries(6):
        resp = client.get("/search/?q=pkg.test_&page=2")
    html = resp.content.decode()
    assert resp.status_code == 200 and html.count('class="tag mute"') == 25  # 50 a page
    triage_table = Triage._meta.db_table
    assert sum(triage_table in q["sql"] for q in ctx.captured_queries) == 1
