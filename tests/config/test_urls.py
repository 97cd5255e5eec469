"""config.urls: what the site serves besides the apps' pages."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/imports/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


@pytest.mark.django_db
def test_private_mode_covers_the_schema_and_docs(settings, client, token_client):
    """With ASSAY_PUBLIC_READ off they stayed public (issue 14). Now the schema needs a login
    or a token, as the API; the docs pages a login, as the site's pages."""
    from django.contrib.auth import get_user_model

    settings.ASSAY_PUBLIC_READ = False
    assert client.get("/api/schema/").status_code == 401
    assert token_client.get("/api/schema/").status_code == 200
    for page in ["/api/docs/", "/api/redoc/"]:
        answer = client.get(page)
        assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")
    client.force_login(get_user_model().objects.create_user("reader", password="x-12345678"))
    for url in ["/api/schema/", "/api/docs/", "/api/redoc/"]:
        assert client.get(url).status_code == 200, url
    client.logout()
    settings.ASSAY_PUBLIC_READ = True
    for url in ["/api/schema/", "/api/docs/", "/api/redoc/"]:
        assert client.get(url).status_code == 200, url


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


# --- The API fuzzes itself (issue 14) -------------------------------------------------------
# schemathesis draws requests from the served schema, sends them to the live test server and
# checks every answer: no 5xx, every status code, content type and body as documented, valid
# requests accepted and invalid ones refused, writes refused without the token. The same cases
# every run, about 700 of them: under a minute for both roles. SQLite only (not db_dependent).

FUZZ_TIMEOUT = 300  # seconds: a hung server fails the test instead of hanging `make test`


def _fuzz_rows(settings, tmp_path) -> None:
    """Some rows of every app, so that detail endpoints have ids to find: the demo's three
    runs, a querygen run with a group, a finding and a pair, a datagen run, a gated project
    with a check. Engines point at no file: a replay fails at once, nothing runs for long."""
    import io

    from django.core.management import call_command

    from datagen.services.runs import resolve_spec, submit_run
    from migrations_gate.models import Check, Dataset
    from migrations_gate.models import Project as GatedProject
    from querygen.models import Pair
    from tests.querygen.factories import make_engines, make_finding, make_group, make_run

    settings.VAR_DIR = tmp_path
    call_command("load_demo", "--no-progress", stdout=io.StringIO())
    duck, lite = make_engines()
    make_finding(make_group(make_run()))
    Pair.objects.create(name="duck-vs-lite", sut=duck, reference=lite)
    submit_run(resolve_spec("querygen"), seed=1, output_dir=str(tmp_path / "datagen"))
    dataset = Dataset.objects.create(name="shop-lite", kind="sqlite", path="/nowhere.sqlite")
    project = GatedProject.objects.create(name="shop", repository="/nowhere", kind="django")
    project.datasets.add(dataset)
    Check.objects.create(project=project, ref="main")


def _token(role: str) -> str:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from core import roles

    users = get_user_model().objects
    if role == "staff":
        user = users.create_superuser("fuzz-staff", "staff@example.org", "not-used-here-123")
    else:
        user = users.create_user("fuzz-ci", password="not-used-here-123")
        user.groups.add(Group.objects.get(name=roles.CI))
    return Token.objects.create(user=user).key


@pytest.mark.parametrize("role", ["ci", "staff"])
def test_the_api_answers_as_its_schema_says(
    role, transactional_db, live_server, settings, tmp_path
):
    """schemathesis's own CLI against the live server, as CI would run it: a real process,
    its settings in tests/config/schemathesis.toml, the 400s a valid request may get in
    tests/config/schemathesis_hooks.py, its summary in the failure message."""
    settings.ASSAY_DATAGEN_ROOT = tmp_path / "datagen"
    _fuzz_rows(settings, tmp_path)
    command = [
        sys.executable, "-m", "schemathesis.cli", "--no-color",
        "--config-file", str(Path(__file__).with_name("schemathesis.toml")),
        "run", f"{live_server.url}/api/schema/", "--no-shrink",
    ]  # fmt: skip
    if role == "staff":
        # Reads answer every role alike (the CI role's pass covers them); writes differ.
        command += ["--exclude-method", "GET"]
    env = {
        **os.environ,
        "ASSAY_FUZZ_TOKEN": _token(role),
        "SCHEMATHESIS_HOOKS": "tests.config.schemathesis_hooks",
        "HYPOTHESIS_STORAGE_DIRECTORY": str(tmp_path / "hypothesis"),  # not in the repository
    }
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=FUZZ_TIMEOUT
    )
    print(done.stdout, done.stderr)  # the whole report, under "Captured stdout" on failure
    if done.returncode != 0:
        summary = done.stdout[done.stdout.rfind("=== SUMMARY ===") :]
        pytest.fail(f"schemathesis found what the schema does not say:\n{summary}", pytrace=False)


@pytest.mark.django_db
def test_the_site_has_a_favicon(client):
    """Issue 15: no favicon. The pages link it, and /favicon.ico (asked by browsers whatever
    the page says) leads to it."""
    assert 'rel="icon" href="/static/favicon.svg"' in client.get("/runs/").content.decode()
    redirect = client.get("/favicon.ico")
    assert redirect.status_code == 301 and redirect["Location"] == "/static/favicon.svg"
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon["Content-Type"] == "image/svg+xml"
    assert b"<svg" in b"".join(icon.streaming_content)


@pytest.mark.django_db
def test_the_served_schema_documents_each_list_with_its_own_fields(client):
    """Issue 15: results' and datagen's serializers were both `Run`, so GET /api/v1/runs/ was
    documented with datagen's fields and drf-spectacular warned on every request. The schema
    as served: no warning, and each list's items documented with the keys its answer has."""
    from drf_spectacular.drainage import GENERATOR_STATS

    from tests import factories

    factories.run("daily_2026-11-01")
    GENERATOR_STATS.reset()
    schema = client.get("/api/schema/?format=json").json()
    assert not GENERATOR_STATS, "drf-spectacular warned while serving the schema"
    components = schema["components"]["schemas"]
    for url in ("/api/v1/runs/", "/api/v1/datagen/runs/", "/api/v1/querygen/runs/"):
        page = schema["paths"][url]["get"]["responses"]["200"]["content"]["application/json"]
        item = components[page["schema"]["$ref"].split("/")[-1]]["properties"]["results"]
        documented = set(components[item["items"]["$ref"].split("/")[-1]]["properties"])
        answer = client.get(url).json()["results"]
        if answer:
            assert set(answer[0]) == documented, url
    runs = components["PaginatedRunList"]["properties"]["results"]["items"]["$ref"]
    assert {"valuable", "counts"} <= set(components[runs.split("/")[-1]]["properties"])
