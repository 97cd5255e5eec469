import re

import pytest
from django.urls import reverse

from results.models import TestResult
from results.services.runs import refresh_counts
from tests import factories
from tests.results.factories import BEFORE, COMPARE, NOW

pytestmark = pytest.mark.django_db


def test_run_list_shows_counts_per_status(client, day):
    html = client.get(reverse("results:run-list")).content.decode()
    assert "daily_2026-11-01" in html
    assert 'href="/runs/daily_2026-11-01/?status=F">1</a>' in html
    assert 'href="/runs/daily_2026-11-01/?status=M">1</a>' in html


def test_run_page_is_a_tree_with_counts_per_status(client, day):
    html = client.get("/runs/daily_2026-11-01/").content.decode()
    # The root level: the group "pkg" (3 results) and the leaf test "top".
    assert 'href="?prefix=pkg." title="pkg.">pkg</a>' in html
    top = TestResult.objects.get(test_name="top")
    assert f'href="/results/{top.pk}/" title="top">top</a>' in html  # a leaf: its result
    assert "pkg.a.test_1" not in html  # nothing below the level is listed
    row = _row(html, "pkg")
    assert _cells(row) == ["1", "1", "1", "", "", "3"]  # P F E D M, total
    assert 'class="seg st-P" style="width:33.333%"' in row  # the stacked bar


def test_status_filter_lists_results_below_the_tree(client, day):
    failed = client.get("/runs/daily_2026-11-01/?status=F").content.decode()
    assert "1 result with status F" in failed
    assert 'title="pkg.a.test_2">test_2</a>' in failed and "pkg.a.test_1" not in failed
    assert 'href="?prefix=pkg.a.&amp;status=F">pkg.a</a>' in failed  # its group's level
    both = client.get("/runs/daily_2026-11-01/?status=FE").content.decode()
    assert "pkg.a.test_2" in both and "pkg.b.test_3" in both and "test_1<" not in both
    narrowed = client.get("/runs/daily_2026-11-01/?prefix=pkg.b.&status=PFE").content.decode()
    assert "1 result with status PFE under" in narrowed
    assert "pkg.b.test_3" in narrowed and "pkg.a.test_2" not in narrowed
    # A name cut inside a segment is a starts-with filter: the level above, narrowed.
    partial = client.get("/runs/daily_2026-11-01/?prefix=pkg.a.test_").content.decode()
    assert "2 results under" in partial and "names starting with" in partial


def test_going_down_the_tree_with_breadcrumbs(client, day):
    html = client.get("/runs/daily_2026-11-01/?prefix=pkg.a.&status=F").content.decode()
    crumbs = html[html.index('<p class="crumbs">') :].split("</p>")[0]
    assert 'href="?status=F">daily_2026-11-01</a>' in crumbs
    assert 'href="?prefix=pkg.&amp;status=F">pkg</a>' in crumbs
    assert 'href="?prefix=pkg.a.&amp;status=F">a</a>' in crumbs
    assert ">test_1</a>" in html and ">test_2</a>" in html and "test_3" not in html
    # "/" separates levels too (Pandokia)
    run = factories.run("paths")
    factories.result(run, "dir/file.py/test_x", "P")
    refresh_counts(run)
    html = client.get("/runs/paths/?prefix=dir/").content.decode()
    assert 'href="?prefix=dir/file." title="dir/file.">file</a>' in html  # "." too
    assert 'href="?prefix=dir/">dir</a>' in html


def test_deltas_against_the_previous_run_and_prev_next_links(client, day):
    later = factories.run("daily_2026-11-02")
    factories.result(later, "pkg.a.test_1", "F")
    factories.result(later, "pkg.a.test_2", "F")
    factories.result(later, "pkg.new.test_4", "P")
    refresh_counts(later)
    html = client.get("/runs/daily_2026-11-02/?prefix=pkg.&status=F").content.decode()
    assert 'rel="prev" href="/runs/daily_2026-11-01/?prefix=pkg.&amp;status=F"' in html
    assert 'rel="next"' not in html
    assert "changes against" in html and 'href="/runs/daily_2026-11-01/">' in html
    a = _row(html, "a")
    assert _cells(a) == ["\u22121", "2 +1", "", "", "", "2"]  # P −1, F 2 (+1)
    assert 'class="delta worse">+1<' in a and 'class="delta worse">\u22121<' in a
    b = _row(html, "b")  # only in the comparison run: shown, greyed, counts gone
    assert "not in this run" in b and "\u22121" in b
    assert "+1" in _row(html, "new")
    # The earlier day links forward; ?compare= picks another run, empty for none.
    earlier = client.get("/runs/daily_2026-11-01/").content.decode()
    assert 'rel="next" href="/runs/daily_2026-11-02/"' in earlier
    assert "no comparison run" in earlier  # nothing before the first day
    none = client.get("/runs/daily_2026-11-02/?compare=").content.decode()
    assert "no comparison run" in none and "delta" not in _row(none, "pkg")
    chosen = client.get("/runs/daily_2026-11-01/?compare=daily_latest").content.decode()
    assert "changes against" in chosen and "+1" in _row(chosen, "pkg")
    unknown = client.get("/runs/daily_2026-11-01/?compare=nope").content.decode()
    assert "There is no run named nope." in unknown


def test_a_leaf_with_several_results_links_to_their_list(client, day):
    factories.result(day, "top", "P", host="h2")
    refresh_counts(day)
    html = client.get("/runs/daily_2026-11-01/").content.decode()
    assert 'href="/runs/daily_2026-11-01/?prefix=top" title="top">top</a>' in html
    listed = client.get("/runs/daily_2026-11-01/?prefix=top").content.decode()
    assert "2 results under" in listed and ">h2<" in listed and ">h1<" in listed


def _row(html: str, name: str) -> str:
    """The tree row whose name cell shows `name`."""
    at = html.index(f">{name}</a>")
    return html[html.rindex("<tr", 0, at) : html.index("</tr>", at)]


def _cells(row: str) -> list[str]:
    """The text of the number cells of a tree row (deltas included)."""
    cells = re.findall(r'<td class="num">(.*?)</td>', row, flags=re.S)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]


def test_aliases_redirect_to_the_real_run(client, day):
    resp = client.get("/runs/daily_latest/?status=F")
    assert resp.status_code == 302
    assert resp["Location"] == "/runs/daily_2026-11-01/?status=F"
    assert client.get("/runs/no-such-run/").status_code == 404


@pytest.mark.db_dependent
def test_run_page_of_100000_results_runs_a_bounded_number_of_queries(
    client, django_assert_max_num_queries
):
    factories.bulk_results(
        factories.run("big"),
        100_000,
        lambda i: "F" if i % 97 == 0 else "P",
        message_of=lambda i: f"AssertionError: assert {i} == {i % 7}" if i % 97 == 0 else "",
    )
    urls = [
        "/runs/big/",  # the tree at the root
        "/runs/big/?prefix=pkg.",  # one level down: 100 groups
        "/runs/big/?prefix=pkg.m42.",  # two levels down: 1,000 leaves, 500 a page
        "/runs/big/?prefix=pkg.m42.&tpage=2",
        "/runs/big/?status=F&page=3",
        "/runs/big/?status=P&page=400",
        "/runs/big/?prefix=pkg.m4&status=F",
        "/runs/big/?compare=big",
        reverse("results:run-list"),
    ]
    for url in urls:
        # 8: the active mutes, and the failure clusters' two grouped queries (their tests,
        # cached with the run, and what earlier runs had of them), whatever the failures.
        with django_assert_max_num_queries(8):
            resp = client.get(url)
        assert resp.status_code == 200
    html = client.get("/runs/big/?status=P").content.decode()
    assert "page 1 of 495" in html  # 98,969 passes, counted by the tree, not again
    leaves = client.get("/runs/big/?prefix=pkg.m42.").content.decode()
    assert "names 1–500 of 1000" in leaves and leaves.count('href="/results/') == 500


def test_private_reads_need_a_login(client, admin_client, day, settings):
    settings.ASSAY_PUBLIC_READ = False
    result = TestResult.objects.get(test_name="pkg.a.test_2")
    for url in ["/", "/runs/daily_2026-11-01/", f"/results/{result.pk}/"]:
        resp = client.get(url)
        assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/")
        assert admin_client.get(url).status_code == 200


@pytest.mark.db_dependent
def test_run_page_offers_the_comparison(client, compared_days):
    html = client.get(f"/runs/{NOW}/").content.decode()
    assert f'formaction="/runs/{NOW}/compare/"' in html
    assert f'href="{COMPARE}">compare page</a>' in html
    assert f'<option value="{BEFORE}">' in html


@pytest.mark.db_dependent
def test_the_runs_list_moved_to_runs(client, nights):
    assert reverse("results:run-list") == "/runs/"
    assert reverse("results:dashboard") == "/"
    html = client.get("/runs/").content.decode()
    assert 'href="/runs/daily_2026-11-04/?status=F">2</a>' in html


def test_run_page_lists_its_imports(client):
    from results.importers import ParsedResult
    from results.services.imports import ImportDefaults, record_run

    first = [ParsedResult(test_name=n, status="P") for n in ("a.t1", "a.t2")]
    record_run(first, ImportDefaults(run="r"), source="a.xml, b.xml", who="ci-bot")
    again = [ParsedResult(test_name="a.t2", status="F"), ParsedResult(test_name="a.t3", status="P")]
    record_run(again, ImportDefaults(run="r"), source="c.xml", who="cli")
    html = client.get("/runs/r/").content.decode()
    imports = html[html.index('<h2 id="imports">Imports</h2>') :]
    rows = re.findall(
        r"<tr>\s*<td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td>(.*?)</tr>", imports, re.S
    )
    assert [(who, src, re.findall(r">(\d+)</td>", rest)) for who, src, rest in rows] == [
        ("cli", "c.xml", ["2", "1", "1"]),  # newest first: results, new, changed
        ("ci-bot", "a.xml, b.xml", ["2", "2", "0"]),
    ]
    assert 'title="1 re-imported, 0 missing replaced">1</td>' in imports


@pytest.mark.db_dependent
def test_run_list_filters_by_build_and_pages_keep_every_filter(client, monkeypatch):
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 11, 2, tzinfo=UTC)
    for i in range(3):
        factories.run(
            f"nightly-{i}", series="nightly", branch="main", commit=f"{i}abc{i}",
            attributes={"env": "prod", "os": "linux"}, started_at=start + timedelta(hours=i),
        )  # fmt: skip
    factories.run("nightly-dev", series="nightly", branch="dev", attributes={"env": "prod"})
    factories.run("other", series="weekly", attributes={"env": "prod", "os": "linux"})

    def names(query: str) -> list[str]:
        html = client.get(f"/runs/?{query}").content.decode()
        return re.findall(r'<td><a href="/runs/([^/]+)/">', html)

    # A series comes newest start first.
    assert names("series=nightly&branch=main") == ["nightly-2", "nightly-1", "nightly-0"]
    assert names("attr=env:prod&attr=os:linux&series=nightly") == [
        "nightly-2", "nightly-1", "nightly-0",
    ]  # fmt: skip
    assert names("commit=1abc") == ["nightly-1"]
    monkeypatch.setattr("results.views.runs.RUNS_PER_PAGE", 2)
    first = client.get("/runs/?series=nightly&attr=env:prod&attr=os:linux").content.decode()
    assert "attr=env%3Aprod&amp;attr=os%3Alinux&amp;page=2" in first  # both attributes kept
    assert names("series=nightly&attr=env:prod&attr=os:linux&page=2") == ["nightly-0"]
    bad = client.get("/runs/?attr=env")
    assert bad.status_code == 200 and "write KEY:VALUE" in bad.content.decode()


@pytest.mark.db_dependent
def test_a_run_page_shows_its_build(client):
    factories.run(
        "nightly-abc", series="nightly", branch="main", commit="abcdef0123456789",
        build_url="https://ci.example.com/b/1", attributes={"env": "prod"},
    )  # fmt: skip
    html = client.get("/runs/nightly-abc/").content.decode()
    assert '<code title="abcdef0123456789">abcdef012345</code>' in html
    assert 'href="https://ci.example.com/b/1"' in html
    assert 'href="/runs/?attr=env:prod"' in html and 'href="/series/nightly/"' in html
