"""The admin of querygen: pairs (checked like a run, started now), runs and findings (read
only), groups (status, ignore and reopen), known issues (the pattern must compile)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from core.models import JobState
from querygen.models import Finding, Group, GroupStatus, KnownIssue, Pair, QuerygenRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(qg_engines) -> Pair:
    duck, lite = qg_engines
    return Pair.objects.create(name="duck-vs-lite", sut=duck, reference=lite, budget_queries=30)


@pytest.fixture
def run(pair) -> QuerygenRun:
    return QuerygenRun.objects.create(
        sut=pair.sut, reference=pair.reference, seed=4, budget_queries=30, pair=pair,
        state=JobState.SUCCEEDED, queries=30, findings=1,
    )  # fmt: skip


@pytest.fixture
def group(run) -> Group:
    now = timezone.now()
    group = Group.objects.create(
        scope=run.scope, signature="abcd1234", kind="content", shape="SELECT", title="content: x",
        first_seen=now, last_seen=now, first_run=run, last_run=run, count=1,
    )  # fmt: skip
    Finding.objects.create(group=group, run=run, seed=4, index=9, kind="content", raw_signature="r")
    return group


def pair_form(qg_engines, **change) -> dict:
    duck, lite = qg_engines
    data = {
        "name": "p", "sut": duck.pk, "reference": lite.pk, "oracle": "differential",
        "sut_python": "", "profile": "{}", "budget_queries": "40", "budget_seconds": "",
        "timeout": "2.0", "max_rows": "10000", "every_minutes": "60", "enabled": "on",
        "description": "",
    }  # fmt: skip
    return {**data, **change}


def test_pages_render(admin_client, group):
    run = group.first_run
    listing = admin_client.get("/admin/querygen/pair/").content.decode()
    assert "duck-vs-lite" in listing and "qg-duckdb" in listing and "Start a run now" in listing
    runs = admin_client.get("/admin/querygen/querygenrun/?state__exact=succeeded").content.decode()
    assert "differential qg-duckdb vs qg-sqlite" in runs and f"/querygen/runs/{run.pk}/" in runs
    assert admin_client.get(f"/admin/querygen/querygenrun/{run.pk}/change/").status_code == 200
    assert admin_client.get("/admin/querygen/querygenrun/add/").status_code == 403
    groups = admin_client.get("/admin/querygen/group/?status__exact=new").content.decode()
    assert "abcd1234" in groups and "Mark ignored" in groups
    assert admin_client.get(f"/admin/querygen/group/{group.pk}/change/").status_code == 200
    findings = admin_client.get("/admin/querygen/finding/?kind=content").content.decode()
    assert "content" in findings
    finding = group.samples.get()
    assert admin_client.get(f"/admin/querygen/finding/{finding.pk}/change/").status_code == 200
    assert admin_client.get("/admin/querygen/finding/add/").status_code == 403
    assert admin_client.get("/admin/querygen/knownissue/add/").status_code == 200


def test_start_a_run_now(admin_client, pair):
    answer = admin_client.post(
        "/admin/querygen/pair/", {"action": "start_now", "_selected_action": [pair.pk]}, follow=True
    )
    run = QuerygenRun.objects.get()
    assert f"pair duck-vs-lite: run {run.pk} queued" in answer.content.decode().lower()
    assert run.pair == pair and run.state == JobState.QUEUED and run.budget_queries == 30


def test_a_pair_that_cannot_run_is_refused(admin_client, qg_engines):
    refused = admin_client.post("/admin/querygen/pair/add/", pair_form(qg_engines, reference=""))
    assert refused.status_code == 200
    assert "The differential oracle needs a reference engine" in refused.content.decode()
    no_budget = admin_client.post(
        "/admin/querygen/pair/add/", pair_form(qg_engines, budget_queries="")
    )
    assert "A run needs a budget" in no_budget.content.decode()
    assert not Pair.objects.exists()
    made = admin_client.post("/admin/querygen/pair/add/", pair_form(qg_engines))
    assert made.status_code == 302 and Pair.objects.get().name == "p"


def test_group_status_in_the_form_and_by_actions(admin_client, group):
    url = f"/admin/querygen/group/{group.pk}/change/"
    refused = admin_client.post(url, {"status": "known", "link": "", "note": ""})
    assert refused.status_code == 200
    assert "A known group needs a link to its bug report" in refused.content.decode()
    group.refresh_from_db()
    assert group.status == GroupStatus.NEW

    saved = admin_client.post(
        url, {"status": "known", "link": "https://bugs.example.org/3", "note": "upstream"}
    )
    assert saved.status_code == 302
    group.refresh_from_db()
    assert (group.status, group.link, group.note) == ("known", "https://bugs.example.org/3",
                                                      "upstream")  # fmt: skip

    answer = admin_client.post(
        "/admin/querygen/group/",
        {"action": "mark_ignored", "_selected_action": [group.pk]},
        follow=True,
    )
    assert "1 group(s) marked ignored" in answer.content.decode()
    group.refresh_from_db()
    assert group.status == GroupStatus.IGNORED
    admin_client.post(
        "/admin/querygen/group/", {"action": "reopen", "_selected_action": [group.pk]}
    )
    group.refresh_from_db()
    assert group.status == GroupStatus.NEW


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("overflow (in", "is not a valid regular expression: missing ), unterminated subpattern"),
    ],
)
def test_known_issue_pattern_must_compile(admin_client, pattern, message):
    form = {"pattern": pattern, "url": "https://bugs.example.org/9", "action": "label",
            "enabled": "on", "description": ""}  # fmt: skip
    refused = admin_client.post("/admin/querygen/knownissue/add/", form)
    assert refused.status_code == 200
    assert message in refused.content.decode()
    assert not KnownIssue.objects.exists()
    made = admin_client.post("/admin/querygen/knownissue/add/", {**form, "pattern": r"Overflow"})
    assert made.status_code == 302 and KnownIssue.objects.get().pattern == "Overflow"
