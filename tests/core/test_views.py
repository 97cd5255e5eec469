"""core.views: the health check and the job logs."""

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
