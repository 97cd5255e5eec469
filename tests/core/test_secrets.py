"""core.secrets: the scrubber (pure), what the server knows to be secret, and, end to end,
engines with secrets whose datagen and querygen runs fail: no page, API answer, job log or
results row shows any secret to an anonymous reader or a CI token."""

from __future__ import annotations

import itertools
import re
import socket
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token

from core import jobs
from core.models import Engine
from core.secrets import MASK, engine_secrets, known_secrets, scrub, secrets_in

# --- the scrubber -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, secret",
    [
        ("connecting on user=u host=h sslpassword=ssl-pw-1: refused", "ssl-pw-1"),
        ("host=h password='a b\\'c' user=x", "a b\\'c"),
        ('host=h password="pw two" port=1', "pw two"),
        ("{'password': 'hunter22', 'user': 'x'}", "hunter22"),
        ('{"sslpassword": "hunter22"}', "hunter22"),
        ("{'api_key': 123456789}", "123456789"),
        ("postgresql://bob:s3cr3t!@db:5432/x", "s3cr3t!"),
        ("redis://:only-pass@cache:6379/0", "only-pass"),
        ("PGPASSWORD=pw-env psql -h x", "pw-env"),
        ("export GITHUB_TOKEN=ghp_abcdef", "ghp_abcdef"),
        ("Authorization: Token 0123456789abcdef0123456789abcdef01234567", "0123456789abcdef"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", "eyJhbGciOiJIUzI1NiJ9"),
        ("https://x/?user=u&password=pw-in-query&db=d", "pw-in-query"),
    ],
)
def test_secret_shapes_are_masked(text, secret):
    scrubbed = scrub(text, known=[])
    assert secret not in scrubbed and MASK in scrubbed


@pytest.mark.parametrize(
    "text",
    [
        "Unexpected token: SELECT",
        "host=h port=5432 dbname=d user=u sslmode=require",
        "postgresql://bob@db:5432/x",
        "chunk 3: 2000 rows, checksum 0123456789abcdef0123456789abcdef01234567",
        "",
    ],
)
def test_text_without_secrets_is_left_alone(text):
    assert scrub(text, known=[]) == text


def test_known_values_are_masked_wherever_they_appear():
    known = ["s3cret-Value", "p@ss w'rd", "short"]
    text = "it said s3cret-Value; then p%40ss%20w%27rd and p@ss w\\'rd; short stays"
    assert scrub(text, known) == "it said ***; then *** and ***; short stays"


def test_a_longer_secret_is_masked_whole():
    assert scrub("xx abcdefgh-longer xx", ["abcdefgh", "abcdefgh-longer"]) == "xx *** xx"


def test_secrets_in_finds_what_scrub_masks():
    text = "host=h password='p w' sslpassword=x1: postgresql://u:url-pw@h/d"
    assert secrets_in(text) >= {"p w", "x1", "url-pw"}
    assert secrets_in("host=h user=u") == set()


def test_an_engines_secrets():
    found = engine_secrets(
        "env-password",
        ["h", "postgresql://u:dsn-password@h/d", "", None],
        {"sslpassword": "opt-ssl", "api_token": 42, "sslmode": "require",
         "service": "host=h password=inner-pw"},
    )  # fmt: skip
    assert found >= {"env-password", "dsn-password", "opt-ssl", "42", "inner-pw"}
    assert "require" not in found and "h" not in found


@pytest.mark.django_db
def test_known_secrets_are_the_servers(monkeypatch, django_user_model):
    monkeypatch.setenv("ENGINE_PW_FOR_TEST", "env-pw-123")
    Engine.objects.create(
        name="pg", kind="postgresql", host="h", database="postgres://u:dsn-pw-456@h/d",
        password_env="ENGINE_PW_FOR_TEST", options={"sslpassword": "ssl-pw-789"},
    )  # fmt: skip
    Engine.objects.create(name="gone", kind="postgresql", host="h", database="d",
                          password_env="NOT_SET_ANYWHERE")  # fmt: skip
    token = Token.objects.create(user=django_user_model.objects.create_user("t"))
    known = known_secrets()
    assert {"env-pw-123", "dsn-pw-456", "ssl-pw-789", token.key, settings.SECRET_KEY} <= known
    assert "" not in known


# --- end to end: secrets set, runs fail, nothing shows them ------------------------------------

ENV_PASSWORD = "env-Hunter2-password"
SSL_PASSWORD = "ssl-Hunter2-keyfile"
DSN_PASSWORD = "dsn-Hunter2-in-url"
OPTION_PASSWORD = "opt-Hunter2-option"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def work(label: str, pk: int) -> None:
    """Run the job in the foreground until it is finished (its retries included)."""
    model = apps.get_model(label)
    for _ in range(20):  # querygen's runs have 10 attempts
        row = model.objects.get(pk=pk)
        if row.is_finished:
            return
        jobs.run_job(label, pk)
    raise AssertionError(f"{label} {pk} did not finish")


PROJECT_APPS = {"core", "results", "datagen", "querygen", "migrations_gate", "crashtest"}


def _routes(patterns, prefix="") -> list[str]:
    """Every URL pattern of the site as one regex (without anchors)."""
    out = []
    for p in patterns:
        regex = prefix + p.pattern.regex.pattern.lstrip("^").replace("\\Z", "").rstrip("$")
        if isinstance(p, URLResolver):
            out += _routes(p.url_patterns, regex)
        elif isinstance(p, URLPattern):
            out.append(regex)
    return out


_PARAM = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def _fill(route: str, values: dict[str, list[str]], limit: int) -> list[str]:
    """Concrete paths of a route's regex: each named group by the values of its kind (the
    first ``limit`` values each)."""
    names = _PARAM.findall(route)
    paths = []
    for combo in itertools.product(*(values.get(n, values["*"])[:limit] for n in names)):
        path = route
        for value in combo:
            path = _PARAM.sub(lambda _m, v=value: v, path, count=1)
        path = re.sub(r"\\(.)", r"\1", path).replace("/?", "/").replace("?", "")
        if not re.search(r"[\\\[\]()*+^$|]", path):
            paths.append("/" + path)
    return paths


def _schema_paths(client, values: dict[str, list[str]]) -> list[str]:
    schema = client.get("/api/schema/", {"format": "json"}).json()
    paths = []
    for template, operations in schema["paths"].items():
        if "get" not in operations:
            continue
        names = re.findall(r"\{(\w+)\}", template)
        for combo in itertools.product(*(values.get(n, values["*"]) for n in names)):
            path = template
            for name, value in zip(names, combo, strict=True):
                path = path.replace("{" + name + "}", value, 1)
            paths.append(path)
    return paths


def _body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


@pytest.mark.db_dependent
@pytest.mark.django_db
def test_secrets_never_leave_the_server(token_client, api_client, settings, tmp_path, monkeypatch):
    settings.ASSAY_DATAGEN_ROOT = tmp_path / "datagen"
    monkeypatch.setenv("ASSAY_TEST_ENGINE_PASSWORD", ENV_PASSWORD)
    port = closed_port()
    Engine.objects.create(
        name="pg-secret", kind="postgresql", host="127.0.0.1", port=port, database="x",
        user="u", password_env="ASSAY_TEST_ENGINE_PASSWORD",
        options={"sslpassword": SSL_PASSWORD, "sslmode": "disable", "connect_timeout": 3},
    )  # fmt: skip
    Engine.objects.create(
        name="pg-dsn", kind="postgresql", host="127.0.0.1", port=port,
        database=f"postgresql://dsnuser:{DSN_PASSWORD}@127.0.0.1:{port}/x",
        options={"password": OPTION_PASSWORD, "sslmode": "disable"},
    )  # fmt: skip
    Engine.objects.create(name="lite", kind="sqlite", path=str(tmp_path / "lite.sqlite"))
    token = Token.objects.get().key
    secrets = [ENV_PASSWORD, SSL_PASSWORD, DSN_PASSWORD, OPTION_PASSWORD, token]
    secrets.append(settings.SECRET_KEY)

    for engine in ("pg-secret", "pg-dsn"):
        body = {"spec": "querygen", "chunks": "0", "load_engine": engine, "output_format": "none"}
        answer = token_client.post("/api/v1/datagen/runs/", body, format="json")
        assert answer.status_code == 202, answer.content
        work("datagen.DatagenRun", answer.json()["id"])
        body = {"sut": engine, "reference": "lite", "budget_queries": 5}
        answer = token_client.post("/api/v1/querygen/runs/", body, format="json")
        assert answer.status_code == 202, answer.content
        work("querygen.QuerygenRun", answer.json()["id"])

    # The runs failed on the engines (the errors would carry the conninfo), and say why.
    errors = [r.error for r in apps.get_model("datagen.DatagenRun").objects.all()]
    errors += [r.error for r in apps.get_model("querygen.QuerygenRun").objects.all()]
    assert len(errors) == 4 and all("Connection refused" in e for e in errors), errors

    def leaked(text: str | bytes) -> list[str]:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        return [s for s in secrets if s in text]

    # Every job log, every stored error and every results row.
    logs = [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]
    assert logs
    for path in logs:
        assert leaked(path.read_text(errors="replace")) == [], path
    for model in apps.get_models():
        for field in ("error", "report", "progress_message", "log", "title"):
            if any(f.name == field for f in model._meta.fields):
                for value in model.objects.values_list(field, flat=True):
                    assert leaked(str(value)) == [], (model, field)

    # Every page and API answer, as anonymous and as the CI token, with the ids and names of
    # the rows there are (admin pages, staff-only: with one of each).
    mine = [m for m in apps.get_models() if m._meta.app_label in PROJECT_APPS and m._meta.managed]
    ints = sorted({str(pk) for m in mine for pk in m.objects.values_list("pk", flat=True)})
    names = sorted(
        {str(v) for m in mine if any(f.name == "name" for f in m._meta.fields)
         for v in m.objects.values_list("name", flat=True)}
    )  # fmt: skip
    logs_under = [str(p.relative_to(Path(settings.MEDIA_ROOT) / "logs")) for p in logs]
    values = {
        "pk": ints, "id": ints, "side": ["sut", "reference"], "path": logs_under,
        "*": names + ints,
    }  # fmt: skip
    paths = {
        path
        for route in _routes(get_resolver().url_patterns)
        for path in _fill(route, values, limit=1 if route.startswith("admin/") else 100)
    }
    paths |= set(_schema_paths(api_client, values))
    assert "/api/v1/datagen/runs/1/" in paths and "/querygen/runs/1/" in paths
    shown = set()
    for client in (api_client, token_client):
        for path in sorted(paths):
            response = client.get(path)
            assert response.status_code < 500, (path, response.status_code)
            assert leaked(_body(response)) == [], (path, leaked(_body(response)))
            if response.status_code == 200:
                shown.add(path)
    runs = ["/api/v1/datagen/runs/", "/api/v1/querygen/runs/", "/datagen/runs/", "/querygen/runs/"]
    assert {f"{r}{pk}/" for r in runs for pk in (1, 2)} <= shown
    assert len(shown) > 40
