"""core.views: the health check, the job logs, signing in, the permissions page, and the 404
of a path no route matches."""

import pytest


@pytest.mark.django_db
def test_healthz_reports_the_database(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json()["status"] == "ok"
    assert resp.json()["database"] in ("sqlite", "postgresql")


@pytest.mark.django_db
def test_job_logs_are_served_to_staff_only(client, admin_client, django_user_model):
    from django.contrib.auth.models import Group

    from results.models import CleanJob

    job = CleanJob.objects.create()
    job.log("hello from the job")
    url = job.log_url
    assert url == f"/media/logs/results/{job.pk}/job.log"
    assert client.get(url).status_code == 302  # to the login page
    ci = django_user_model.objects.create_user("ci-person", password="pw-unused-1")
    ci.groups.add(Group.objects.get(name="CI"))
    client.force_login(ci)
    assert client.get(url).status_code == 403  # read_job_logs is staff's
    resp = admin_client.get(url)
    assert resp.status_code == 200
    assert b"hello from the job" in b"".join(resp.streaming_content)
    assert admin_client.get("/media/logs/../../settings.py").status_code in (400, 404)


def test_a_reader_without_staff_signs_in_to_a_private_site(client, settings, django_user_model):
    settings.ASSAY_PUBLIC_READ = False
    django_user_model.objects.create_user("reader", password="a-reader-pw-1")
    gone = client.get("/runs/")
    assert gone.status_code == 302 and gone.url.startswith("/accounts/login/?next=/runs/")
    form = client.get(gone.url)
    assert form.status_code == 200 and b"Sign in" in form.content
    signed = client.post(
        "/accounts/login/", {"username": "reader", "password": "a-reader-pw-1", "next": "/runs/"}
    )
    assert signed.status_code == 302 and signed.url == "/runs/"
    assert client.get("/runs/").status_code == 200
    assert b"reader" in client.get("/permissions/").content
    client.post("/accounts/logout/")
    assert client.get("/runs/").status_code == 302


@pytest.mark.django_db
def test_head_answers_on_pages(client):
    for url in ("/", "/runs/", "/querygen/", "/datagen/", "/gate/", "/crashtest/", "/permissions/"):
        answer = client.head(url)
        assert answer.status_code == 200, (url, answer.status_code)
        assert answer.content == b""


@pytest.mark.django_db
def test_an_unrouted_api_path_is_a_404_in_the_api_s_shape(client):
    """Found by the API's fuzz test: /api/v1/results/0.5/history/ matched no route and answered
    Django's HTML page, which no API client reads."""
    resp = client.get("/api/v1/results/0.5/history/")
    assert resp.status_code == 404
    assert resp.json() == {
        "error": "not_found",
        "detail": "No API path /api/v1/results/0.5/history/.",
    }
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_a_missing_page_is_the_site_s_own_404(client):
    """Issue 15: 404 pages were Django's bare text. Now the site's page, its navigation and
    the ways back."""
    page = client.get("/runs/no-such-run/really/")
    assert page.status_code == 404
    html = page.content.decode()
    assert 'class="top"' in html and "assay.css" in html  # base.html's header and style
    assert "Nothing here" in html and "/runs/no-such-run/really/" in html
    assert 'href="/runs/"' in html and 'href="/search/"' in html


def test_a_server_error_is_the_site_s_own_500_without_the_database(client, settings):
    """The 500 page renders with no database (no django_db mark: any query would fail the test)
    and no context processors, as Django's server_error renders it."""
    settings.ROOT_URLCONF = "tests.core.urls_failing"
    client.raise_request_exception = False
    page = client.get("/boom/")
    assert page.status_code == 500
    html = page.content.decode()
    assert "Something went wrong on our side" in html and "assay.css" in html
    assert "Traceback" not in html and "RuntimeError" not in html


@pytest.mark.django_db
def test_the_login_page_is_the_site_s_own(client):
    """Issue 15: the only login page was "Django administration". /accounts/login/ is the
    site's (its header and style); the admin keeps its own for staff."""
    page = client.get("/accounts/login/?next=/runs/").content.decode()
    assert 'class="top"' in page and "assay.css" in page and "Sign in" in page
    assert "Django administration" not in page
    assert 'href="/accounts/login/?next=/runs/"' in client.get("/runs/").content.decode()
    assert "Django administration" in client.get("/admin/login/").content.decode()
