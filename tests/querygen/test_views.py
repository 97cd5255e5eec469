"""The querygen pages: dashboard, run, groups, a group with its samples and actions, the form
that starts a run. Most tests build rows with the ORM (small factories below); one runs a real
small run on the fixture engines and replays what it found."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from core import jobs
from core.models import JobState
from querygen.models import Group, GroupStatus, Pair, QuerygenRun
from querygen.services import runs
from querygen.views import highlight_sql, panels
from tests.querygen.factories import (
    CONTENT_RESULTS,
    make_engines,
    make_finding,
    make_group,
    make_run,
    side,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("qa", password="pw", is_staff=True)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- the highlighter and the result panels --------------------------------------------------------


def test_the_highlighter_escapes_html_and_marks_tokens():
    sql = "SELECT \"<b>\", '<script>alert(1)</script>', 42, lower(x) FROM t -- </pre><i>"
    html = str(highlight_sql(sql, "duckdb"))
    assert "<script>" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<span class="sql-k">SELECT</span>' in html
    assert '<span class="sql-k">FROM</span>' in html
    assert '<span class="sql-n">42</span>' in html
    assert '<span class="sql-f">lower</span>' in html
    assert '<span class="sql-s">&#x27;&lt;script&gt;' in html
    assert '<span class="sql-c"> -- &lt;/pre&gt;&lt;i&gt;</span>' in html
    # Nothing lost: the text without the tags is the SQL, escaped.
    assert re.sub(r"</?span[^>]*>", "", html) == str(highlight_sql.__globals__["escape"](sql))


def test_sql_the_tokenizer_refuses_comes_back_escaped():
    assert str(highlight_sql("SELECT '<x>", "sqlite")) == "SELECT &#x27;&lt;x&gt;"


def test_panels_mark_differing_rows_and_show_null():
    sut = panels(CONTENT_RESULTS)[0]
    assert [(n, differs) for n, differs, _ in sut.rows] == [(1, False), (2, False), (3, True)]
    assert sut.rows[1][2] == [("NULL", True)]
    assert sut.only == []  # the differing row is among those shown


def test_panels_list_differing_rows_past_the_first_shown():
    [p] = panels([side("sut", "e", [[1], [2]], marked=[], total=80, only=[[77]])])
    assert p.truncated and p.differing == 1 and p.only == [[("77", False)]]


# --- dashboard ----------------------------------------------------------------------------------


def test_the_dashboard_shows_runs_trend_and_groups(client):
    old = make_run(finished_at=timezone.now() - timedelta(hours=2))
    new = make_run(contents=30)
    make_group(old, title="content: old one")
    group = make_group(new, title="error: <Overflow> in multiplication", kind="error")
    make_finding(group)
    running = make_run(
        state=JobState.RUNNING, finished_at=None, progress_done=40, progress_total=100
    )
    make_finding(make_group(running, title="crash: segfault", kind="crash"))

    resp = client.get("/querygen/")
    assert resp.status_code == 200
    html = resp.content.decode()
    # The trend: one SVG with a title, axes and a line per kind, over the finished runs only.
    assert html.count("<svg") == 1
    assert "Findings per 1,000 queries over the last 2 finished runs</title>" in html
    assert 'data-series="contents"' in html and 'data-series="crashes"' in html
    assert "per 1,000 queries" in html and f"#{new.pk}" in html
    # The groups seen most recently, escaped, with status.
    assert "error: &lt;Overflow&gt; in multiplication" in html
    assert "crash: segfault" in html
    assert html.index("crash: segfault") < html.index("content: old one")
    # The runs with their counts; the running one's progress and live findings.
    rows = {r.pk: r for r, _, _ in resp.context["rows"]}
    assert set(rows) == {old.pk, new.pk, running.pk}
    assert rows[running.pk].live_findings == 1
    assert f'data-run="{running.pk}"' in html and "40 %" in html
    assert 'data-pending="true"' in html and "querygen/live.js" in html
    # Each run saw one new group.
    assert [n for _, n, _ in resp.context["rows"]] == [1, 1, 1]


def test_the_empty_dashboard(client):
    resp = client.get("/querygen/")
    assert resp.status_code == 200
    assert b"No finished runs yet" in resp.content and b"No runs yet" in resp.content
    assert b'data-pending="false"' in resp.content


def test_the_live_json_changes_when_a_finding_is_recorded(client):
    run = make_run(state=JobState.RUNNING, finished_at=None)
    first = client.get("/querygen/live.json").json()
    assert first["pending"] == 1 and first["runs"][0]["findings"] == 0
    make_finding(make_group(run))
    second = client.get("/querygen/live.json").json()
    assert second["runs"][0]["findings"] == 1 and second["stamp"] != first["stamp"]


def test_the_navigation_links_the_dashboard(client):
    assert b'href="/querygen/">Query testing</a>' in client.get("/querygen/groups/").content


# --- a run --------------------------------------------------------------------------------------


def test_the_run_page_shows_parameters_counts_groups_and_report(client, admin_client):
    run = make_run(
        profile={"max_depth": 3},
        sut_version="DuckDB v9",
        reference_version="SQLite 3.99",
        report="querygen run X: the <report>",
        results_run="querygen-custom_1",
    )
    group = make_group(run, title="content: the group of this run")
    make_finding(group)
    make_finding(group)
    resp = client.get(f"/querygen/runs/{run.pk}/")
    assert resp.status_code == 200
    html = resp.content.decode()
    for text in ("f-duck", "f-lite", "DuckDB v9", "SQLite 3.99", "max_depth", "Differential"):
        assert text in html
    assert "the &lt;report&gt;" in html
    assert 'href="/runs/querygen-custom_1/"' in html
    assert "content: the group of this run" in html
    assert resp.context["groups"][0].in_run == 2
    assert "job.log" not in html  # logs are for staff
    staff_html = admin_client.get(f"/querygen/runs/{run.pk}/").content.decode()
    assert f'href="/media/logs/querygen/{run.pk}/job.log"' in staff_html


def test_an_unknown_run_is_404(client):
    assert client.get("/querygen/runs/999999/").status_code == 404


# --- groups -------------------------------------------------------------------------------------


def test_the_group_list_filters_and_sorts(client):
    run = make_run()
    other = make_run(sut=make_engines()[1], reference=None, oracle="tlp")
    now = timezone.now()
    a = make_group(run, title="A new content", count=5, last_seen=now - timedelta(days=2))
    b = make_group(run, title="B known error", kind="error", status="known", count=1)
    c = make_group(other, title="C tlp content", count=3, last_seen=now - timedelta(days=1))

    def titles(query: str) -> list[str]:
        resp = client.get(f"/querygen/groups/{query}")
        assert resp.status_code == 200
        return [g.title for g in resp.context["page"]]

    assert titles("") == [b.title, c.title, a.title]
    assert titles("?sort=count") == [a.title, c.title, b.title]
    assert titles("?status=known") == [b.title]
    assert titles("?kind=content") == [c.title, a.title]
    assert titles(f"?scope={other.scope.replace(' ', '+')}") == [c.title]
    assert titles("?status=new&kind=error") == []
    assert titles("?status=bogus&sort=bogus") == [b.title, c.title, a.title]
    html = client.get("/querygen/groups/?kind=content").content.decode()
    assert "<option selected>content</option>" in html and "B known error" not in html


def test_the_group_page_shows_sql_results_and_samples(client):
    run = make_run()
    group = make_group(run, title="content: 1 of 3 rows differ", link="https://bugs.example/1")
    sample = make_finding(
        group,
        reduced_sql={"sut": "SELECT '<script>x</script>' FROM t", "ref": "SELECT 1"},
        errors={"ref": "no such <function>"},
    )
    later = make_finding(group, results=[])
    resp = client.get(f"/querygen/groups/{group.pk}/")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert resp.context["sample"] == sample  # the first with results
    assert "<script>x</script>" not in html
    assert '<span class="sql-s">&#x27;&lt;script&gt;x&lt;/script&gt;&#x27;</span>' in html
    assert '<details class="qg-original">' in html and '<span class="sql-k">WHERE</span>' in html
    # Both sides' results, the differing row marked on each, NULL shown as NULL.
    assert html.count('<tr class="differs"') == 2
    assert html.count('class="marker"') == 2
    assert '<td class="null">NULL</td>' in html
    assert "total 3 rows" in html
    assert "no such &lt;function&gt;" in html
    assert "https://bugs.example/1" in html
    assert f"{later.seed}:{later.index}" in html and f"{sample.seed}:{sample.index}" in html
    # Anonymous readers see no actions.
    assert "Mark known" not in html and "csrfmiddlewaretoken" not in html
    # Another sample by its id: no results kept for it.
    other = client.get(f"/querygen/groups/{group.pk}/?sample={later.pk}")
    assert other.context["sample"] == later and b"Not kept for this sample" in other.content


def test_a_truncated_answer_says_how_many_rows_are_shown(client):
    group = make_group(make_run())
    rows = [[n] for n in range(50)]
    make_finding(group, results=[side("sut", "f-duck", rows, marked=[3], total=4000)])
    html = client.get(f"/querygen/groups/{group.pk}/").content.decode()
    assert "total 4,000 rows, first 50 shown" in html


def test_staff_see_the_actions(staff_client):
    group = make_group(make_run())
    make_finding(group)
    html = staff_client.get(f"/querygen/groups/{group.pk}/").content.decode()
    for text in ("Mark known", "Mark fixed", "Ignore", "Replay", "csrfmiddlewaretoken"):
        assert text in html
    assert "Reopen" not in html  # it is new already


@pytest.mark.parametrize(
    ("status", "link", "shown"),
    [("known", "https://bugs.example/42", "Marked known."), ("fixed", "", "Marked fixed."),
     ("ignored", "", "Marked ignored.")],
)  # fmt: skip
def test_staff_mark_a_group(staff_client, status, link, shown):
    group = make_group(make_run())
    resp = staff_client.post(
        f"/querygen/groups/{group.pk}/status/", {"status": status, "link": link, "note": "seen"}
    )
    assert resp.status_code == 302 and resp["Location"] == f"/querygen/groups/{group.pk}/"
    group.refresh_from_db()
    assert group.status == status and group.note == "seen"
    assert group.link == link
    assert texts(resp) == [shown]


def test_reopen_makes_a_group_new_again(staff_client):
    group = make_group(make_run(), status="fixed")
    staff_client.post(f"/querygen/groups/{group.pk}/status/", {"status": "new"})
    group.refresh_from_db()
    assert group.status == GroupStatus.NEW


def test_known_without_a_link_is_refused_and_changes_nothing(staff_client):
    group = make_group(make_run())
    resp = staff_client.post(
        f"/querygen/groups/{group.pk}/status/", {"status": "known", "link": "", "note": "x"},
        follow=True,
    )  # fmt: skip
    assert resp.status_code == 200
    assert "A known group needs a link to its bug report." in resp.content.decode()
    group.refresh_from_db()
    assert (group.status, group.link, group.note) == ("new", "", "")


def test_a_bad_link_or_status_is_a_message_not_a_500(staff_client):
    group = make_group(make_run())
    url = f"/querygen/groups/{group.pk}/status/"
    resp = staff_client.post(url, {"status": "known", "link": "javascript:alert(1)"})
    assert resp.status_code == 302 and "is not an http(s) URL" in texts(resp)[0]
    resp = staff_client.post(url, {"status": "bogus"})
    assert resp.status_code == 302 and texts(resp)[-1].startswith("Unknown status")
    group.refresh_from_db()
    assert group.status == "new" and group.link == ""


def test_actions_are_refused_to_anonymous_and_non_staff_users(client, django_user_model):
    group = make_group(make_run())
    sample = make_finding(group)
    status_url = f"/querygen/groups/{group.pk}/status/"
    replay_url = f"/querygen/groups/{group.pk}/replay/"
    assert client.post(status_url, {"status": "ignored"}).status_code == 403
    assert client.post(replay_url, {"sample": sample.pk, "which": "reduced"}).status_code == 403
    client.force_login(django_user_model.objects.create_user("reader", password="pw"))
    assert client.post(status_url, {"status": "ignored"}).status_code == 403
    assert client.get(status_url).status_code == 405
    group.refresh_from_db()
    assert group.status == "new"


def test_a_replay_whose_engines_are_gone_is_a_message(staff_client):
    # On the engines' own tables: the factory's engine files do not exist.
    group = make_group(make_run(profile={"data": "dataset"}))
    sample = make_finding(group)
    resp = staff_client.post(
        f"/querygen/groups/{group.pk}/replay/", {"sample": sample.pk, "which": "reduced"}
    )
    assert resp.status_code == 302
    assert resp["Location"] == f"/querygen/groups/{group.pk}/?sample={sample.pk}"
    assert texts(resp) and "f-duck" in texts(resp)[0]


def test_a_replay_of_another_groups_sample_is_refused(staff_client):
    run = make_run()
    group, other = make_group(run), make_group(run)
    stranger = make_finding(other)
    resp = staff_client.post(
        f"/querygen/groups/{group.pk}/replay/", {"sample": stranger.pk, "which": "reduced"}
    )
    assert resp.status_code == 302 and texts(resp) == [
        "Choose one of this group's samples to replay."
    ]


def test_private_reads_need_a_login(client, settings):
    settings.ASSAY_PUBLIC_READ = False
    group = make_group(make_run())
    for url in ("/querygen/", f"/querygen/groups/{group.pk}/", "/querygen/groups/"):
        resp = client.get(url)
        assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/")


# --- starting a run -----------------------------------------------------------------------------


def test_the_run_form_needs_a_role(client, django_user_model):
    resp = client.get("/querygen/runs/new/")
    assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/")
    resp = client.post("/querygen/runs/new/", {"sut": "x"})
    assert resp.status_code == 403 and QuerygenRun.objects.count() == 0
    client.force_login(django_user_model.objects.create_user("reader", password="pw"))
    assert client.get("/querygen/runs/new/").status_code == 403


def test_the_form_starts_a_run(staff_client, qg_engines):
    resp = staff_client.get("/querygen/runs/new/")
    assert resp.status_code == 200 and b'<option value="qg-duckdb"' in resp.content
    resp = staff_client.post(
        "/querygen/runs/new/",
        {
            "sut": "qg-duckdb",
            "reference": "qg-sqlite",
            "oracle": "differential",
            "budget_queries": "25",
            "budget_minutes": "1.5",
            "timeout": "0.5",
            "seed": "11",
            "profile": '{"max_depth": 2}',
            "label": "from the form",
        },
    )
    run = QuerygenRun.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/querygen/runs/{run.pk}/"
    assert (run.sut.name, run.reference.name, run.oracle) == (
        "qg-duckdb",
        "qg-sqlite",
        "differential",
    )
    assert (run.budget_queries, run.budget_seconds, run.timeout) == (25, 90, 0.5)
    assert (run.seed, run.profile, run.label, run.state) == (
        11,
        {"max_depth": 2},
        "from the form",
        "queued",
    )


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"reference": ""}, "The differential oracle needs a reference engine"),
        ({"oracle": "tlp", "reference": "qg-sqlite"}, "The tlp oracle tests one engine"),
        ({"budget_queries": "", "budget_minutes": ""}, "A run needs a budget"),
        ({"profile": '{"no_such_setting": 1}'}, "no_such_setting"),
        ({"profile": "[1, 2]"}, "The profile is a JSON object"),
        ({"profile": "{not json"}, "Enter a valid JSON"),
        ({"sut_python": "/nonexistent/python"}, "/nonexistent/python"),
        ({"timeout": "0"}, "greater than or equal to 0.01"),
    ],
)
def test_a_bad_form_creates_nothing_and_keeps_the_values(staff_client, qg_engines, data, error):
    values = {"sut": "qg-duckdb", "oracle": "differential", "reference": "qg-sqlite",
              "budget_queries": "25", "timeout": "1", "seed": "123456"}  # fmt: skip
    values.update(data)
    resp = staff_client.post("/querygen/runs/new/", values)
    assert resp.status_code == 200
    html = resp.content.decode()
    assert error in html.replace("&#x27;", "'").replace("&quot;", '"')
    assert 'value="123456"' in html  # the values are kept
    assert QuerygenRun.objects.count() == 0


# --- a real run ---------------------------------------------------------------------------------


def test_a_real_run_shows_its_findings_and_a_replay_reproduces(staff_client, qg_engines):
    run = runs.submit_run(
        sut="qg-duckdb",
        reference="qg-sqlite",
        budget_queries=60,
        seed=12,
        timeout=1.0,
        profile={"data": "dataset"},
    )
    assert jobs.run_job("querygen.QuerygenRun", run.pk) == "succeeded"
    run.refresh_from_db()
    assert run.findings > 0

    dashboard = staff_client.get("/querygen/").content.decode()
    assert "<svg" in dashboard and f'data-run="{run.pk}"' in dashboard
    page = staff_client.get(f"/querygen/runs/{run.pk}/").content.decode()
    assert run.report.splitlines()[0] in page and run.results_run in page

    # A content group: both sides' real answers, the differing rows marked.
    group = Group.objects.filter(samples__run=run, kind="content").distinct().first()
    assert group is not None
    resp = staff_client.get(f"/querygen/groups/{group.pk}/")
    assert resp.status_code == 200
    sample = resp.context["sample"]
    assert [p["side"] for p in sample.results] == ["sut", "ref"]
    html = resp.content.decode()
    assert html.count('<figure class="qg-sql"') >= 2 and '<span class="sql-k">SELECT</span>' in html
    marked = sum(len(p["marked"]) for p in sample.results)
    assert html.count('<tr class="differs"') >= marked
    assert sum(p.differing for p in resp.context["panels"]) > 0

    replay = staff_client.post(
        f"/querygen/groups/{group.pk}/replay/", {"sample": sample.pk, "which": "reduced"}
    )
    assert replay.status_code == 200
    assert replay.context["replay"].reproduced is True
    text = replay.content.decode()
    assert "Reproduced: <b>yes</b>" in text and 'data-reproduced="true"' in text
    assert text.count('<section class="qg-side"') == 4  # the replay's two and the sample's two


def test_the_live_json_is_plain_json(client):
    data = json.loads(client.get("/querygen/live.json").content)
    assert data["pending"] == 0 and "stamp" in data


def test_a_running_run_s_page_follows_it(client):
    run = make_run(
        state=JobState.RUNNING,
        finished_at=None,
        progress_done=30,
        progress_total=120,
        progress_message="30 queries, 0 findings",
    )
    html = client.get(f"/querygen/runs/{run.pk}/").content.decode()
    assert "30 queries, 0 findings" in html and "25.0 %" in html
    assert 'data-pending="true"' in html and "querygen/live.js" in html
    assert "No findings yet." in html


def test_the_form_opens_with_valid_defaults(staff_client, qg_engines):
    """What the form shows, posted as it is, starts a run: no `null` in the profile box."""
    import re

    html = staff_client.get("/querygen/runs/new/").content.decode()
    profile = re.search(r'<textarea name="profile"[^>]*>(.*?)</textarea>', html, re.S)
    assert profile is not None and profile.group(1).strip() == "{}"
    timeout = re.search(r'name="timeout" value="([^"]*)"', html)
    resp = staff_client.post(
        "/querygen/runs/new/",
        {
            "sut": "qg-duckdb",
            "reference": "qg-sqlite",
            "oracle": "differential",
            "budget_queries": "5",
            "timeout": timeout.group(1),
            "profile": profile.group(1),
        },
    )
    assert resp.status_code == 302, resp.content.decode()[:500]


# --- several groups at once, and merges ---------------------------------------------------------

BULK = "/querygen/groups/bulk/"


def test_staff_see_a_checkbox_per_group_and_the_bulk_form(staff_client):
    run = make_run()
    a, b = make_group(run), make_group(run)
    html = staff_client.get("/querygen/groups/?status=new").content.decode()
    assert f'action="{BULK}"' in html and 'id="qg-bulk"' in html
    for group in (a, b):
        assert f'name="ids" value="{group.pk}" form="qg-bulk"' in html
    assert 'name="back" value="status=new"' in html
    labels = ["mark known (with a link)", "mark fixed", "ignore", "reopen as new"]
    for label in [*labels, "merge into the first ticked"]:
        assert label in html
    staff_client.logout()
    anonymous = staff_client.get("/querygen/groups/").content.decode()
    assert 'name="ids"' not in anonymous and BULK not in anonymous


def test_the_bulk_form_marks_groups_and_comes_back_with_the_filters(staff_client):
    run = make_run()
    a, b, c = make_group(run), make_group(run), make_group(run)
    data = {"ids": [a.pk, b.pk], "action": "fixed", "note": "in 1.3"}
    resp = staff_client.post(BULK, {**data, "back": "kind=content&status=new"})
    assert resp.status_code == 302
    assert resp["Location"] == "/querygen/groups/?kind=content&status=new"
    assert texts(resp) == ["Marked 2 groups fixed."]
    marked = {g.pk: (g.status, g.note) for g in Group.objects.all()}
    assert marked == {a.pk: ("fixed", "in 1.3"), b.pk: ("fixed", "in 1.3"), c.pk: ("new", "")}

    resp = staff_client.post(
        BULK, {"ids": [c.pk], "action": "known", "link": "https://bugs.example/5"}
    )
    assert resp["Location"] == "/querygen/groups/" and texts(resp)[-1] == "Marked 1 group known."
    c.refresh_from_db()
    assert (c.status, c.link) == ("known", "https://bugs.example/5")


def test_the_bulk_form_merges_into_the_first_ticked(staff_client):
    run = make_run()
    a, b, c = make_group(run, title="A first"), make_group(run, title="B"), make_group(run)
    make_finding(b)
    resp = staff_client.post(BULK, {"ids": [a.pk, b.pk, c.pk], "action": "merge"}, follow=True)
    assert f"Merged groups {b.pk}, {c.pk} into group {a.pk}." in resp.content.decode()
    assert [g.pk for g in resp.context["page"]] == [a.pk]  # merged groups leave the list
    a.refresh_from_db()
    assert a.count == 3 and a.samples.count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "fixed"}, "Select at least one group."),
        ({"ids": ["A"]}, "Tick the groups and choose an action."),
        ({"ids": ["A"], "action": "close"}, "Unknown action 'close'"),
        ({"ids": ["A", "B"], "action": "known"}, "A known group needs a link"),
        ({"ids": ["A"], "action": "known", "link": "javascript:x"}, "is not an http(s) URL"),
        ({"ids": ["A"], "action": "merge"}, "Select at least two groups to merge"),
        ({"ids": ["A", "T"], "action": "merge"}, "only groups of one scope merge"),
        ({"ids": ["A", "999999"], "action": "ignored"}, "No group 999999."),
        ({"ids": ["x"], "action": "ignored"}, "Tick the groups and choose an action."),
    ],
)
def test_bad_bulk_input_is_a_message_and_changes_nothing(staff_client, data, message):
    run = make_run()
    tlp = make_run(sut=make_engines()[1], reference=None, oracle="tlp")
    named = {"A": make_group(run), "B": make_group(run), "T": make_group(tlp)}
    ids = [str(named[i].pk) if i in named else i for i in data.get("ids", [])]
    resp = staff_client.post(BULK, {**data, "ids": ids, "back": "sort=count"})
    assert resp.status_code == 302 and resp["Location"] == "/querygen/groups/?sort=count"
    [shown] = texts(resp)
    assert message in shown
    assert {(g.status, g.merged_into_id, g.link) for g in Group.objects.all()} == {
        ("new", None, "")
    }


def test_the_bulk_form_comes_back_to_the_list_only(staff_client):
    group = make_group(make_run())
    resp = staff_client.post(
        BULK, {"ids": [group.pk], "action": "ignored", "back": "//evil.example/x?y=1"}
    )
    assert resp["Location"].startswith("/querygen/groups/?")


def test_bulk_actions_and_merges_are_refused_to_non_staff(client, django_user_model):
    run = make_run()
    a, b = make_group(run), make_group(run)
    merge_url = f"/querygen/groups/{a.pk}/merge/"
    assert client.post(BULK, {"ids": [a.pk], "action": "ignored"}).status_code == 403
    assert client.post(merge_url, {"target": b.pk}).status_code == 403
    client.force_login(django_user_model.objects.create_user("reader", password="pw"))
    assert client.post(BULK, {"ids": [a.pk, b.pk], "action": "merge"}).status_code == 403
    assert client.post(merge_url, {"target": b.pk}).status_code == 403
    assert client.get(BULK).status_code == 405
    assert {(g.status, g.merged_into_id) for g in Group.objects.all()} == {("new", None)}
    assert "Merge into group" not in client.get(f"/querygen/groups/{a.pk}/").content.decode()


def test_staff_merge_a_group_from_its_page(staff_client):
    run = make_run()
    group, target = make_group(run, title="content: the duplicate"), make_group(run)
    make_finding(group)
    html = staff_client.get(f"/querygen/groups/{group.pk}/").content.decode()
    assert f'action="/querygen/groups/{group.pk}/merge/"' in html and "Merge into group #" in html

    resp = staff_client.post(f"/querygen/groups/{group.pk}/merge/", {"target": target.pk})
    assert resp.status_code == 302 and resp["Location"] == f"/querygen/groups/{target.pk}/"
    assert texts(resp) == [f"Merged group {group.pk} into group {target.pk}."]
    target_html = staff_client.get(f"/querygen/groups/{target.pk}/").content.decode()
    assert "Merged here" in target_html and f'href="/querygen/groups/{group.pk}/"' in target_html
    assert f"Merged group {group.pk} (content: the duplicate) into this one" in target_html


def test_a_merged_groups_page_is_a_banner_to_where_its_merges_end(staff_client):
    run = make_run()
    first, second, third = make_group(run), make_group(run), make_group(run)
    staff_client.post(f"/querygen/groups/{first.pk}/merge/", {"target": second.pk})
    staff_client.post(f"/querygen/groups/{second.pk}/merge/", {"target": third.pk})
    resp = staff_client.get(f"/querygen/groups/{first.pk}/")
    assert resp.status_code == 200  # a banner, not a redirect: the group's history stays
    html = resp.content.decode()
    assert f'Merged into <a href="/querygen/groups/{second.pk}/">group {second.pk}</a>' in html
    assert f'since merged into <a href="/querygen/groups/{third.pk}/">group {third.pk}</a>' in html
    assert "Mark known" not in html and "Merge into group #" not in html


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("999999", "No group 999999."),
        ("self", "cannot be merged into itself"),
        ("tlp", "only groups of one scope merge"),
        ("", "Say which group to merge this one into: its number."),
        ("x", "No group x."),
    ],
)
def test_a_bad_merge_from_a_groups_page_is_a_message(staff_client, target, message):
    run = make_run()
    group = make_group(run)
    stranger = make_group(make_run(sut=make_engines()[1], reference=None, oracle="tlp"))
    value = {"self": group.pk, "tlp": stranger.pk}.get(target, target)
    resp = staff_client.post(f"/querygen/groups/{group.pk}/merge/", {"target": value})
    assert resp.status_code == 302 and resp["Location"] == f"/querygen/groups/{group.pk}/"
    assert message in texts(resp)[0]
    assert not Group.objects.exclude(merged_into=None).exists()


def test_the_samples_table_is_paged_and_a_sample_link_keeps_its_page(client):
    group = make_group(make_run())
    made = [make_finding(group, results=[]) for _ in range(55)]
    first = client.get(f"/querygen/groups/{group.pk}/")
    assert len(first.context["samples"]) == 50 and "page 1 of 2" in first.content.decode()
    second = client.get(f"/querygen/groups/{group.pk}/?page=2")
    html = second.content.decode()
    assert len(second.context["samples"]) == 5 and "&larr; previous" in html
    newest = made[-1]  # samples are listed oldest first
    assert f"?sample={newest.pk}&amp;page=2" in html
    shown = client.get(f"/querygen/groups/{group.pk}/?sample={newest.pk}&page=2")
    assert shown.context["sample"] == newest and shown.context["page"].number == 2


def test_a_reproducer_is_shown_with_a_copy_button_and_downloads(client):
    group = make_group(make_run())
    script = 'CREATE TABLE "t0" ("c0" INTEGER);\nSELECT 1;\n-- sut: 1 row\n'
    sample = make_finding(group, scripts={"sut": script, "ref": script}, original_rows=9,
                          reduced_rows=1)  # fmt: skip
    html = client.get(f"/querygen/groups/{group.pk}/").content.decode()
    assert "Reproducer" in html and "9 → 1 rows" in html
    assert html.count('class="qg-copy"') == 2 and "querygen/copy.js" in html
    assert "CREATE TABLE &quot;t0&quot;" in html
    got = client.get(f"/querygen/findings/{sample.pk}/reproducer/sut.sql")
    assert got.status_code == 200 and got.content.decode() == script
    assert got["Content-Disposition"] == (
        f'attachment; filename="querygen-finding-{sample.pk}-sut.sql"'
    )
    assert client.get(f"/querygen/findings/{sample.pk}/reproducer/nope.sql").status_code == 404
    plain = make_finding(group)  # a dataset finding: no reproducer
    assert client.get(f"/querygen/findings/{plain.pk}/reproducer/sut.sql").status_code == 404


def test_the_trend_is_per_pair(client):
    duck, lite = make_engines()
    nightly = Pair.objects.create(name="nightly", sut=duck, reference=lite, budget_queries=5)
    old = make_run(pair=nightly, finished_at=timezone.now() - timedelta(hours=3))
    make_run(pair=nightly, finished_at=timezone.now() - timedelta(hours=2))
    custom = make_run(finished_at=timezone.now() - timedelta(hours=1))
    resp = client.get("/querygen/")
    html = resp.content.decode()
    # The latest finished run is of no pair: its trend first, one point.
    assert resp.context["trend_pair"] == "custom" and resp.context["trend_pairs"] == [
        "custom",
        "nightly",
    ]
    assert "over the last 1 finished run</title>" in html and f"#{custom.pk}" in html
    assert '<a href="?pair=nightly">nightly</a>' in html
    resp = client.get("/querygen/?pair=nightly")
    html = resp.content.decode()
    assert "over the last 2 finished runs</title>" in html and f"#{old.pk}" in html
    assert f"#{custom.pk}<" not in html
    assert client.get("/querygen/?pair=nope").context["trend_pair"] == "custom"
