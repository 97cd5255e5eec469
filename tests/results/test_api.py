import json
import socket

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.authtoken.models import Token

from core.jobs import run_job
from core.models import JobState
from results.models import FlakinessJob, TestResult, TestRun
from results.services.flaky import refresh_flaky
from tests import factories
from tests.results.factories import (
    BAD_INPUTS,
    cluster_junit,
    flaky_days,
    history_days,
    import_junit,
    in_thread,
    result_in,
)

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]

JUNIT = b"""<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="4" time="0.5"
 timestamp="2026-11-01T10:00:00" hostname="ci-7">
<testcase classname="tests.test_a" name="test_ok" time="0.1"/>
<testcase classname="tests.test_a" name="test_fail" time="0.1"><failure message="assert 1 == 2">
assert 1 == 2</failure></testcase>
<testcase classname="tests.test_b" name="test_err" time="0.1"><error message="boom">trace</error>
</testcase>
<testcase classname="tests.test_b" name="test_skip" time="0.0"><skipped message="later"/></testcase>
</testsuite></testsuites>"""

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<testsuite name="x"><testcase name="a" classname="&lol3;"/></testsuite>"""


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def test_import_needs_a_token(api_client):
    resp = api_client.post("/api/v1/imports/", {"file": upload("r.xml", JUNIT), "run": "r"})
    assert resp.status_code in (401, 403)
    assert resp.json()["error"] in ("not_authenticated", "permission_denied")
    assert not TestResult.objects.exists()


def test_import_junit_answers_counts_and_the_run_url(token_client):
    resp = token_client.post(
        "/api/v1/imports/",
        {"file": upload("r.xml", JUNIT), "run": "daily_2026-11-01", "project": "db"},
        format="multipart",
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["files"] == [
        {"name": "r.xml", "format": "junit", "flavour": "pytest-xunit2", "results": 4,
         "warnings": []}
    ]  # fmt: skip
    [run] = body["runs"]
    assert run["name"] == "daily_2026-11-01" and run["created"] is True
    assert run["counts"] == {"P": 1, "F": 1, "E": 1, "D": 1}
    assert run["url"].endswith("/runs/daily_2026-11-01/")
    assert TestResult.objects.get(test_name="tests.test_a.test_fail").host == "ci-7"


def test_many_files_in_one_request(token_client):
    json_doc = b'{"format": "assay-results/1", "results": [{"name": "j.t", "status": "P"}]}'
    resp = token_client.post(
        "/api/v1/imports/",
        {"file": [upload("a.xml", JUNIT), upload("b.json", json_doc)], "run": "r"},
        format="multipart",
    )
    assert resp.status_code == 201
    assert [f["format"] for f in resp.json()["files"]] == ["junit", "json"]
    assert TestRun.objects.get().status_counts == {"P": 2, "F": 1, "E": 1, "D": 1}


@pytest.mark.parametrize(
    "name,data,fragment",
    [
        ("bomb.xml", BOMB, "bomb.xml"),
        ("cut.xml", JUNIT[: len(JUNIT) // 2], "cut.xml:"),
        ("empty.xml", b"", "empty.xml"),
        ("bin.dat", bytes(range(256)), "bin.dat"),
        # the JUnit importer raises ValueError on it (pyexpat): a 400 too, never a 500
        ("sjis.xml", b'<?xml version="1.0" encoding="shift_jis"?><testsuite/>',
         "sjis.xml: the importer failed on it (ValueError: multi-byte encodings"),
    ],
)  # fmt: skip
def test_bad_files_are_400_with_file_and_nothing_written(token_client, name, data, fragment):
    resp = token_client.post(
        "/api/v1/imports/",
        {"file": [upload("ok.xml", JUNIT), upload(name, data)], "run": "r"},
        format="multipart",
    )
    assert resp.status_code == 400, resp.content
    body = resp.json()
    assert body["error"] == "bad_file" and fragment in body["detail"]
    assert not TestResult.objects.exists() and not TestRun.objects.exists()


def test_no_file_and_no_run_are_400(token_client):
    resp = token_client.post("/api/v1/imports/", {"run": "r"}, format="multipart")
    assert resp.status_code == 400 and resp.json()["error"] == "no_files"
    json_doc = b'{"format": "assay-results/1", "results": [{"name": "j.t", "status": "P"}]}'
    resp = token_client.post("/api/v1/imports/", {"file": upload("a.json", json_doc)},
                             format="multipart")  # fmt: skip
    assert resp.status_code == 400 and "names no run" in resp.json()["detail"]


def test_runs_and_results_read_with_aliases(token_client, api_client):
    token_client.post("/api/v1/imports/", {"file": upload("r.xml", JUNIT),
                      "run": "daily_2026-11-01"}, format="multipart")  # fmt: skip
    resp = api_client.get("/api/v1/runs/daily_latest/")
    assert resp.status_code == 200 and resp.json()["name"] == "daily_2026-11-01"
    assert resp.json()["total"] == 4
    resp = api_client.get("/api/v1/runs/daily_latest/results/?status=FE")
    assert sorted(r["status"] for r in resp.json()["results"]) == ["E", "F"]
    resp = api_client.get("/api/v1/runs/daily_latest/results/?status=X")
    assert resp.status_code == 400
    assert api_client.get("/api/v1/runs/nope/").json() == {
        "error": "no_such_run", "detail": "There is no run named nope.",
    }  # fmt: skip


def test_expected_generate_and_check_over_the_api(token_client, api_client):
    token_client.post("/api/v1/imports/", {"file": upload("r.xml", JUNIT),
                      "run": "daily_2026-11-01"}, format="multipart")  # fmt: skip
    resp = token_client.post(
        "/api/v1/expected/generate/", {"run_class": "daily", "run": "daily_latest"}, format="json"
    )
    assert resp.status_code == 200 and resp.json()["added"] == 4
    resp = api_client.post(
        "/api/v1/expected/check/", {"run_class": "daily", "run": "daily_2026-11-02"}, format="json"
    )
    assert resp.status_code in (401, 403)
    resp = token_client.post(
        "/api/v1/expected/check/", {"run_class": "daily", "run": "daily_2026-11-02"}, format="json"
    )
    assert resp.status_code == 200 and resp.json()["missing_added"] == 4
    assert resp.json()["counts"] == {"M": 4}
    resp = api_client.get("/api/v1/expected/?run_class=daily")
    assert resp.json()["count"] == 4
    resp = token_client.post("/api/v1/expected/check/", {"run_class": "daily"}, format="json")
    assert resp.status_code == 400 and resp.json()["error"] == "invalid"


PDK_WITH_UNKNOWN = b"""test_run=r
test_name=t1
status=P
colour=blue
END
"""


def test_warnings_of_accepted_files_are_reported(token_client):
    resp = token_client.post("/api/v1/imports/", {"file": upload("a.pdk", PDK_WITH_UNKNOWN)},
                             format="multipart")  # fmt: skip
    assert resp.status_code == 201
    [warning] = resp.json()["files"][0]["warnings"]
    assert "unknown field 'colour' ignored" in warning


def test_staff_session_may_write_and_a_plain_session_may_not(admin_client, db):
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    resp = admin_client.post("/api/v1/imports/", {"file": upload("a.pdk", PDK_WITH_UNKNOWN)})
    assert resp.status_code == 201
    get_user_model().objects.create_user("reader", password="pw-reader-123")
    client = APIClient()
    client.login(username="reader", password="pw-reader-123")
    resp = client.post("/api/v1/imports/", {"file": upload("b.pdk", PDK_WITH_UNKNOWN)},
                       format="multipart")  # fmt: skip
    assert resp.status_code == 403 and resp.json()["error"] == "permission_denied"


def test_session_writes_need_csrf(admin_user):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(admin_user)
    resp = client.post("/api/v1/imports/", {"file": upload("a.pdk", PDK_WITH_UNKNOWN)},
                       format="multipart")  # fmt: skip
    assert resp.status_code == 403 and "CSRF" in resp.json()["detail"]
    assert not TestResult.objects.exists()


def test_reads_can_require_a_login(api_client, settings):
    settings.ASSAY_PUBLIC_READ = False
    resp = api_client.get("/api/v1/runs/")
    assert resp.status_code in (401, 403)


def test_too_many_files_is_a_400_in_the_error_shape(token_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    files = [upload(f"{i}.pdk", PDK_WITH_UNKNOWN) for i in range(3)]
    resp = token_client.post("/api/v1/imports/", {"file": files}, format="multipart")
    assert resp.status_code == 400
    assert resp.json()["error"] == "upload_too_large"
    assert "ASSAY_MAX_UPLOAD_FILES" in resp.json()["detail"]


def test_results_list_is_newest_first_without_logs(token_client, api_client):
    token_client.post("/api/v1/imports/", {"file": upload("r.xml", JUNIT), "run": "r"},
                      format="multipart")  # fmt: skip
    body = api_client.get("/api/v1/results/").json()
    ids = [r["id"] for r in body["results"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 4
    assert "log" not in body["results"][0] and "count" not in body
    detail = api_client.get(f"/api/v1/results/{ids[0]}/").json()
    assert "log" in detail


def test_drf_errors_have_a_plain_detail(api_client):
    assert api_client.get("/api/v1/results/999999/").json() == {
        "error": "not_found",
        "detail": "Not found.",
    }


# --- comparisons and the tree ------------------------------------------------------------------


@pytest.fixture
def two_days():
    from django.core.cache import cache

    from results.services.runs import refresh_counts
    from tests import factories

    cache.clear()  # comparisons are cached per run version
    runs = []
    for name, statuses in [
        ("daily_2026-11-01", {"a.ok": "P", "a.breaks": "P", "a.fixed": "F", "a.gone": "P",
                              "b.x.t1": "P", "b.x.t2": "P"}),
        ("daily_2026-11-02", {"a.ok": "P", "a.breaks": "F", "a.fixed": "P", "a.new": "P",
                              "b.x.t1": "M", "b.x.t2": "E"}),
    ]:  # fmt: skip
        run = factories.run(name)
        for test, status in statuses.items():
            factories.result(run, test, status)
        refresh_counts(run)
        runs.append(run)
    return runs


def test_compare_answers_counts_and_lists_with_both_results(api_client, two_days):
    before, now = two_days
    resp = api_client.get("/api/v1/runs/daily_2026-11-02/compare/daily_2026-11-01/")
    assert resp.status_code == 200
    body = resp.json()
    assert body["run"] == "daily_2026-11-02" and body["other"] == "daily_2026-11-01"
    assert body["counts"] == {"regressions": 3, "fixes": 1, "new": 1, "vanished": 1, "muted": 0}
    assert body["limit"] == 1000
    assert [r["test_name"] for r in body["regressions"]] == ["a.breaks", "b.x.t1", "b.x.t2"]
    first = body["regressions"][0]
    assert first == {
        "test_name": "a.breaks", "project": "proj", "host": "h1", "context": "default",
        "before": "P", "status": "F",
        "result": TestResult.objects.get(run=now, test_name="a.breaks").pk,
        "other_result": TestResult.objects.get(run=before, test_name="a.breaks").pk,
        "muted": False,
        "message": "",
    }  # fmt: skip
    assert body["new"][0]["test_name"] == "a.new" and body["new"][0]["other_result"] is None
    gone = body["vanished"][0]
    assert (gone["test_name"], gone["before"], gone["status"], gone["result"]) == (
        "a.gone", "P", None, None,
    )  # fmt: skip
    assert body["fixes"][0]["before"] == "F" and body["fixes"][0]["status"] == "P"


def test_compare_with_the_previous_run_and_aliases(api_client, two_days):
    body = api_client.get("/api/v1/runs/daily_latest/compare/").json()
    assert (body["run"], body["other"]) == ("daily_2026-11-02", "daily_2026-11-01")
    resp = api_client.get("/api/v1/runs/daily_2026-11-01/compare/")
    assert resp.status_code == 404 and resp.json()["error"] == "no_previous_run"
    resp = api_client.get("/api/v1/runs/daily_latest/compare/daily_2026-11-02/")
    assert resp.status_code == 400 and resp.json()["error"] == "same_run"
    resp = api_client.get("/api/v1/runs/daily_latest/compare/nope/")
    assert resp.status_code == 404 and resp.json() == {
        "error": "no_such_run", "detail": "There is no run named nope.",
    }  # fmt: skip
    assert api_client.get("/api/v1/runs/nope/compare/").json()["error"] == "no_such_run"


def test_compare_pages_through_one_list(api_client, two_days, monkeypatch):
    from results import api

    monkeypatch.setattr(api, "COMPARE_LIMIT", 2)
    url = "/api/v1/runs/daily_2026-11-02/compare/daily_2026-11-01/"
    body = api_client.get(url).json()
    assert len(body["regressions"]) == 2 and body["counts"]["regressions"] == 3
    page1 = api_client.get(f"{url}?kind=regressions").json()
    assert (page1["kind"], page1["count"]) == ("regressions", 3)
    assert (page1["page"], page1["pages"]) == (1, 2)
    assert [r["test_name"] for r in page1["results"]] == ["a.breaks", "b.x.t1"]
    assert page1["previous"] is None and page1["next"].endswith("kind=regressions&page=2")
    page2 = api_client.get(page1["next"]).json()
    assert [r["test_name"] for r in page2["results"]] == ["b.x.t2"] and page2["next"] is None
    for query, code in [("kind=bogus", "bad_kind"), ("kind=new&page=0", "bad_page"),
                        ("kind=new&page=x", "bad_page")]:  # fmt: skip
        resp = api_client.get(f"{url}?{query}")
        assert resp.status_code == 400 and resp.json()["error"] == code
    assert api_client.get(f"{url}?kind=new&page=2").status_code == 404
    # Found by the API's fuzz test: a page that is no number was ignored without kind;
    # an empty kind or page is as if not given, as everywhere in the API.
    refused = api_client.get(f"{url}?page=null")
    assert refused.status_code == 400 and refused.json()["error"] == "bad_page"
    assert api_client.get(f"{url}?kind=&page=").json()["counts"] == body["counts"]


def test_tree_answers_one_level_with_deltas(api_client, two_days, monkeypatch):
    body = api_client.get("/api/v1/runs/daily_latest/tree/").json()
    assert (body["run"], body["prefix"]) == ("daily_2026-11-02", "")
    assert body["compare"] == "daily_2026-11-01"  # the previous run by default
    nodes = {n["name"]: n for n in body["nodes"]}
    # a: a.breaks P->F and a.fixed F->P cancel out; a.gone left, a.new came: no change.
    assert nodes["a"] == {"name": "a", "path": "a.", "is_leaf": False,
                          "counts": {"P": 3, "F": 1}, "delta": {}, "total": 4}  # fmt: skip
    assert nodes["b"]["counts"] == {"M": 1, "E": 1} and nodes["b"]["delta"] == {
        "P": -2, "M": 1, "E": 1,
    }  # fmt: skip
    level = api_client.get("/api/v1/runs/daily_latest/tree/?prefix=b.x.&compare=").json()
    assert level["compare"] is None
    assert [(n["name"], n["is_leaf"], n["delta"]) for n in level["nodes"]] == [
        ("t1", True, {}), ("t2", True, {}),
    ]  # fmt: skip
    resp = api_client.get("/api/v1/runs/daily_latest/tree/?prefix=b.x")
    assert resp.status_code == 400 and resp.json()["error"] == "bad_prefix"
    resp = api_client.get("/api/v1/runs/daily_latest/tree/?compare=nope")
    assert resp.status_code == 404 and resp.json()["error"] == "no_such_run"
    from results import api

    monkeypatch.setattr(api, "TREE_PAGE_SIZE", 1)
    paged = api_client.get("/api/v1/runs/daily_latest/tree/?prefix=b.x.&page=2").json()
    assert [n["name"] for n in paged["nodes"]] == ["t2"] and paged["pages"] == 2


def test_schema_documents_compare_and_tree(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for path in ["/api/v1/runs/{name}/compare/{other}/", "/api/v1/runs/{name}/compare/",
                 "/api/v1/runs/{name}/tree/"]:  # fmt: skip
        assert "200" in paths[path]["get"]["responses"], path
    assert "regressions" in schema["components"]["schemas"]["CompareAnswer"]["properties"]


# --- history and flakiness ---------------------------------------------------------------------


def test_history_api(api_client):
    runs = history_days("PF-P")
    refresh_flaky("daily", k=2)
    result = result_in(runs[3])
    answer = api_client.get(f"/api/v1/results/{result.pk}/history/?n=3").json()
    assert answer["prefix"] == "daily"
    assert [(r["run"], r["status"], r["current"]) for r in answer["runs"]] == [
        ("daily_2026-11-02", "F", False),
        ("daily_2026-11-03", None, False),
        ("daily_2026-11-04", "P", True),
    ]
    assert answer["runs"][0]["result"] == result_in(runs[1]).pk
    assert answer["runs"][0]["run_date"] == "2026-11-02"
    assert answer["flaky"]["flips"] == 2 and answer["flaky"]["runs"] == 3
    default = api_client.get(f"/api/v1/results/{result.pk}/history/").json()
    assert len(default["runs"]) == 4


def test_history_api_refuses_a_bad_n(api_client):
    result = factories.result(factories.run("pr-1"), "a.test_x", "P")
    for bad in ("0", "101", "x"):
        resp = api_client.get(f"/api/v1/results/{result.pk}/history/?n={bad}")
        assert resp.status_code == 400
        assert resp.json()["error"] == "invalid" and "1 to 100" in resp.json()["detail"]
    answer = api_client.get(f"/api/v1/results/{result.pk}/history/").json()
    assert answer["prefix"] == "" and answer["flaky"] is None and len(answer["runs"]) == 1
    assert api_client.get("/api/v1/results/999999/history/").status_code == 404


def test_flaky_api_filters_by_prefix_and_project(api_client):
    flaky_days({"t.x": "PFPF"})
    refresh_flaky("daily", k=3)
    answer = api_client.get("/api/v1/flaky/?prefix=daily&project=proj").json()
    [row] = answer["results"]
    assert (row["test_name"], row["flips"], row["runs"], row["last_status"]) == ("t.x", 3, 4, "F")
    assert row["window_end"] == "daily_2026-11-04" and row["project"] == "proj"
    assert row["last_result_url"].endswith(f"/results/{row['last_result']}/")
    assert api_client.get("/api/v1/flaky/?project=nobody").json()["results"] == []
    assert api_client.post("/api/v1/flaky/", {}).status_code in (401, 403, 405)


def cut_multipart(boundary: str = "cutb", cut: int = 300) -> tuple[bytes, int]:
    """Two JSON files in one multipart body, cut in the middle of the second: what a client
    killed mid-upload sends. Returns (the bytes sent, the full body's length)."""

    def part(name: str) -> bytes:
        doc = (
            b'{"format": "assay-results/1", "results": ['
            + b", ".join(
                b'{"name": "%s.t%d", "status": "P"}' % (name.encode(), i) for i in range(20)
            )
            + b"]}"
        )
        return (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{name}.json"\r\nContent-Type: application/json\r\n\r\n'
            ).encode()
            + doc
            + b"\r\n"
        )

    run = f'--{boundary}\r\nContent-Disposition: form-data; name="run"\r\n\r\ncut\r\n'.encode()
    body = run + part("first") + part("second") + f"--{boundary}--\r\n".encode()
    return body[: len(body) - cut], len(body)


def post_cut(url: str, sent: bytes, length: int, headers: dict[str, str]) -> tuple[int, dict]:
    """POST `sent` announcing `length` bytes, then close our side, as a killed client does;
    the server's answer (status, JSON). A raw socket: no HTTP client sends a short body."""
    host, port = url.removeprefix("http://").split(":")
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            (
                f"POST /api/v1/imports/ HTTP/1.1\r\nHost: {host}\r\n{head}"
                "Content-Type: multipart/form-data; boundary=cutb\r\n"
                f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
            ).encode()
            + sent
        )
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    return status, json.loads(answer.split(b"\r\n\r\n", 1)[1])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("who", ["token", "staff session"])
def test_an_upload_cut_off_midway_imports_nothing(live_server, admin_user, who):
    """The body ends before its Content-Length, inside the second file: Django's parser would
    keep the first file; the import is refused whole, whichever parser read the body (DRF's
    for a token; Django's, through the CSRF check, for a staff session)."""
    if who == "token":
        headers = {"Authorization": f"Token {Token.objects.create(user=admin_user).key}"}
    else:
        client = Client()
        client.force_login(admin_user)
        csrf = "a" * 32
        session = client.cookies["sessionid"].value
        headers = {
            "Cookie": f"sessionid={session}; csrftoken={csrf}",
            "X-CSRFToken": csrf,
            "Referer": live_server.url + "/",
        }
    sent, length = cut_multipart()
    status, body = post_cut(live_server.url, sent, length, headers)
    assert status == 400, body
    assert body["error"] == "upload_cut_off"
    assert f"ended after {len(sent)} of its {length} bytes" in body["detail"]
    assert not TestRun.objects.exists() and not TestResult.objects.exists()


def test_the_same_upload_whole_is_imported(token_client):
    """The body of the test above, not cut: valid, so the refusal there is the cut's."""
    sent, length = cut_multipart(cut=0)
    assert len(sent) == length
    resp = token_client.generic(
        "POST", "/api/v1/imports/", sent, content_type="multipart/form-data; boundary=cutb"
    )
    assert resp.status_code == 201, resp.content
    assert TestResult.objects.filter(run__name="cut").count() == 40


def post_files(base: str, token: str, run: str, files: list[tuple[str, bytes]]) -> tuple[int, dict]:
    """A multipart import over real HTTP, as CI sends it: (status, JSON answer)."""
    import urllib.error
    import urllib.request

    from crashtest.harness.imports import multipart

    body, content_type = multipart({"run": run}, files)
    request = urllib.request.Request(  # noqa: S310 (the test server)
        f"{base}/api/v1/imports/", data=body, method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": content_type},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as answer:
        raw = answer.read()
        return answer.code, json.loads(raw) if raw.startswith(b"{") else {"raw": raw[:300]}


def get_json(url: str):
    import urllib.request

    with urllib.request.urlopen(url, timeout=60) as answer:  # noqa: S310 (the test server)
        return json.loads(answer.read())


def junit_file(tests: int) -> bytes:
    cases = "".join(f'<testcase classname="big.t" name="test_{i}"/>' for i in range(tests))
    return f'<testsuite name="big">{cases}</testsuite>'.encode()


@pytest.mark.django_db(transaction=True)
def test_a_small_import_lands_while_a_large_one_is_parsing(file_db_server, held_parse):
    """The large import is held in the middle of its parse (the only fake: a pause); the
    database, its lock, the server and both imports are real. The small one must neither
    wait for the parse nor fail with "database is locked"."""
    parsing, release = held_parse
    base, token = file_db_server
    big = in_thread(lambda: post_files(base, token, "big", [("big.xml", junit_file(5000))]))
    try:
        assert parsing.wait(timeout=120), "the large import never started its parse"
        status, body = post_files(base, token, "small", [("small.xml", JUNIT)])
        assert status == 201, body
        assert body["runs"][0]["run_counts"] == {"P": 1, "F": 1, "E": 1, "D": 1}
        assert get_json(f"{base}/api/v1/runs/small/")["total"] == 4  # committed, for all
        assert parsing.is_set() and not release.is_set()  # the large one is still parsing
    finally:
        release.set()
    status, body = big()
    assert status == 201, body
    assert body["runs"][0]["imported"] == 5000
    assert body["runs"][0]["run_counts"] == {"P": 5000}
    assert get_json(f"{base}/api/v1/runs/big/")["total"] == 5000


# --- history is append-only for CI -----------------------------------------------------------


def test_a_ci_token_cannot_change_a_valuable_run_and_staff_can(token_client, admin_client):
    def send(client, data=JUNIT):
        return client.post("/api/v1/imports/", {"file": upload("r.xml", data), "run": "rel-1"},
                           format="multipart")  # fmt: skip

    assert send(token_client).status_code == 201
    TestRun.objects.filter(name="rel-1").update(valuable=True)
    resp = send(token_client, JUNIT.replace(b'<skipped message="later"/>', b""))
    assert resp.status_code == 409, resp.content
    error, detail = resp.json()["error"], resp.json()["detail"]
    assert error == "valuable_run"
    assert "rel-1 is marked valuable, and this import would change 4 of its results" in detail
    run = TestRun.objects.get(name="rel-1")
    assert run.status_counts == {"P": 1, "F": 1, "E": 1, "D": 1} and run.imports.count() == 1
    more = JUNIT.replace(b'name="test_ok"', b'name="test_added"')
    # a new result with three changes: refused; new results only: allowed
    assert send(token_client, more).status_code == 409
    added = b'<testsuite><testcase classname="tests.test_c" name="test_new"/></testsuite>'
    assert send(token_client, added).status_code == 201
    resp = send(admin_client, JUNIT.replace(b'<skipped message="later"/>', b""))
    assert resp.status_code == 201, resp.content
    assert resp.json()["runs"][0]["reimported"] == 4


def test_a_recurring_run_dated_ahead_is_refused(token_client):
    resp = token_client.post("/api/v1/imports/",
                             {"file": upload("r.xml", JUNIT), "run": "daily_9999-12-31"},
                             format="multipart")  # fmt: skip
    assert resp.status_code == 400
    error, detail = resp.json()["error"], resp.json()["detail"]
    assert error == "run_date_ahead"
    assert "r.xml: daily_9999-12-31 is dated 9999-12-31, more than a day after today" in detail
    assert not TestRun.objects.exists()


def test_the_run_detail_lists_its_imports(token_client, api_client):
    for data in (JUNIT, JUNIT.replace(b"test_ok", b"test_fine")):
        token_client.post("/api/v1/imports/", {"file": upload("r.xml", data), "run": "r"},
                          format="multipart")  # fmt: skip
    body = api_client.get("/api/v1/runs/r/").json()
    assert body["imports_total"] == 2
    newest, first = body["imports"]
    assert (first["who"], first["source"], first["results"], first["new"]) == (
        "ci-bot", "r.xml", 4, 4)  # fmt: skip
    assert (newest["new"], newest["reimported"], newest["replaced_missing"]) == (1, 3, 0)
    assert "imports" not in api_client.get("/api/v1/runs/").json()["results"][0]


def test_every_import_of_a_run_pages_newest_first(token_client, api_client, client):
    from datetime import timedelta

    from django.utils import timezone

    from results.models import RunImport

    token_client.post("/api/v1/imports/", {"file": upload("r.xml", JUNIT), "run": "r"},
                      format="multipart")  # fmt: skip
    run = TestRun.objects.get(name="r")
    start = timezone.now() - timedelta(days=1)
    RunImport.objects.bulk_create(
        RunImport(
            run=run,
            at=start + timedelta(seconds=n),
            who=f"job-{n}",
            results=1,
            new=0,
            reimported=1,
            replaced_missing=0,
        )  # fmt: skip
        for n in range(120)
    )
    first = api_client.get("/api/v1/runs/r/imports/").json()
    assert first["count"] == 121 and len(first["results"]) == 100
    assert first["results"][0]["who"] == "ci-bot"  # the API's import, the newest
    assert [x["who"] for x in first["results"][1:3]] == ["job-119", "job-118"]
    second = api_client.get(first["next"]).json()
    assert [x["who"] for x in second["results"]][-2:] == ["job-1", "job-0"]
    assert len(second["results"]) == 21 and second["next"] is None
    assert api_client.get("/api/v1/runs/nope/imports/").status_code == 404
    # The run page shows the newest and links to the rest.
    page = client.get("/runs/r/").content.decode()
    assert "and 101 earlier imports" in page and 'href="/api/v1/runs/r/imports/"' in page


def test_a_long_log_is_stored_cut_with_its_size_and_downloaded_streamed(
    token_client, api_client, client, settings
):
    settings.ASSAY_MAX_LOG_BYTES = 2048
    log = "first line: what ran\n" + "é" * 5000 + "\nlast line: how it failed"
    doc = {"format": "assay-results/1", "results": [{"name": "t.long", "status": "F", "log": log}]}
    doc["results"].append({"name": "t.short", "status": "P", "log": "short"})
    files = {"file": upload("a.json", json.dumps(doc).encode()), "run": "logs"}
    resp = token_client.post("/api/v1/imports/", files, format="multipart")
    assert resp.status_code == 201, resp.json()
    long = TestResult.objects.get(test_name="t.long")
    full = len(log.encode())
    assert long.log_size == full and long.log_truncated
    assert long.log.startswith("first line: what ran\n")
    assert long.log.endswith("\nlast line: how it failed")
    note = next(line for line in long.log.splitlines() if line.startswith("[... "))
    kept = len(long.log.encode()) - len(note.encode()) - 2  # the head and tail, without the note
    assert note.startswith(f"[... {full - kept} bytes cut: this log had {full} bytes")
    assert len(long.log.encode()) < 2048 + 200

    detail = api_client.get(f"/api/v1/results/{long.pk}/").json()
    assert (detail["log_size"], detail["log_truncated"]) == (full, True)
    short = TestResult.objects.get(test_name="t.short")
    detail = api_client.get(f"/api/v1/results/{short.pk}/").json()
    assert (detail["log"], detail["log_size"], detail["log_truncated"]) == ("short", 5, False)

    download = api_client.get(f"/api/v1/results/{long.pk}/log/")
    assert download.status_code == 200 and download.streaming
    body = b"".join(download.streaming_content)
    assert body.decode() == long.log
    assert download["Content-Length"] == str(len(body))

    page = client.get(f"/results/{long.pk}/").content.decode()
    assert "stored cut to its head and tail" in page


# --- builds and series (issue 15): CI names runs after commits, not dates --------------------


def json_results(**statuses: str) -> bytes:
    results = [{"name": name.replace("_", ".", 1), "status": s} for name, s in statuses.items()]
    return json.dumps({"format": "assay-results/1", "results": results}).encode()


def import_build(client, name: str, started: str, data: bytes, **fields):
    """One CI build of series nightly, attributes as repeated attr=KEY=VALUE fields."""
    body = {
        "file": upload(f"{name}.json", data),
        "run": name,
        "series": "nightly",
        "branch": "main",
        "commit": name.removeprefix("nightly-") + "0" * 34,
        "build_url": f"https://ci.example.com/builds/{name}",
        "started_at": started,
        "attr": ["env=prod", "python=3.12"],
        **fields,
    }
    return client.post("/api/v1/imports/", body, format="multipart")


@pytest.fixture
def three_builds(token_client, django_capture_on_commit_callbacks):
    """Three builds named by commit, two of them on the same day, imported out of order:
    the series' order is their start time, not their names or when they arrived. The imports
    queue the series' flakiness job, as in production."""
    builds = [  # (name, started_at, t.flaky, t.broke)
        ("nightly-aaa111", "2026-11-01T08:00:00Z", "P", "P"),
        ("nightly-fff999", "2026-11-02T17:30:00+00:00", "P", "F"),
        ("nightly-ccc333", "2026-11-02T09:00:00Z", "F", "P"),
    ]
    for name, started, flaky, broke in builds:
        with django_capture_on_commit_callbacks(execute=True):
            data = json_results(t_flaky=flaky, t_broke=broke)
            resp = import_build(token_client, name, started, data)
        assert resp.status_code == 201, resp.content
    return ["nightly-aaa111", "nightly-ccc333", "nightly-fff999"]


def test_a_series_of_builds_has_neighbours_compare_history_and_flaky(
    token_client, three_builds, settings
):
    first, middle, last = three_builds
    detail = token_client.get(f"/api/v1/runs/{middle}/").json()
    assert detail["series"] == "nightly" and detail["branch"] == "main"
    assert detail["commit"] == "ccc333" + "0" * 34
    assert detail["build_url"] == "https://ci.example.com/builds/nightly-ccc333"
    assert detail["started_at"].startswith("2026-11-02T09:00:00")
    assert detail["attributes"] == {"env": "prod", "python": "3.12"}
    assert (detail["previous"], detail["next"]) == (first, last)
    assert token_client.get(f"/api/v1/runs/{first}/").json()["previous"] is None

    compare = token_client.get(f"/api/v1/runs/{last}/compare/").json()
    assert compare["other"] == middle
    assert compare["counts"]["regressions"] == 1
    assert [r["test_name"] for r in compare["regressions"]] == ["t.broke"]
    assert token_client.get(f"/api/v1/runs/{last}/tree/").json()["compare"] == middle

    result = TestResult.objects.get(run__name=last, test_name="t.flaky")
    history = token_client.get(f"/api/v1/results/{result.pk}/history/").json()
    assert history["series"] == "nightly"
    assert [(c["run"], c["status"]) for c in history["runs"]] == [
        (first, "P"), (middle, "F"), (last, "P"),
    ]  # fmt: skip

    settings.ASSAY_FLAKY_FLIPS = 2
    [job] = FlakinessJob.objects.filter(series="nightly", state=JobState.QUEUED)  # debounced
    assert run_job("results.FlakinessJob", job.pk) == "succeeded"
    flaky = token_client.get("/api/v1/flaky/?series=nightly").json()["results"]
    assert [(f["series"], f["test_name"], f["flips"]) for f in flaky] == [("nightly", "t.flaky", 2)]
    assert history_flaky(token_client, result) == 2


def history_flaky(client, result) -> int:
    return client.get(f"/api/v1/results/{result.pk}/history/").json()["flaky"]["flips"]


def test_runs_are_filtered_by_series_branch_commit_and_attribute(token_client, three_builds):
    other = import_build(
        token_client, "nightly-ddd444", "2026-11-03T08:00:00Z", json_results(t_x="P"),
        branch="release", attr=["env=staging"],
    )  # fmt: skip
    assert other.status_code == 201, other.content

    def names(query: str) -> list[str]:
        resp = token_client.get(f"/api/v1/runs/?{query}")
        assert resp.status_code == 200, resp.content
        return sorted(r["name"] for r in resp.json()["results"])

    assert names("series=nightly&branch=main&attr=env:prod") == sorted(three_builds)
    assert names("series=nightly&attr=env:staging") == ["nightly-ddd444"]
    assert names("branch=release") == ["nightly-ddd444"]
    assert names("commit=ccc333") == ["nightly-ccc333"]  # a short commit finds its run
    assert names("attr=env:prod&attr=python:3.12") == sorted(three_builds)
    assert names("series=weekly") == []
    for bad in ("env", "a b:c", "env:a\tb"):
        assert token_client.get(f"/api/v1/runs/?attr={bad}").json()["error"] == "bad_attribute"


def test_the_run_page_shows_the_build_and_its_neighbours(token_client, three_builds, client):
    first, middle, last = three_builds
    page = client.get(f"/runs/{middle}/").content.decode()
    assert f'href="/runs/{first}/"' in page and f'href="/runs/{last}/"' in page
    assert "ccc3330" in page and "https://ci.example.com/builds/nightly-ccc333" in page
    assert "env" in page and "prod" in page and "nightly" in page
    listing = client.get("/runs/?series=nightly&attr=env:prod").content.decode()
    assert all(name in listing for name in three_builds)


def test_explicit_fields_win_over_the_files_and_recurring_names_derive_a_series(token_client):
    result = {"name": "t.a", "status": "P", "start_time": "2026-11-01T06:00:00Z"}
    doc = {"format": "assay-results/1", "series": "from-file", "attributes": {"env": "file"},
           "results": [result]}  # fmt: skip
    resp = token_client.post(
        "/api/v1/imports/",
        {"file": upload("r.json", json.dumps(doc).encode()), "run": "build-1",
         "series": "explicit", "attr": ["env=api"]},
        format="multipart",
    )  # fmt: skip
    assert resp.status_code == 201, resp.content
    run = TestRun.objects.get(name="build-1")
    assert (run.series, run.attributes) == ("explicit", {"env": "api"})
    assert run.started_at.isoformat() == "2026-11-01T06:00:00+00:00"  # the earliest result

    resp = token_client.post(
        "/api/v1/imports/",
        {"file": upload("r.json", json_results(t_a="P")), "run": "daily_2026-11-05"},
        format="multipart",
    )  # fmt: skip
    assert resp.status_code == 201, resp.content
    daily = TestRun.objects.get(name="daily_2026-11-05")
    assert daily.series == "daily"
    assert daily.started_at.isoformat() == "2026-11-05T00:00:00+00:00"
    resp = token_client.post(
        "/api/v1/imports/",
        {"file": upload("r.json", json_results(t_b="P")), "run": "daily_latest"},
        format="multipart",
    )  # fmt: skip
    assert resp.json()["runs"][0]["name"] == "daily_2026-11-05"


def test_a_run_keeps_its_series(token_client):
    data = json_results(t_a="P")
    assert (
        import_build(token_client, "nightly-aaa111", "2026-11-01T08:00:00Z", data).status_code
        == 201
    )
    resp = import_build(token_client, "nightly-aaa111", "2026-11-01T08:00:00Z", data,
                        series="weekly")  # fmt: skip
    assert resp.status_code == 409, resp.content
    assert resp.json()["error"] == "series_mismatch"
    assert "nightly" in resp.json()["detail"] and "weekly" in resp.json()["detail"]
    assert TestRun.objects.get().series == "nightly"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("build_url", "not a url", "bad_build_url"),
        ("build_url", "javascript:alert(1)", "bad_build_url"),
        ("started_at", "yesterday", "bad_time"),
        ("ended_at", "2026-11-01T07:00:00Z", "bad_time"),  # before the start
        ("series", "night ly", "bad_series"),
        ("branch", "b" * 201, "bad_build"),
        ("commit", "abc\ndef", "bad_build"),
        ("attr", "no-equals-sign", "bad_attribute"),
        ("attr", "=empty-key", "bad_attribute"),
        ("attr", [f"k{i}=v" for i in range(51)], "bad_attribute"),
        ("attr", "1=a number first", "bad_attribute"),
    ],
)
def test_bad_build_values_are_refused_and_nothing_is_written(token_client, field, value, code):
    resp = import_build(
        token_client, "nightly-aaa111", "2026-11-01T08:00:00Z", json_results(t_a="P"),
        **{field: value},
    )  # fmt: skip
    assert resp.status_code == 400, resp.content
    assert resp.json()["error"] == code
    assert not TestRun.objects.exists() and not TestResult.objects.exists()


# --- triage: a muted test in the next build -------------------------------------------------

GREEN = JUNIT.replace(b'<failure message="assert 1 == 2">\nassert 1 == 2</failure>', b"").replace(
    b'<error message="boom">trace</error>\n', b""
)
MUTED_TEST = "tests.test_a.test_fail"


def _build(token_client, name: str, data: bytes) -> None:
    answer = token_client.post(
        "/api/v1/imports/", {"file": upload("r.xml", data), "run": name, "project": "db"},
        format="multipart",
    )  # fmt: skip
    assert answer.status_code == 201, answer.content


def _regressions(client, run: str = "daily_2026-11-02") -> tuple[set[str], dict]:
    body = client.get(f"/api/v1/runs/{run}/compare/daily_2026-11-01/").json()
    return {row["test_name"] for row in body["regressions"]}, body["counts"]


def test_a_test_muted_by_a_triager_is_no_regression_of_the_next_build(
    token_client, triager_client, smtp
):
    from results.services.notify import notify_run
    from tests.results.mail import contact, plain_of

    _build(token_client, "daily_2026-11-01", GREEN)
    _build(token_client, "daily_2026-11-02", JUNIT)
    assert _regressions(token_client)[0] == {MUTED_TEST, "tests.test_b.test_err"}

    answer = triager_client.post(
        "/api/v1/triage/",
        {"project": "db", "test_name": MUTED_TEST, "defect_type": "product_bug",
         "ticket": "https://bugs.example.org/123", "muted": True, "comment": "known, BUG-123"},
        format="json",
    )  # fmt: skip
    assert answer.status_code == 201, answer.content
    triage = answer.json()
    assert triage["muted_now"] is True and triage["target"] == "test"
    assert triage["created_by"] == "triager"
    assert [c["text"] for c in triage["comments"]] == ["known, BUG-123"]

    # The compare API (cached before the mute) leaves it out at once, and says so.
    names, counts = _regressions(token_client)
    assert names == {"tests.test_b.test_err"} and counts["regressions"] == 1
    assert counts["muted"] == 1

    # Pages: the run list and the run page keep the raw count and say what is muted.
    client = Client()
    assert "(1 muted)" in client.get("/runs/").content.decode()
    page = client.get("/runs/daily_2026-11-02/?status=F").content.decode()
    assert "(1 muted)" in page and 'class="tag mute"' in page
    compare = client.get("/runs/daily_2026-11-02/compare/daily_2026-11-01/").content.decode()
    assert MUTED_TEST not in compare and "1 muted test left out" in compare

    # E-mail: the contact hears of the error only.
    contact("db", "", "dev@example.com")
    summary = notify_run(TestRun.objects.get(name="daily_2026-11-02"))
    text = plain_of(smtp.to("dev@example.com"))
    assert "tests.test_b.test_err" in text and MUTED_TEST not in text
    assert summary.messages[0].tests == 1

    # The mute expires: the test counts again, without any job.
    patch = triager_client.patch(
        f"/api/v1/triage/{triage['id']}/", {"muted_until": "2020-01-01T00:00:00Z"}, format="json"
    )
    assert patch.status_code == 200 and patch.json()["muted_now"] is False
    names, counts = _regressions(token_client)
    assert MUTED_TEST in names and counts["muted"] == 0
    assert "muted)" not in client.get("/runs/").content.decode()


def test_a_muted_cluster_mutes_every_result_of_its_fingerprint(token_client, triager_client):
    _build(token_client, "daily_2026-11-01", GREEN)
    _build(token_client, "daily_2026-11-02", JUNIT)
    # The clusters helper fills fingerprints at import; here one is set by hand.
    failed = TestResult.objects.filter(test_name=MUTED_TEST, status="F")
    failed.update(fingerprint="0123456789abcdef")
    answer = triager_client.post(
        "/api/v1/triage/", {"fingerprint": "0123456789abcdef", "muted": True}, format="json"
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["target"] == "cluster"
    names, counts = _regressions(token_client)
    assert names == {"tests.test_b.test_err"} and counts["muted"] == 1


def test_setting_a_triage_again_changes_it_and_comments_accumulate(triager_client):
    factories.project("db")
    body = {"project": "db", "test_name": "t.x", "muted": True}
    first = triager_client.post("/api/v1/triage/", body, format="json")
    again = triager_client.post(
        "/api/v1/triage/", {**body, "defect_type": "infrastructure", "comment": "flaky runner"},
        format="json",
    )  # fmt: skip
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["defect_type"] == "infrastructure" and again.json()["muted"] is True
    pk = first.json()["id"]
    comment = triager_client.post(f"/api/v1/triage/{pk}/comments/", {"text": "ticket filed"})
    assert comment.status_code == 201 and comment.json()["author"] == "triager"
    listed = triager_client.get("/api/v1/triage/?muted=true").json()["results"]
    assert [t["id"] for t in listed] == [pk]
    assert [c["text"] for c in listed[0]["comments"]] == ["flaky runner", "ticket filed"]
    assert triager_client.delete(f"/api/v1/triage/{pk}/").status_code == 204
    assert triager_client.get("/api/v1/triage/").json()["results"] == []


def test_the_triage_list_filters_and_refuses_an_unknown_defect_type(triager_client):
    factories.project("db")
    factories.project("web")

    def triage(**body) -> int:
        answer = triager_client.post("/api/v1/triage/", body, format="json")
        assert answer.status_code == 201, answer.content
        return answer.json()["id"]

    bug = triage(project="db", test_name="t.x", defect_type="product_bug", muted=True)
    infra = triage(project="web", test_name="t.x", defect_type="infrastructure")
    cluster = triage(fingerprint="0123456789abcdef", muted=True)

    def listed(query: str) -> list[int]:
        answer = triager_client.get(f"/api/v1/triage/?{query}")
        assert answer.status_code == 200, answer.content
        return [t["id"] for t in answer.json()["results"]]

    assert listed("") == [cluster, infra, bug]  # newest change first
    assert listed("muted=true") == listed("muted=1") == [cluster, bug]
    assert listed("muted=false") == [cluster, infra, bug]
    assert listed("defect_type=infrastructure") == [infra]
    assert listed("project=db") == [bug]
    assert listed("test_name=t.x&muted=1") == [bug]
    assert listed("fingerprint=0123456789abcdef") == [cluster]
    assert listed("project=db&defect_type=infrastructure") == []
    refused = triager_client.get("/api/v1/triage/?defect_type=bad")
    assert refused.status_code == 400 and refused.json()["error"] == "bad_defect_type"


@pytest.mark.parametrize(
    "body, code",
    [
        ({"project": "nope", "test_name": "t.x"}, "unknown_project"),
        ({"project": "db"}, "bad_target"),
        ({"project": "db", "test_name": "t.x", "fingerprint": "0123456789abcdef"}, "bad_target"),
        ({"fingerprint": "xyz"}, "bad_fingerprint"),
        ({"project": "db", "test_name": "t.x", "ticket": "ftp://x"}, "bad_link"),
        ({"project": "db", "test_name": "t.x", "defect_type": "bad"}, "invalid"),
        ({"project": "db", "test_name": "t.x", "muted_until": "soon"}, "invalid"),
        ({"project": "db", "test_name": "t.x", "colour": "red"}, "unknown_field"),
    ],
)
def test_bad_triage_input_is_a_clear_400(triager_client, body, code):
    factories.project("db")
    answer = triager_client.post("/api/v1/triage/", body, format="json")
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"] == code and answer.json()["detail"]


def test_a_mute_until_the_calendars_edge_is_kept_not_a_500(triager_client):
    factories.project("db")
    answer = triager_client.post(
        "/api/v1/triage/",
        {"project": "db", "test_name": "t.x", "muted": True,
         "muted_until": "9999-12-31T23:59:59-14:00"},
        format="json",
    )  # fmt: skip
    assert answer.status_code == 201, answer.content
    assert answer.json()["muted_now"] is True


def test_anonymous_and_ci_cannot_triage(api_client, token_client):
    factories.project("db")
    body = {"project": "db", "test_name": "t.x", "muted": True}
    assert api_client.post("/api/v1/triage/", body, format="json").status_code in (401, 403)
    refused = token_client.post("/api/v1/triage/", body, format="json")
    assert refused.status_code == 403 and "triage" in refused.json()["detail"]
    assert api_client.get("/api/v1/triage/").status_code == 200  # reading is public


def test_run_clusters_and_a_cluster_across_runs(client):
    import_junit("build-1", cluster_junit([3, 17, 5, 6, 7, 8, 9, 10, 11]))
    import_junit("build-2", cluster_junit([1, 2, 3, 4, 5, 6, 7, 8, 99]))
    body = client.get("/api/v1/runs/build-2/clusters/").json()
    top = body["clusters"][0]
    assert top["count"] == 9 and top["normalized"] == "AssertionError: assert <n> == <n>"
    assert top["new"] is False and top["earlier_runs"] == 1
    assert len(body["clusters"]) == 3
    detail = client.get(f"/api/v1/clusters/{top['fingerprint']}/").json()
    assert [r["run"] for r in detail["runs"]] == ["build-2", "build-1"]
    assert detail["runs"][0]["count"] == 9
    assert detail["tests"] == 9
    resp = client.get("/api/v1/clusters/zz/")
    assert resp.status_code in (400, 404)


# --- series and their trends -------------------------------------------------------------------


def test_series_list_and_a_series_trend(api_client):
    from tests.results.factories import NIGHTLY_DURATIONS, NIGHTLY_RATES, nightly

    runs = nightly()
    listed = api_client.get("/api/v1/series/").json()
    assert [(s["name"], s["runs"]) for s in listed] == [("nightly", 4)]
    latest = listed[0]["latest"]
    assert latest["name"] == "build-4" and latest["counts"] == {"P": 1, "F": 1, "E": 1, "D": 1}
    assert latest["pass_rate"] == pytest.approx(1 / 3) and latest["duration"] == 43.0
    assert listed[0]["url"].endswith("/series/nightly/")
    assert listed[0]["api_url"].endswith("/api/v1/series/nightly/")

    trend = api_client.get("/api/v1/series/nightly/").json()
    assert trend["name"] == "nightly" and trend["window"] == 30
    points = trend["points"]
    assert [p["name"] for p in points] == [r.name for r in runs]  # oldest first
    assert [p["pass_rate"] for p in points] == pytest.approx(NIGHTLY_RATES)
    assert [p["duration"] for p in points] == pytest.approx(NIGHTLY_DURATIONS)
    assert points[0]["branch"] == "main" and points[0]["commit"] == "abc0"
    assert points[1]["counts"] == {"P": 1, "F": 2, "D": 1} and points[1]["total"] == 4
    assert points[0]["url"].endswith("/runs/build-1/")
    slow = trend["slowest"][0]
    assert (slow["test_name"], slow["median_duration"], slow["runs"]) == ("t.slow", 25.0, 4)
    assert slow["result"] == runs[3].results.get(test_name="t.slow").pk
    failing = trend["failing"][0]
    assert (failing["test_name"], failing["failures"], failing["runs"]) == ("t.flaky", 3, 3)
    assert failing["failure_rate"] == 1.0
    two = api_client.get("/api/v1/series/nightly/?runs=2").json()
    assert [p["name"] for p in two["points"]] == ["build-3", "build-4"] and two["window"] == 2


def test_series_bad_input(api_client):
    from tests.results.factories import nightly

    nightly()
    resp = api_client.get("/api/v1/series/nightly/?runs=1")
    assert resp.status_code == 400 and resp.json()["error"] == "bad_runs"
    assert "from 2 to 500" in resp.json()["detail"]
    missing = api_client.get("/api/v1/series/nosuch/")
    assert missing.status_code == 404 and missing.json()["error"] == "no_such_series"
    assert api_client.get("/api/v1/series/").status_code == 200


@pytest.mark.parametrize(
    ("name", "data", "line", "says"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS]
)  # noqa: E501
def test_bad_input_is_a_400_naming_the_file_and_line_and_nothing_is_written(
    token_client, name, data, line, says
):
    files = [upload("good.xml", JUNIT), upload(name, data)]
    resp = token_client.post("/api/v1/imports/", {"file": files, "run": "r"}, format="multipart")
    assert resp.status_code == 400
    body = resp.json()
    where = f"{name}:{line}: " if line else f"{name}: "
    assert body["error"] == "bad_file"
    assert body["detail"].startswith(where) and says in body["detail"], body["detail"]
    assert not TestRun.objects.exists() and not TestResult.objects.exists()
