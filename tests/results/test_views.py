import pytest
from django.db import connection
from django.utils import timezone

from results.models import TestResult
from results.services.runs import refresh_counts
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def day():
    run = factories.run("daily_2026-11-01")
    factories.result(run, "pkg.a.test_1", "P")
    factories.result(run, "pkg.a.test_2", "F", log="Traceback: <b>boom</b>")
    factories.result(run, "pkg.b.test_3", "E")
    factories.result(run, "top", "M")
    refresh_counts(run)
    return run


def test_run_list_shows_counts_per_status(client, day):
    html = client.get("/").content.decode()
    assert "daily_2026-11-01" in html
    assert 'href="/runs/daily_2026-11-01/?status=F">1</a>' in html
    assert 'href="/runs/daily_2026-11-01/?status=M">1</a>' in html


def test_run_page_groups_by_dotted_parent_and_filters(client, day):
    html = client.get("/runs/daily_2026-11-01/").content.decode()
    assert html.index(">pkg.a<") < html.index("pkg.a.test_1") < html.index(">pkg.b<")
    assert "(top level)" in html
    assert 'title="pkg.a.test_2">test_2</a>' in html  # leaves under their group
    failed = client.get("/runs/daily_2026-11-01/?status=F").content.decode()
    assert "pkg.a.test_2" in failed and "pkg.a.test_1" not in failed
    both = client.get("/runs/daily_2026-11-01/?status=FE").content.decode()
    assert "pkg.a.test_2" in both and "pkg.b.test_3" in both and "test_1" not in both
    narrowed = client.get("/runs/daily_2026-11-01/?prefix=pkg.b.").content.decode()
    assert "pkg.b.test_3" in narrowed and "pkg.a.test_2" not in narrowed


def test_aliases_redirect_to_the_real_run(client, day):
    resp = client.get("/runs/daily_latest/?status=F")
    assert resp.status_code == 302
    assert resp["Location"] == "/runs/daily_2026-11-01/?status=F"
    assert client.get("/runs/no-such-run/").status_code == 404


def test_result_page_shows_the_log_escaped(client, day):
    result = TestResult.objects.get(test_name="pkg.a.test_2")
    html = client.get(f"/results/{result.pk}/").content.decode()
    assert "Traceback: &lt;b&gt;boom&lt;/b&gt;" in html
    assert 'href="/runs/daily_2026-11-01/"' in html


@pytest.mark.db_dependent
def test_run_page_of_100000_results_runs_a_bounded_number_of_queries(
    client, django_assert_max_num_queries
):
    run = factories.run("big")
    project = factories.project("p")
    now = timezone.now()
    table = TestResult._meta.db_table
    rows = [
        (
            run.pk,
            project.pk,
            "h",
            "default",
            f"pkg.m{i // 1000}.test_{i:06d}",
            "F" if i % 97 == 0 else "P",
            "",
            "",
            "",
            "{}",
            "{}",
            now,
        )  # fmt: skip
        for i in range(100_000)
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (run_id, project_id, host, context, test_name, status, "  # noqa: S608
            "location, test_runner, log, tda, tra, imported_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
    refresh_counts(run)
    for url in ["/runs/big/", "/runs/big/?status=F&page=3", "/runs/big/?prefix=pkg.m42.", "/"]:
        with django_assert_max_num_queries(6):
            resp = client.get(url)
        assert resp.status_code == 200
    assert "page 1 of 500" in client.get("/runs/big/").content.decode()


def test_private_reads_need_a_login(client, admin_client, day, settings):
    settings.ASSAY_PUBLIC_READ = False
    result = TestResult.objects.get(test_name="pkg.a.test_2")
    for url in ["/", "/runs/daily_2026-11-01/", f"/results/{result.pk}/"]:
        resp = client.get(url)
        assert resp.status_code == 302 and resp["Location"].startswith("/admin/login/")
        assert admin_client.get(url).status_code == 200
