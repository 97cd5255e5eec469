"""core.views: the health check, the job logs and the 404 of a path no route matches."""

import pytest


@pytest.mark.django_db
def test_healthz_reports_the_database(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json()["status"] == "ok"
    assert resp.json()["database"] in ("sqlite", "postgresql")


@pytest.mark.django_db
def test_job_logs_are_served_to_staff_only(client, admin_client):
    from results.models import CleanJob

    job = CleanJob.objects.create()
    job.log("hello from the job")
    url = job.log_url
    assert url == f"/media/logs/results/{job.pk}/job.log"
    assert client.get(url).status_code == 302  # to the login page
    resp = admin_client.get(url)
    assert resp.status_code == 200
    assert b"hello from the job" in b"".join(resp.streaming_content)
    assert admin_client.get("/media/logs/../../settings.py").status_code in (400, 404)


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
