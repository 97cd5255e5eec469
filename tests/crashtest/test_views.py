"""The crash tester's pages on CrashRun rows made directly, with the report's example: the list,
a crash test (options, progress, checks with the failing ones marked, counts, the timeline) and
its report.json; 404 for a crash test that does not exist; a report still empty."""

from __future__ import annotations

import copy
import re

import pytest
from django.urls import reverse

from crashtest.models import CrashRun
from tests.crashtest.harness.test_timeline import EXAMPLE, NASTY

pytestmark = pytest.mark.django_db


def failing_report() -> dict:
    """The example with the schema's checks: one of them (imports lost) failing the run."""
    report = copy.deepcopy(EXAMPLE)
    report["ok"] = False
    report["checks"] = [
        {"workload": "datagen", "name": "attempted", "value": 6, "ok": True, "fails_run": False,
         "detail": "runs submitted"},
        {"workload": "datagen", "name": "lost", "value": 0, "ok": True, "fails_run": True,
         "detail": ""},
        {"workload": "datagen", "name": "duplicated executions", "value": 4, "ok": True,
         "fails_run": False, "detail": "chunks worked more than once (by design)"},
        {"workload": "imports", "name": "lost", "value": 1, "ok": False, "fails_run": True,
         "detail": "import 17 acknowledged (201) but absent"},
    ]  # fmt: skip
    report["counts"] = {"kills": 21, "restarts": 21, "pauses": 3, "skips": 1}
    return report


def make_run(report: dict | None = None, **fields) -> CrashRun:
    options = {"seed": 7, "minutes": 1.0, "workers": 3, "broker": "orm", "database": "sqlite",
               "nemeses": ["kill", "pause", "grow-shrink"],
               "workloads": ["datagen", "imports"]}  # fmt: skip
    return CrashRun.objects.create(**{**options, **fields}, report=report or {})


def page(client, url: str) -> str:
    answer = client.get(url)
    assert answer.status_code == 200, (url, answer.status_code)
    return answer.content.decode()


def row(html: str, pk: int) -> str:
    found = re.search(rf'<tr data-run="{pk}">(.*?)</tr>', html, re.S)
    assert found, f"no row of crash test {pk}"
    return found.group(1)


@pytest.mark.db_dependent  # the list reads the reports' checks and duration in SQL (JSON keys)
def test_the_list_shows_each_crash_test(client):
    failed = make_run(failing_report(), state="failed", kills=21,
                      results_run="crashtest_2026-12-07")  # fmt: skip
    running = make_run(workers=2, nemeses=["kill"], broker="redis", database="postgresql")
    html = page(client, "/crashtest/")
    assert '<a href="/crashtest/">Crash tests</a>' in html  # in the navigation

    shown = row(html, failed.pk)
    assert f'<a href="/crashtest/{failed.pk}/">{failed.pk}</a>' in shown
    assert "ct-state-failed" in shown and "63.2 s" in shown
    assert "kill, pause, grow-shrink" in shown and "datagen, imports" in shown
    assert '<td class="num">21</td>' in shown
    assert '<td class="num bad" data-field="failed">1</td>' in shown
    results = reverse("results:run-detail", args=["crashtest_2026-12-07"])
    assert f'<a href="{results}">crashtest_2026-12-07</a>' in shown

    shown = row(html, running.pk)
    assert "ct-state-running" in shown and "redis" in shown and "postgresql" in shown
    assert '<td class="num" data-field="failed">0</td>' in shown
    assert html.index(f'data-run="{running.pk}"') < html.index(f'data-run="{failed.pk}"')


def test_the_list_is_paginated(client):
    for _ in range(27):
        make_run()
    first = page(client, "/crashtest/")
    assert first.count("<tr data-run=") == 25 and "page 1 of 2" in first
    assert page(client, "/crashtest/?page=2").count("<tr data-run=") == 2


def test_the_list_says_how_to_start_one(client):
    assert "No crash test yet" in page(client, "/crashtest/")


def test_a_crash_test_shows_options_progress_checks_counts_and_its_timeline(client):
    run = make_run(failing_report(), state="failed", kills=21, results_run="crashtest_x")
    html = page(client, f"/crashtest/{run.pk}/")
    options = re.search(r'<table class="kv ct-options">(.*?)</table>', html, re.S).group(1)
    for name, value in (("seed", "7"), ("nemeses", "kill, pause, grow-shrink"),
                        ("lease_seconds", "5"), ("watchdog_seconds", "60")):  # fmt: skip
        assert f"<tr><th>{name}</th><td>{value}</td></tr>" in options
    assert '<pre class="ct-progress">,,c1r1,c3r3p2P2,+4,-2</pre>' in html
    assert "<tr><th>restarts</th><td>21</td></tr>" in html
    assert 'class="ct-bad">1 of 4</td>' in html and "stopped by time" in html

    rows = re.findall(r'<tr class="(ct-ok|ct-failed)" data-check="([^"]+)"', html)
    assert rows == [("ct-ok", "datagen: attempted"), ("ct-ok", "datagen: lost"),
                    ("ct-ok", "datagen: duplicated executions"),
                    ("ct-failed", "imports: lost")]  # fmt: skip
    assert "import 17 acknowledged (201) but absent" in html
    assert "FAILED" in html and "(counted)" in html

    svg = re.search(r'<div class="ct-timeline-wrap">(<svg .*</svg>)</div>', html, re.S).group(1)
    assert svg.count('class="ct-lane"') == 2 and svg.count('class="ct-ev"') >= 9
    report_url = f"/crashtest/{run.pk}/report.json"
    assert f'<a href="{report_url}" download="crashtest-{run.pk}.json">report.json</a>' in html
    assert '<a href="/runs/crashtest_x/">crashtest_x</a>' in html
    assert "/tmp/x" not in html.replace(svg, "")  # the folder: staff only


def test_the_report_s_text_is_escaped_on_the_page(client):
    report = failing_report()
    report["events"][0]["target"] = NASTY
    report["checks"][0]["detail"] = NASTY
    report["progress"] = NASTY
    html = page(client, f"/crashtest/{make_run(report).pk}/")
    assert "<script>" not in html
    assert "&lt;script&gt;&amp;&quot;" in html  # the checks' detail, the progress, the SVG


def test_the_report_json_is_the_report(client):
    report = failing_report()
    run = make_run(report, state="failed")
    answer = client.get(f"/crashtest/{run.pk}/report.json")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/json"
    assert answer.json() == report
    assert f'filename="crashtest-{run.pk}.json"' in answer["Content-Disposition"]


def test_a_missing_crash_test_is_404(client):
    assert client.get("/crashtest/999999/").status_code == 404
    assert client.get("/crashtest/999999/report.json").status_code == 404


def test_a_crash_test_with_an_empty_report_renders(client):
    run = make_run()
    html = page(client, f"/crashtest/{run.pk}/")
    assert "ct-state-running" in html and "Not checked yet." in html and "Nothing yet." in html
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="ct-timeline"' in html
    assert "no workers" in html
    assert client.get(f"/crashtest/{run.pk}/report.json").json() == {}


def test_staff_see_the_folder(admin_client):
    run = make_run(failing_report(), folder="/srv/assay/crashtests/1")
    assert "<code>/srv/assay/crashtests/1</code>" in page(admin_client, f"/crashtest/{run.pk}/")


def test_pages_need_a_login_when_reading_is_not_public(client, settings):
    run = make_run(failing_report())
    settings.ASSAY_PUBLIC_READ = False
    for url in ("/crashtest/", f"/crashtest/{run.pk}/", f"/crashtest/{run.pk}/report.json"):
        assert client.get(url).status_code == 302, url
