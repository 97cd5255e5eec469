"""The REST API of querygen: submit runs, read runs, groups, findings and pairs, set a group's
status, replay a finding."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import include, path
from django.utils import timezone
from django_q.models import OrmQ

from core import jobs
from core.models import JobState
from querygen.models import Finding, Group, GroupStatus, Pair, QuerygenRun
from querygen.services import runs

pytestmark = pytest.mark.django_db

RUNS = "/api/v1/querygen/runs/"
GOOD = {"sut": "qg-duckdb", "reference": "qg-sqlite", "budget_queries": 10}


def submit(client, body):
    return client.post(RUNS, body, format="json")


@pytest.fixture
def found(qg_engines) -> QuerygenRun:
    """A real small run that finds several groups (seed 10: an error, contents)."""
    run = runs.submit_run(
        sut="qg-duckdb",
        reference="qg-sqlite",
        budget_queries=20,
        seed=10,
        timeout=1.0,
        profile={"data": "dataset"},
    )
    assert jobs.run_job("querygen.QuerygenRun", run.pk) == "succeeded"
    run.refresh_from_db()
    assert run.findings >= 2
    return run


def make_group(run: QuerygenRun, signature: str, **fields) -> Group:
    now = timezone.now()
    defaults = {"kind": "content", "shape": "SELECT", "title": f"content: {signature}"}
    defaults |= {"first_seen": now, "last_seen": now, "first_run": run, "last_run": run}
    return Group.objects.create(scope=run.scope, signature=signature, **(defaults | fields))


def make_finding(run: QuerygenRun, group: Group, index: int, kind: str = "content") -> Finding:
    return Finding.objects.create(
        group=group, run=run, seed=run.seed, index=index, kind=kind, raw_signature=f"r{index}"
    )


@pytest.fixture
def rows(qg_engines) -> dict:
    """Runs, groups and findings written directly: for filters and status changes."""
    duck, lite = qg_engines
    pair = Pair.objects.create(name="nightly", sut=duck, reference=lite, budget_queries=50)
    done = QuerygenRun.objects.create(
        sut=duck, reference=lite, seed=1, budget_queries=10, state=JobState.SUCCEEDED, pair=pair
    )
    queued = QuerygenRun.objects.create(sut=duck, oracle="tlp", seed=2, budget_seconds=60)
    old = timezone.now() - timedelta(days=2)
    a = make_group(done, "aaaa", count=7, last_seen=old)
    b = make_group(done, "bbbb", kind="error", count=2, status=GroupStatus.KNOWN,
                   link="https://bugs.example.org/1")  # fmt: skip
    make_finding(done, a, 1)
    make_finding(done, a, 2)
    make_finding(done, b, 3, kind="error")
    return {"pair": pair, "done": done, "queued": queued, "a": a, "b": b}


# --- submitting ---------------------------------------------------------------------------------


def test_submit_answers_202_with_the_run(token_client, qg_engines):
    answer = submit(token_client, {**GOOD, "seed": 5, "label": "ci", "profile": {}})
    assert answer.status_code == 202, answer.content
    body = answer.json()
    run = QuerygenRun.objects.get()
    assert body["id"] == run.pk and answer["Location"] == body["api_url"]
    assert answer["Location"].endswith(f"/api/v1/querygen/runs/{run.pk}/")
    assert body["url"].endswith(f"/querygen/runs/{run.pk}/")
    assert body["state"] == "queued" and body["seed"] == 5 and body["label"] == "ci"
    assert body["scope"] == "differential qg-duckdb vs qg-sqlite"
    assert body["sut"] == "qg-duckdb" and body["reference"] == "qg-sqlite"
    assert body["counts"]["queries"] == 0 and body["results_url"] is None


def test_budget_minutes_become_seconds(token_client, qg_engines):
    body = submit(
        token_client, {"sut": "qg-duckdb", "oracle": "norec", "budget_minutes": 1.5}
    ).json()
    assert body["budget_seconds"] == 90 and body["budget_queries"] is None
    assert body["oracle"] == "norec" and body["reference"] is None
    assert body["scope"] == "norec on qg-duckdb"


@pytest.mark.parametrize(
    ("change", "error", "detail"),
    [
        ({"sut": "ghost"}, "engine_not_found", "No engine named 'ghost'"),
        ({"reference": "ghost"}, "engine_not_found", "for the reference"),
        ({"budget_queries": None}, "budget_required", "needs a budget"),
        ({"budget_queries": 0}, "bad_budget_queries", "budget_queries"),
        ({"profile": {"max_joins_typo": 2}}, "bad_profile", "unknown setting 'max_joins_typo'"),
        ({"profile": [1]}, "bad_profile", "mapping"),
        ({"reference": None}, "reference_required", "needs a reference engine"),
        ({"oracle": "tlp"}, "reference_unused", "give no reference"),
        ({"oracle": "sqlancer"}, "invalid", "oracle"),
        ({"budget_seconds": 60, "budget_minutes": 1}, "budget_twice", "not both"),
        ({"budget_minutes": 0}, "invalid", "budget_minutes"),
        ({"timeout": 0}, "bad_timeout", "timeout"),
        ({"seed": -1}, "bad_seed", "seed"),
        ({"budget": 10}, "unknown_field", "'budget'"),
        ({"sut_python": "python3"}, "bad_python", "not an absolute path"),
        ({"sut_python": "NOT_EXECUTABLE"}, "bad_python", "not an executable file"),
    ],
)
def test_bad_submissions_are_400_and_create_nothing(
    token_client, qg_engines, tmp_path, change, error, detail
):
    if "sut_python" in change:  # a private build is staff's: the token is a staff user's here
        from django.contrib.auth import get_user_model

        get_user_model().objects.filter(username="ci-bot").update(is_staff=True)
    if change.get("sut_python") == "NOT_EXECUTABLE":
        plain = tmp_path / "python"
        plain.write_text("#!/bin/sh\n")
        plain.chmod(0o644)
        change = {"sut_python": str(plain)}
    answer = submit(token_client, {**GOOD, **change})
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"] == error, answer.json()
    assert detail in answer.json()["detail"]
    assert not QuerygenRun.objects.exists() and not OrmQ.objects.exists()


def test_only_staff_run_a_private_build(token_client, qg_engines):
    """The interpreter is a program the worker runs: a CI token may not name one."""
    answer = submit(token_client, {**GOOD, "sut_python": "/bin/true"})
    assert answer.status_code == 403, answer.content
    assert "private_builds" in answer.json()["detail"]
    assert not QuerygenRun.objects.exists()


def test_a_body_that_is_not_an_object_is_a_400(token_client, qg_engines):
    answer = submit(token_client, ["sut"])
    assert answer.status_code == 400 and answer.json()["error"] == "bad_request"
    assert not QuerygenRun.objects.exists()


def test_writes_need_a_token_or_staff(api_client, rows):
    assert submit(api_client, GOOD).status_code in (401, 403)
    assert QuerygenRun.objects.count() == 2
    group = rows["a"]
    for answer in (
        api_client.patch(f"/api/v1/querygen/groups/{group.pk}/", {"status": "ignored"}),
        api_client.post(f"/api/v1/querygen/groups/{group.pk}/status/", {"status": "ignored"}),
        api_client.post(f"/api/v1/querygen/findings/{group.samples.first().pk}/replay/"),
    ):
        assert answer.status_code in (401, 403)
        assert set(answer.json()) == {"error", "detail"}
    group.refresh_from_db()
    assert group.status == GroupStatus.NEW
    # reads are open
    assert api_client.get(RUNS).status_code == 200


# --- reading ------------------------------------------------------------------------------------


def test_runs_filter_by_state_pair_and_oracle(api_client, rows):
    def ids(query: str) -> list[int]:
        answer = api_client.get(RUNS + query)
        assert answer.status_code == 200, answer.content
        return [r["id"] for r in answer.json()["results"]]

    done, queued = rows["done"].pk, rows["queued"].pk
    assert ids("") == [queued, done]
    assert ids("?state=succeeded") == [done]
    assert ids(f"?pair={rows['pair'].pk}") == [done]
    assert ids("?oracle=tlp") == [queued]
    listed = api_client.get(RUNS).json()["results"][1]
    assert listed["pair"] == "nightly" and listed["progress"]["done"] == 0


def test_filters_by_id_find_nothing_for_an_unknown_id_and_refuse_a_bad_word(api_client, rows):
    """Found by the API's fuzz test: ?group=0 (well-formed, no such group) answered 400;
    ?enabled=yes listed every pair as if not given, and ?enabled=%25j made a 500."""
    huge = 10**30  # past any id column: nothing, not SQLite's OverflowError
    for url in ["/api/v1/querygen/findings/?group=0", f"{RUNS}?pair=99999", f"{RUNS}?pair={huge}"]:
        answer = api_client.get(url)
        assert answer.status_code == 200 and answer.json()["results"] == [], url
    assert api_client.get("/api/v1/querygen/findings/?group=x").status_code == 400
    pairs = "/api/v1/querygen/pairs/"
    assert len(api_client.get(f"{pairs}?enabled=true").json()["results"]) == 1
    assert api_client.get(f"{pairs}?enabled=false").json()["results"] == []
    assert len(api_client.get(f"{pairs}?enabled=").json()["results"]) == 1  # as if not given
    for word in ["yes", "null", "%25j"]:
        refused = api_client.get(f"{pairs}?enabled={word}")
        assert refused.status_code == 400 and "use true or false" in refused.json()["detail"]


def test_a_run_without_pair_or_reference_shows_them_as_null(api_client, rows):
    """The schema said strings: a one-engine run's reference and a run without a pair are
    null (found by the fuzz test's response checks)."""
    queued = api_client.get(f"{RUNS}{rows['queued'].pk}/").json()
    assert queued["pair"] is None and queued["reference"] is None


def test_groups_filter_and_order(api_client, rows):
    def signatures(query: str) -> list[str]:
        answer = api_client.get("/api/v1/querygen/groups/" + query)
        assert answer.status_code == 200, answer.content
        return [g["signature"] for g in answer.json()["results"]]

    assert signatures("") == ["bbbb", "aaaa"]  # most recently seen first
    assert signatures("?ordering=last_seen") == ["aaaa", "bbbb"]
    assert signatures("?ordering=-count") == ["aaaa", "bbbb"]
    assert signatures("?ordering=count") == ["bbbb", "aaaa"]
    assert signatures("?status=known") == ["bbbb"]
    assert signatures("?kind=content") == ["aaaa"]
    assert signatures(f"?scope={rows['done'].scope}") == ["bbbb", "aaaa"]
    assert signatures("?scope=tlp+on+x") == []
    bad = api_client.get("/api/v1/querygen/groups/?status=open")
    assert bad.status_code == 400 and "status" in bad.json()["detail"]


def test_findings_filter_and_group_samples(api_client, rows):
    group = rows["a"]
    listed = api_client.get(f"/api/v1/querygen/findings/?group={group.pk}").json()["results"]
    assert sorted(f["index"] for f in listed) == [1, 2]
    assert [f["index"] for f in api_client.get(
        f"/api/v1/querygen/findings/?run={rows['done'].pk}&kind=error"
    ).json()["results"]] == [3]  # fmt: skip
    detail = api_client.get(f"/api/v1/querygen/groups/{group.pk}/").json()
    assert [s["index"] for s in detail["samples"]] == [1, 2]  # the kept ones: the first
    assert detail["url"].endswith(f"/querygen/groups/{group.pk}/")
    one = api_client.get(listed[0]["api_url"]).json()
    assert {"reduced_query", "errors", "results", "raw_signature"} <= set(one)
    assert api_client.get("/api/v1/querygen/findings/99999/").status_code == 404


def test_pairs_are_read_only(api_client, token_client, rows):
    listed = api_client.get("/api/v1/querygen/pairs/").json()["results"]
    assert [p["name"] for p in listed] == ["nightly"]
    assert listed[0]["scope"] == "differential qg-duckdb vs qg-sqlite"
    one = api_client.get(f"/api/v1/querygen/pairs/{rows['pair'].pk}/").json()
    assert one["budget_queries"] == 50 and one["runs_url"].endswith(f"?pair={rows['pair'].pk}")
    assert token_client.post("/api/v1/querygen/pairs/", {"name": "x"}).status_code == 405


# --- group status -------------------------------------------------------------------------------


def test_set_a_groups_status(triager_client, token_client, rows):
    group = rows["a"]
    url = f"/api/v1/querygen/groups/{group.pk}/"
    ci = token_client.patch(url, {"status": "ignored"}, format="json")
    assert ci.status_code == 403 and "triage" in ci.json()["detail"]  # a CI token does not triage
    refused = triager_client.patch(url, {"status": "known"}, format="json")
    assert refused.status_code == 400 and refused.json()["error"] == "link_required"
    group.refresh_from_db()
    assert group.status == GroupStatus.NEW

    known = triager_client.patch(
        url, {"status": "known", "link": "https://bugs.example.org/7", "note": "dup"},
        format="json",
    )  # fmt: skip
    assert known.status_code == 200, known.content
    assert known.json()["status"] == "known" and known.json()["note"] == "dup"
    group.refresh_from_db()
    assert (group.status, group.link) == ("known", "https://bugs.example.org/7")

    ignored = triager_client.post(url + "status/", {"status": "ignored"}, format="json")
    assert ignored.status_code == 200 and ignored.json()["status"] == "ignored"
    # a note alone keeps the status
    noted = triager_client.patch(url, {"note": "seen on 1.2"}, format="json").json()
    assert noted["status"] == "ignored" and noted["note"] == "seen on 1.2"

    for body, error in [
        ({"status": "open"}, "invalid"),
        ({"link": "ftp://x"}, "bad_link"),
        ({"title": "renamed"}, "unknown_field"),
    ]:
        answer = triager_client.patch(url, body, format="json")
        assert answer.status_code == 400 and answer.json()["error"] == error, answer.json()
    group.refresh_from_db()
    assert group.status == "ignored" and group.title == "content: aaaa"


# --- a real run: its report, its findings, a replay ---------------------------------------------


def test_a_real_runs_detail_and_replay(api_client, token_client, triager_client, found):
    detail = api_client.get(f"{RUNS}{found.pk}/").json()
    assert detail["state"] == "succeeded" and detail["counts"]["queries"] == 20
    assert detail["counts"]["findings"] == found.findings
    assert detail["report"].startswith(f"querygen run {found.pk}: differential")
    assert detail["sut_version"].startswith("DuckDB") and "SQLite" in detail["reference_version"]
    assert detail["progress"]["done"] == 20 and detail["progress"]["percent"] == 100.0
    assert detail["results_run"] == f"querygen-custom_{found.pk}"
    assert detail["results_url"].endswith(f"/api/v1/runs/{detail['results_run']}/")
    assert api_client.get(detail["results_url"]).status_code == 200

    findings = api_client.get(f"/api/v1/querygen/findings/?run={found.pk}").json()["results"]
    assert len(findings) == found.findings
    finding = findings[0]
    url = f"/api/v1/querygen/findings/{finding['id']}/replay/"
    assert token_client.post(url, {}, format="json").status_code == 403  # CI does not triage
    replay = triager_client.post(url, {}, format="json")
    assert replay.status_code == 200, replay.content
    body = replay.json()
    assert body["reproduced"] is True and body["kind"] == finding["kind"]
    assert body["which"] in ("reduced", "original") and body["sql"]
    original = triager_client.post(
        f"/api/v1/querygen/findings/{finding['id']}/replay/", {"which": "original"}, format="json"
    ).json()
    assert original["which"] == "original" and original["reproduced"] is True
    bad = triager_client.post(
        f"/api/v1/querygen/findings/{finding['id']}/replay/", {"which": "both"}, format="json"
    )
    assert bad.status_code == 400 and "which" in bad.json()["detail"]

    groups = api_client.get("/api/v1/querygen/groups/?ordering=-count").json()["results"]
    assert sum(g["count"] for g in groups) == found.findings
    assert all(g["scope"] == found.scope for g in groups)


# --- the schema ---------------------------------------------------------------------------------


def test_schema_is_served_with_the_querygen_paths(api_client):
    answer = api_client.get("/api/schema/?format=json")
    assert answer.status_code == 200
    paths = answer.json()["paths"]
    assert "202" in paths["/api/v1/querygen/runs/"]["post"]["responses"]
    for name in ["groups/{id}/status/", "findings/{id}/replay/", "pairs/{id}/", "runs/{id}/"]:
        assert f"/api/v1/querygen/{name}" in paths, name
    assert "patch" in paths["/api/v1/querygen/groups/{id}/"]


def test_schema_of_querygen_has_no_warnings():
    from drf_spectacular.drainage import GENERATOR_STATS, reset_generator_stats
    from drf_spectacular.generators import SchemaGenerator

    reset_generator_stats()
    generator = SchemaGenerator(patterns=[path("api/v1/querygen/", include("querygen.api_urls"))])
    generator.get_schema(request=None, public=True)
    assert not dict(GENERATOR_STATS._warn_cache) and not dict(GENERATOR_STATS._error_cache)
    # and beside the other apps: no component of querygen's shares a name with theirs
    reset_generator_stats()
    SchemaGenerator().get_schema(request=None, public=True)
    ours = [w for w in GENERATOR_STATS._warn_cache if "querygen" in w]
    assert not ours, ours


def test_a_running_run_shows_its_findings_as_they_are_recorded(api_client, rows):
    running = rows["queued"]
    QuerygenRun.objects.filter(pk=running.pk).update(state=JobState.RUNNING)
    group = make_group(running, "cccc")
    make_finding(running, group, 5)
    make_finding(running, group, 6)
    listed = {r["id"]: r for r in api_client.get("/api/v1/querygen/runs/").json()["results"]}
    assert listed[running.pk]["findings"] == 2  # the row's own field is written at the end
    detail = api_client.get(f"/api/v1/querygen/runs/{running.pk}/").json()
    assert detail["counts"]["findings"] == 2


# --- several groups at once ---------------------------------------------------------------------

BULK = "/api/v1/querygen/groups/bulk/"


def test_bulk_marks_groups(triager_client, rows):
    a, b = rows["a"], rows["b"]
    answer = triager_client.post(
        BULK, {"ids": [a.pk, b.pk], "action": "fixed", "note": "fixed in 1.3"}, format="json"
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["action"], body["count"], body["detail"]) == ("fixed", 2, "Marked 2 groups fixed.")
    assert [(g["id"], g["status"]) for g in body["groups"]] == [(a.pk, "fixed"), (b.pk, "fixed")]
    a.refresh_from_db()
    assert a.note == "fixed in 1.3"

    known = triager_client.post(
        BULK, {"ids": [a.pk], "action": "known", "link": "https://bugs.example.org/3"},
        format="json",
    ).json()  # fmt: skip
    assert known["groups"][0]["status"] == "known"
    assert known["groups"][0]["link"] == "https://bugs.example.org/3"


def test_bulk_merges_into_the_first_id(triager_client, api_client, rows):
    a, b = rows["a"], rows["b"]
    answer = triager_client.post(BULK, {"ids": [b.pk, a.pk], "action": "merge"}, format="json")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["count"] == 1 and body["detail"] == f"Merged group {a.pk} into group {b.pk}."
    target, merged = body["groups"]
    assert (target["id"], target["count"], target["merged_into"]) == (b.pk, 9, None)
    assert (merged["id"], merged["count"], merged["merged_into"]) == (a.pk, 0, b.pk)
    # The list leaves the merged group out; its own URL still answers, saying where it went.
    listed = api_client.get("/api/v1/querygen/groups/").json()["results"]
    assert [g["id"] for g in listed] == [b.pk]
    detail = api_client.get(f"/api/v1/querygen/groups/{a.pk}/").json()
    assert detail["merged_into"] == b.pk and detail["samples"] == []
    assert api_client.get(f"/api/v1/querygen/findings/?group={b.pk}").json()["count"] == 3


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"ids": [], "action": "fixed"}, "no_groups"),
        ({"ids": ["A"], "action": "close"}, "invalid"),
        ({"ids": ["A"]}, "invalid"),
        ({"ids": "A", "action": "fixed"}, "invalid"),
        ({"ids": ["A"], "action": "known"}, "link_required"),
        ({"ids": ["A"], "action": "ignored", "link": "ftp://x"}, "bad_link"),
        ({"ids": ["A"], "action": "merge"}, "merge_needs_two"),
        ({"ids": ["A", "T"], "action": "merge"}, "merge_scopes"),
        ({"ids": ["A"], "action": "fixed", "status": "x"}, "unknown_field"),
        ({"ids": [10**30], "action": "fixed"}, "invalid"),  # past a 64-bit id: was a 500
    ],
)
def test_bad_bulk_bodies_are_400_and_change_nothing(triager_client, rows, body, error):
    tlp = make_group(rows["queued"], "tttt")
    named = {"A": rows["a"].pk, "T": tlp.pk}
    ids = body.get("ids")
    if isinstance(ids, list):
        body = {**body, "ids": [named.get(i, i) for i in ids]}
    elif ids is not None:
        body = {**body, "ids": named[ids]}
    answer = triager_client.post(BULK, body, format="json")
    assert answer.status_code == 400 and answer.json()["error"] == error, answer.json()
    assert set(answer.json()) == {"error", "detail"}
    assert not Group.objects.exclude(merged_into=None).exists()
    assert set(Group.objects.values_list("pk", "status")) == {
        (rows["a"].pk, "new"), (rows["b"].pk, "known"), (tlp.pk, "new")
    }  # fmt: skip


def test_bulk_with_unknown_ids_is_404(triager_client, rows):
    answer = triager_client.post(
        BULK, {"ids": [rows["a"].pk, 999999], "action": "ignored"}, format="json"
    )
    assert answer.status_code == 404
    assert answer.json() == {"error": "not_found", "detail": "No group 999999."}
    rows["a"].refresh_from_db()
    assert rows["a"].status == "new"


def test_bulk_needs_a_token_or_staff(api_client, rows, django_user_model):
    body = {"ids": [rows["a"].pk, rows["b"].pk], "action": "merge"}
    anonymous = api_client.post(BULK, body, format="json")
    assert anonymous.status_code in (401, 403) and set(anonymous.json()) == {"error", "detail"}
    api_client.force_login(django_user_model.objects.create_user("reader", password="pw"))
    assert api_client.post(BULK, body, format="json").status_code == 403
    assert not Group.objects.exclude(merged_into=None).exists()
    api_client.force_login(
        django_user_model.objects.create_user("qa", password="pw", is_staff=True)
    )
    assert api_client.post(BULK, body, format="json").status_code == 200


def test_schema_has_the_bulk_endpoint(api_client):
    paths = api_client.get("/api/schema/?format=json").json()["paths"]
    bulk = paths["/api/v1/querygen/groups/bulk/"]["post"]
    assert "200" in bulk["responses"] and "requestBody" in bulk
