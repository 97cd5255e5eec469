"""config.urls: what the site serves besides the apps' pages."""

import pytest


@pytest.mark.django_db
def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/imports/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


def test_the_schema_builds_without_warnings(tmp_path):
    """A warning means a wrong schema (two components of one name), so clients built from it
    are wrong: datagen's and results' runs once were."""
    from django.core.management import call_command

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "DatagenRun:" in text and "\n    Run:" in text


@pytest.mark.django_db
def test_no_format_suffix_routes_to_answer_500(client):
    """A `.json` suffix on an @action (which takes no `format`) was a 500; `?format=json` is
    the way, and a suffix is an unknown address."""
    for url in ("/api/v1/runs.json", "/api/v1/runs/x/tree.json/", "/api/v1/results/1/history.json"):
        assert client.get(url).status_code == 404, url
    assert client.get("/api/v1/runs/?format=json").status_code == 200
