"""A run's failure clusters and a cluster's page across runs, from real JUnit imports."""

from __future__ import annotations

import re

import pytest

from results.models import TestResult
from tests.results.factories import cluster_junit as junit
from tests.results.factories import import_junit as import_run

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


def test_junit_messages_and_fingerprints_are_kept():
    import_run("build-1", junit([3, 17, 5, 6, 7, 8, 9, 10, 11]))
    first = TestResult.objects.get(test_name="tests.test_math.test_0")
    assert first.message == "AssertionError: assert 3 == 4"
    second = TestResult.objects.get(test_name="tests.test_math.test_1")
    assert second.message == "AssertionError: assert 17 == 4"
    assert len(first.fingerprint) == 16 and first.fingerprint == second.fingerprint
    read = TestResult.objects.get(test_name="tests.test_io.test_read")
    assert read.message == "FileNotFoundError: /tmp/pytest-of-ci/pytest-42/data.txt"  # text
    passed = TestResult.objects.get(test_name="tests.test_ok.test_fine")
    assert passed.message == "" and passed.fingerprint == ""


def test_run_page_shows_clusters_with_counts_then_seen_before(client):
    import_run("build-1", junit([3, 17, 5, 6, 7, 8, 9, 10, 11]))
    html = client.get("/runs/build-1/").content.decode()
    section = html[html.index('id="clusters"') :]
    assert "3 failure clusters" in section
    assert re.search(
        r'9 tests</a></td>\s*<td class="reason"><code[^>]*>'
        r"AssertionError: assert &lt;n&gt; == &lt;n&gt;",
        section,
    )
    assert "tests.test_math.test_0" in section  # a sample of the tests
    assert section.count('class="tag new"') == 3  # first run: every cluster is new

    # The next build fails the same way with other numbers and another temp dir.
    import_run("build-2", junit([1, 2, 3, 4, 5, 6, 7, 8, 99], other_line=43))
    html = client.get("/runs/build-2/").content.decode()
    section = html[html.index('id="clusters"') :]
    assert section.count('class="tag seen"') == 3 and 'class="tag new"' not in section
    assert "seen in 1 earlier run" in section


def test_cluster_page_across_runs(client):
    import_run("build-1", junit([3, 17, 5, 6, 7, 8, 9, 10, 11]))
    import_run("build-2", junit([1, 2, 3, 4, 5, 6, 7, 8, 99]))
    fingerprint = TestResult.objects.get(
        test_name="tests.test_math.test_0", run__name="build-2"
    ).fingerprint
    html = client.get(f"/clusters/{fingerprint}/").content.decode()
    assert "AssertionError: assert &lt;n&gt; == &lt;n&gt;" in html
    assert html.index("build-2") < html.index("build-1")  # newest run first
    assert "tests.test_math.test_8" in html
    assert "AssertionError: assert 99 == 4" in html  # a raw message (the newest)
    result = TestResult.objects.get(test_name="tests.test_math.test_8", run__name="build-2")
    page = client.get(f"/results/{result.pk}/").content.decode()
    assert f'href="/clusters/{fingerprint}/"' in page  # a result leads to its cluster
    assert client.get("/clusters/0000000000000000/").status_code == 404
    assert client.get("/clusters/not-a-fingerprint/").status_code == 404


def test_messages_in_the_failures_list_the_tree_and_the_compare_tabs(client):
    import_run("build-1", junit([3, 17, 5, 6, 7, 8, 9, 10, 11]))
    html = client.get("/runs/build-1/?status=F").content.decode()
    assert 'title="AssertionError: assert 17 == 4">AssertionError: assert 17 == 4</span>' in html
    leaves = client.get("/runs/build-1/?prefix=tests.test_db.").content.decode()
    assert "ConnectionRefusedError: [Errno 111]" in leaves  # a failing leaf of the tree
    assert 'id="clusters"' not in leaves  # the clusters are the run's, shown at its root
    # build-2: test_read now passes (a fix), test_fine now fails (a regression)
    data = re.sub(rb"<failure>\n\nFileNotFoundError.*?</failure>", b"", junit([4, 17]), flags=re.S)
    data = data.replace(
        b'name="test_fine" time="0.1"/>',
        b'name="test_fine" time="0.1"><failure message="boom 7"/></testcase>',
    )
    import_run("build-2", data)
    regressions = client.get("/runs/build-2/compare/build-1/?kind=regressions").content.decode()
    assert 'class="msg" title="boom 7"' in regressions
    fixed = client.get("/runs/build-2/compare/build-1/?kind=fixes").content.decode()
    assert "FileNotFoundError: /tmp/pytest-of-ci/pytest-42/data.txt" in fixed  # the old reason


def test_bad_messages_are_stored_not_500(token_client):
    import json

    from django.core.files.uploadedfile import SimpleUploadedFile

    def post(results: list[dict]):
        body = json.dumps({"format": "assay-results/1", "results": results}).encode()
        upload = SimpleUploadedFile("r.json", body, content_type="application/json")
        return token_client.post(
            "/api/v1/imports/", {"file": upload, "run": "bad"}, format="multipart"
        )

    huge = "x" * (10 * 1024 * 1024)
    resp = post([
        {"name": "t.huge", "status": "F", "message": huge},
        {"name": "t.junk", "status": "E", "log": bytes(range(1, 256)).decode("latin-1")},
    ])  # fmt: skip
    assert resp.status_code == 201, resp.content[:500]
    messages = dict(TestResult.objects.values_list("test_name", "message"))
    assert len(messages["t.huge"]) == 1000
    assert messages["t.junk"] and "\x00" not in messages["t.junk"]
    assert client_ok(token_client, "/runs/bad/") and client_ok(
        token_client, "/api/v1/runs/bad/clusters/"
    )
    # A message that is not text (a lone surrogate, a NUL) is refused with where it is, as
    # anywhere in the file (docs/import-formats.md), and nothing is written.
    for bad in ("bad \ud800 here", "nul \u0000 here"):
        resp = post(
            [{"name": "t.ok", "status": "P"}, {"name": "t.bad", "status": "F", "message": bad}]
        )
        assert resp.status_code == 400 and "results[1].message" in resp.json()["detail"]
    assert not TestResult.objects.filter(test_name__in=["t.ok", "t.bad"]).exists()


def client_ok(client, url: str) -> bool:
    return client.get(url).status_code == 200


def test_cluster_page_pages_its_runs_and_its_tests_with_their_totals(
    client, monkeypatch, django_assert_max_num_queries
):
    from results.views import clusters as views

    monkeypatch.setattr(views, "RUNS_PER_PAGE", 2)
    monkeypatch.setattr(views, "TESTS_PER_PAGE", 4)
    for i in range(3):
        import_run(f"build-{i}", junit(list(range(9))))  # 9 tests in one cluster, each run
    fingerprint = TestResult.objects.filter(test_name="tests.test_math.test_0").first().fingerprint
    with django_assert_max_num_queries(6):  # totals (2), a page of runs, of tests, the triage
        html = client.get(f"/clusters/{fingerprint}/").content.decode()
    runs = html[html.index('id="runs"') : html.index('id="tests"')]
    tests = html[html.index('id="tests"') :]
    assert "3, newest first: 1–2" in runs and "page 1 of 2" in runs
    assert "build-2" in runs and "build-1" in runs and "build-0" not in runs
    assert 'href="?rpage=2#runs"' in runs
    assert "9, most often hit first: 1–4" in tests and "page 1 of 3" in tests
    assert tests.count('class="testname"') == 4
    later = client.get(f"/clusters/{fingerprint}/?rpage=2&tpage=3").content.decode()
    runs = later[later.index('id="runs"') : later.index('id="tests"')]
    tests = later[later.index('id="tests"') :]
    assert "build-0" in runs and "build-2" not in runs and "page 2 of 2" in runs
    assert 'href="?tpage=3&amp;rpage=1#runs"' in runs  # the other list keeps its page
    assert tests.count('class="testname"') == 1 and "tests.test_math.test_8" in tests
    assert 'href="?rpage=2&amp;tpage=2#tests"' in tests
    assert client.get(f"/clusters/{fingerprint}/?rpage=x&tpage=99").status_code == 200
