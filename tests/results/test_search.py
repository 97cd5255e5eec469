import re

import pytest
from django.utils import timezone

from core.pagination import CappedPaginator
from results.models import TestResult, TestRun
from results.selectors import history
from results.selectors.history import Pattern, search_results
from results.services.runs import refresh_counts
from tests import factories

# Name ranges, LIKE and GLOB are the database's: every test runs on PostgreSQL too.
pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]

NAMES = [
    "storage.wal.test_fsync",
    "storage.wal.test_replay",
    "storage.btree.test_split_fsync",
    "Storage.upper.test_case",
    "query.test_fsync_plan",
    "query.a_b.test_literal",
    "query.axb.test_not_literal",
    "query.100%.test_percent",
]


@pytest.fixture
def runs() -> list[TestRun]:
    made = []
    for name, status in [("daily_2026-11-01", "P"), ("pr-7", "F"), ("daily_2026-11-02", "E")]:
        run = factories.run(name)
        for test in NAMES:
            factories.result(run, test, status)
        refresh_counts(run)
        made.append(run)
    return made


def found(text: str, **filters) -> list[tuple[str, str]]:
    return [(r.run.name, r.test_name) for r in search_results(text, **filters).results]


def names(text: str, **filters) -> list[str]:
    return sorted({name for _, name in found(text, **filters)})


def test_plain_text_finds_names_starting_with_it_case_sensitively(runs):
    assert names("storage.wal") == ["storage.wal.test_fsync", "storage.wal.test_replay"]
    assert names("storage.") == sorted(n for n in NAMES if n.startswith("storage."))
    assert names("Storage") == ["Storage.upper.test_case"]
    assert names("fsync") == []  # not a prefix


def test_star_stands_for_any_characters(runs):
    assert names("*fsync") == [
        "query.test_fsync_plan", "storage.btree.test_split_fsync", "storage.wal.test_fsync",
    ]  # fmt: skip
    assert names("*fsync*") == names("*fsync")
    assert names("storage.*fsync") == ["storage.btree.test_split_fsync", "storage.wal.test_fsync"]
    assert names("*FSYNC") == []  # case-sensitive on every database
    assert names("query.*_plan") == ["query.test_fsync_plan"]


def test_like_and_glob_characters_are_literal(runs):
    assert names("query.a_b") == ["query.a_b.test_literal"]
    assert names("*a_b*") == ["query.a_b.test_literal"]
    assert names("*100%*") == ["query.100%.test_percent"]
    assert names("*[a]*") == [] and names("*?*") == []


def test_newest_runs_first_then_by_name(runs):
    rows = found("storage.wal")
    assert rows == [
        ("daily_2026-11-02", "storage.wal.test_fsync"),
        ("daily_2026-11-02", "storage.wal.test_replay"),
        ("pr-7", "storage.wal.test_fsync"),
        ("pr-7", "storage.wal.test_replay"),
        ("daily_2026-11-01", "storage.wal.test_fsync"),
        ("daily_2026-11-01", "storage.wal.test_replay"),
    ]


def test_filters_by_run_prefix_and_status(runs):
    assert {r for r, _ in found("storage", run=runs[1])} == {"pr-7"}
    assert {r for r, _ in found("storage", prefix="daily")} == {
        "daily_2026-11-01",
        "daily_2026-11-02",
    }
    assert {r for r, _ in found("storage", status="FE")} == {"pr-7", "daily_2026-11-02"}
    TestRun.objects.filter(pk=runs[2].pk).update(deleted_at=timezone.now())
    assert "daily_2026-11-02" not in {r for r, _ in found("storage")}


def test_a_star_search_looks_at_the_newest_runs_only(runs, monkeypatch):
    monkeypatch.setattr(history, "SUBSTRING_RUNS", 2)
    search = search_results("*fsync")
    assert search.runs_limited == 2
    assert {r.run.name for r in search.results} == {"daily_2026-11-02", "pr-7"}
    named = search_results("*fsync", run=runs[0])  # a run named: no limit
    assert named.runs_limited is None and {r.run.name for r in named.results} == {
        "daily_2026-11-01"
    }
    assert search_results("storage.wal").runs_limited is None
    monkeypatch.setattr(history, "SUBSTRING_RUNS", 3)  # all runs looked at: nothing to say
    assert search_results("*fsync").runs_limited is None


def test_pattern_parts():
    assert Pattern("a.b").head == "a.b" and not Pattern("a.b").is_wildcard
    assert not Pattern("a.b*").is_wildcard  # a trailing * is what plain text means
    assert Pattern("a*b").head == "a" and Pattern("a*b").is_wildcard
    assert Pattern("*b").head == ""
    assert Pattern("*100%*").like() == "%100\\%%" and Pattern("a_b").like() == "a\\_b%"
    assert Pattern("*[x]?").glob() == "*[[]x][?]*"


# --- the page ---------------------------------------------------------------------------------


def test_search_page_lists_results_with_links(client, runs):
    html = client.get("/search/?q=storage.wal").content.decode()
    result = TestResult.objects.get(run=runs[2], test_name="storage.wal.test_fsync")
    assert f'<a href="/results/{result.pk}/">storage.wal.test_fsync</a>' in html
    assert "6 results, newest runs first." in html
    assert html.index("daily_2026-11-02") < html.index("pr-7") < html.index("daily_2026-11-01")
    assert 'value="storage.wal"' in html  # the box in the header keeps the text


def test_search_page_filters_and_notes(client, runs, monkeypatch):
    monkeypatch.setattr(history, "SUBSTRING_RUNS", 1)
    html = client.get("/search/?q=*fsync&prefix=daily").content.decode()
    assert "Looked at the 1 newest runs of daily only" in html
    assert "daily_2026-11-02" in html and "daily_2026-11-01</a>" not in html
    latest = client.get("/search/?q=storage&run=daily_latest&status=E").content.decode()
    assert "3 results, newest runs first." in latest and "pr-7" not in latest
    assert client.get("/search/?q=x&run=no-such-run").status_code == 404
    empty = client.get("/search/?q=nothing.here").content.decode()
    assert "No test name matches <code>nothing.here</code>" in empty
    assert "results, newest" not in client.get("/search/").content.decode()


def test_search_page_is_paginated(client, runs, monkeypatch):
    from results.views import history as views

    monkeypatch.setattr(views, "SEARCH_PER_PAGE", 4)
    first = client.get("/search/?q=storage").content.decode()
    assert "page 1 of 3" in first
    third = client.get("/search/?q=storage&page=3").content.decode()
    assert third.count("<tr>") == 1 + 1  # the header and one row (9 results)


def test_counts_stop_at_a_cap(client, runs, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "cap", 5)
    html = client.get("/search/?q=storage").content.decode()
    assert "More than 5 results" in html


def test_search_page_runs_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    for day in range(1, 6):
        factories.bulk_results(
            factories.run(f"daily_2026-11-{day:02d}"),
            3000,
            lambda i: "F" if i % 13 == 0 else "P",
            name_of=lambda i: f"pkg.m{i // 100}.test_{i:04d}",
        )
    for url in [
        "/search/?q=pkg.m1",
        "/search/?q=pkg.m1&page=7",
        "/search/?q=pkg&status=F&prefix=daily",
        "/search/?q=*test_00*",
        "/search/?q=pkg.m2&run=daily_latest",
    ]:
        with django_assert_max_num_queries(5):
            resp = client.get(url)
        assert resp.status_code == 200
        assert len(re.findall(r'<td class="name">', resp.content.decode())) <= 100
