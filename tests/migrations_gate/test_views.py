"""The gate's pages on real checks: the example shop (a git repository with a good branch and
one whose last migration fails) checked end to end on a SQLite dataset, then each page read:
the checks, a check's migrations by datasets, the log viewer and its raw download, the
datasets and projects; the recheck for staff only; no log outside a check's datasets."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client, override_settings

from core import jobs
from migrations_gate.models import Check, Dataset, Project
from migrations_gate.runner.steps import run_driver
from migrations_gate.services import checks, datasets, projects

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "migrations_gate" / "example"
DRIVER = ROOT / "migrations_gate" / "runner" / "drivers" / "django_driver.py"
RULES = "columns:\n  shop_customer.name: name\n  shop_customer.email: email\n"
FAILING = """from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0004_quantity_bigint")]
    operations = [migrations.RunSQL("ALTER TABLE shop_order ADD COLUMN total INT")]
"""
MIGRATIONS = ["shop.0002_note", "shop.0003_backfill_notes", "shop.0004_quantity_bigint"]
BROKEN = "shop.0005_duplicate_total"


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x.io",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x.io"}  # fmt: skip
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


@pytest.fixture(scope="session")
def shop_files(tmp_path_factory) -> tuple[Path, Path]:
    """Made once: the shop as a repository (main, and `broken` adding a failing migration) and
    a SQLite source at the shop's first migration with a customer and an order."""
    base = tmp_path_factory.mktemp("shop")
    repo = base / "repo"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("__pycache__"))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "shop")
    _git(repo, "checkout", "-q", "-b", "broken")
    (repo / "shop" / "migrations" / "0005_duplicate_total.py").write_text(FAILING)
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "a migration that fails")
    _git(repo, "checkout", "-q", "main")
    source = base / "shop.sqlite"
    env = {**os.environ, "ASSAY_GATE_SQLITE": str(source)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    made = run_driver([sys.executable, str(DRIVER), "--settings", "shopsite.settings"], env=env,
                      cwd=EXAMPLE, deadline=time.monotonic() + 120, stop_after=1)  # fmt: skip
    assert made.steps and made.steps[0].status == "ok", made.tail
    with sqlite3.connect(source) as conn:
        conn.execute("INSERT INTO shop_customer (name, email, joined) "
                     "VALUES ('Ann Real', 'ann@real.example', '2020-01-01')")  # fmt: skip
        conn.execute("INSERT INTO shop_order (customer_id, total, placed, quantity) "
                     "VALUES (1, 10, '2020-01-02 00:00:00', 1)")  # fmt: skip
    return repo, source


def run_check(project: str, ref: str) -> Check:
    check = checks.submit_check(project, ref)
    assert jobs.run_job("migrations_gate.Check", check.pk) == "succeeded"
    check.refresh_from_db()
    return check


def _fields(row, leave: tuple[str, ...] = ()) -> dict:
    skip = {"id", "created_at", *leave}
    return {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields
            if f.attname not in skip}  # fmt: skip


@pytest.fixture(scope="session")
def recorded(shop_files, django_db_setup, django_db_blocker, tmp_path_factory) -> dict:
    """The gate end to end, once per session (a check takes seconds): dataset shop-small from
    the SQLite source, project shop on it, and two real checks, main (SUCCESS) and broken
    (FAILURE at its last migration). Kept as their rows' fields and logs, then rolled back:
    each test lays them down again (replay)."""
    folder = tmp_path_factory.mktemp("recorded")
    repo, source = shop_files
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=folder / "media", ASSAY_GATE_DIR=folder / "gate"),
        transaction.atomic(),
    ):
        dataset = datasets.register_dataset("shop-small", rules=RULES, sqlite_file=str(source))
        project = projects.add_project("shop", str(repo), "django", target="shopsite.settings",
                                       datasets=["shop-small"])  # fmt: skip
        good, bad = run_check("shop", "main"), run_check("shop", "broken")
        assert good.outcome == "SUCCESS" and bad.outcome == "FAILURE", (good.datasets, bad.datasets)
        kept = {
            "dataset": _fields(dataset, ("server_id",)),
            "project": _fields(project),
            "checks": [
                (_fields(c, ("project_id", "recheck_of_id")), c.log_dir) for c in (good, bad)
            ],
        }
        transaction.set_rollback(True)
    return kept


def replay(recorded: dict) -> tuple[Check, Check]:
    """The recorded dataset, project and checks as rows of this test, their logs in place."""
    dataset = Dataset.objects.create(**recorded["dataset"])
    project = Project.objects.create(**recorded["project"])
    project.datasets.add(dataset)
    out = []
    for fields, logs in recorded["checks"]:
        check = Check.objects.create(project=project, **fields)
        shutil.copytree(logs, check.log_dir)
        out.append(check)
    good, bad = out
    return good, bad


@pytest.fixture
def gate(recorded) -> tuple[Check, Check]:
    return replay(recorded)


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("lead", is_staff=True))
    return client


def rows(html: str, table: str) -> list[str]:
    """The rows of a table, each from its <tr data-...> to the next (a row may hold a table)."""
    body = html.split(f'class="grid {table}"', 1)[1].split("</tbody>", 1)[0]
    return ["<tr data-" + r for r in body.split("<tr data-")[1:]]


def log_url(check: Check, dataset: str = "shop-small") -> str:
    return f"/gate/checks/{check.pk}/log/{dataset}/"


# --- the checks ---------------------------------------------------------------------------------


def test_the_checks_newest_first_with_their_outcomes_filtered_and_paged(client, gate):
    good, bad = gate
    html = client.get("/gate/").content.decode()
    listed = rows(html, "gate-checks")
    assert [re.search(r'data-check="(\d+)"', r).group(1) for r in listed] == [
        str(bad.pk),
        str(good.pk),
    ]
    assert 'gate-outcome-FAILURE">FAILURE<' in listed[0] and ">broken<" in listed[0]
    assert 'gate-outcome-SUCCESS">SUCCESS<' in listed[1]
    assert f'title="{bad.commit}">{bad.commit[:10]}<' in listed[0]
    assert 'class="gate-ds gate-ds-FAILURE" title="shop-small: FAILURE">shop-small<' in listed[0]
    assert ">succeeded<" in listed[0] and ">shop<" in listed[0]

    failures = client.get("/gate/?outcome=FAILURE").content.decode()
    assert [f'data-check="{bad.pk}"' in r for r in rows(failures, "gate-checks")] == [True]
    assert "No check matches." in client.get("/gate/?outcome=WARNING").content.decode()
    assert len(rows(client.get("/gate/?project=no-such&outcome=bogus").content.decode(),
                    "gate-checks")) == 2  # unknown filters are ignored  # fmt: skip

    # An internal error stands apart: not the change's fault.
    Check.objects.bulk_create(
        Check(project=good.project, ref=f"r{n}", outcome="INTERNAL_ERROR") for n in range(25)
    )
    first = client.get("/gate/").content.decode()
    assert len(rows(first, "gate-checks")) == 25 and "page 1 of 2" in first
    assert "not the change's fault" in first and ">INTERNAL ERROR<" in first
    second = client.get("/gate/?page=2").content.decode()
    assert [f'data-check="{good.pk}"' in r for r in rows(second, "gate-checks")] == [False, True]


def test_a_check_s_migrations_by_datasets_findings_and_summary(client, gate):
    good, bad = gate
    html = client.get(f"/gate/checks/{bad.pk}/").content.decode()
    matrix = rows(html, "gate-matrix")
    assert [re.search(r'data-migration="([^"]+)"', r).group(1) for r in matrix] == [
        *MIGRATIONS,
        BROKEN,
    ]
    *fine, failed = matrix
    for row in fine:
        assert 'data-status="ok"' in row and "gate-cell-bad" not in row
        assert "locks n/a · rewrites n/a · WAL n/a" in row  # SQLite: not measured
    assert 'class="gate-cell gate-cell-bad" data-status="failed"' in failed
    assert "<b>failed</b>" in failed and "FAILURE: failed" in failed
    step = bad.datasets[0]["steps"][3]
    assert f"{step['seconds']:.3f} s</a>" in failed
    assert f'href="{log_url(bad)}#m-{BROKEN}"' in failed

    findings = html.split('class="card gate-findings"', 1)[1].split("</section>", 1)[0]
    assert "duplicate column name: total" in findings and f"<code>{BROKEN}</code>" in findings
    assert f'href="{log_url(bad)}"' in html
    assert f'href="{log_url(bad)}raw"' in html
    summary = re.search(r'<pre class="log" id="gate-summary">(.*?)</pre>', html, re.S).group(1)
    assert "**Migrations gate: FAILURE** for shop at `broken`" in summary
    assert 'data-copy="gate-summary"' in html
    assert "job.log</a>" not in html  # the gate's own log: staff only
    assert "Recheck</button>" not in html  # readers: no action
    assert client.get("/gate/checks/99999/").status_code == 404

    good_html = client.get(f"/gate/checks/{good.pk}/").content.decode()
    assert len(rows(good_html, "gate-matrix")) == 3 and "gate-cell-bad" not in good_html
    assert "every migration ran within its limits" in good_html


def test_measured_cells_show_exclusive_locks_rewrites_and_wal(client, gate):
    """What a PostgreSQL dataset records (runner/report.py: dataset_record), on a second
    dataset at an older schema than the first: its extra migration comes first."""
    good, _ = gate
    pg = {"dataset": "shop-pg", "outcome": "WARNING", "error": "", "left": 0, "findings": [
        {"outcome": "WARNING", "code": "dangerous_lock", "migration": "shop.0004_quantity_bigint",
         "message": "ACCESS EXCLUSIVE on public.shop_order for 2.50s"}], "steps": [
        {"migration": "shop.0001_initial", "status": "ok", "seconds": 0.5, "wal_bytes": 2048,
         "size_change_bytes": 0, "rewritten": [], "locks": []},
        {"migration": "shop.0002_note", "status": "ok", "seconds": 0.25, "wal_bytes": 10,
         "size_change_bytes": 0, "rewritten": [], "locks": [
             {"relation": "public.shop_customer", "mode": "RowExclusiveLock", "seconds": 0.2,
              "waited": False}]},
        {"migration": "shop.0004_quantity_bigint", "status": "timeout", "seconds": 9.0,
         "wal_bytes": 3 * 1024 * 1024, "size_change_bytes": 0,
         "rewritten": ["public.shop_order"], "locks": [
             {"relation": "public.shop_order", "mode": "AccessExclusiveLock", "seconds": 2.5,
              "waited": True}]},
    ]}  # fmt: skip
    good.datasets = [*good.datasets, pg]
    good.save(update_fields=["datasets"])
    html = client.get(f"/gate/checks/{good.pk}/").content.decode()
    assert ">shop-small</a></th>" in html and "<th>shop-pg</th>" in html  # no log: no link
    matrix = {re.search(r'data-migration="([^"]+)"', r).group(1): r
              for r in rows(html, "gate-matrix")}  # fmt: skip
    assert list(matrix) == ["shop.0001_initial", *MIGRATIONS]
    initial = matrix["shop.0001_initial"]
    assert 'title="not run on this dataset' in initial  # shop-small was past it
    assert "no exclusive lock" in initial and "WAL 2.0\xa0KB" in initial
    note = matrix["shop.0002_note"]
    assert "locks n/a" in note and "public.shop_customer" not in note  # not exclusive
    widen = matrix["shop.0004_quantity_bigint"]
    assert 'gate-cell-bad" data-status="timeout"' in widen and "<b>timeout</b>" in widen
    assert "public.shop_order 2.50 s" in widen and "(waited for it)" in widen
    assert "rewrote public.shop_order" in widen and "WAL 3.0\xa0MB" in widen
    assert "WARNING: dangerous_lock" in widen


# --- the log viewer -----------------------------------------------------------------------------


def test_the_log_viewer_lists_each_migration_and_highlights_the_failure(client, gate):
    _, bad = gate
    html = client.get(log_url(bad)).content.decode()
    log = (bad.log_dir / "shop-small.log").read_text().splitlines()
    starts = {line.split("=== start ")[1]: n for n, line in enumerate(log, 1)
              if "=== start " in line}  # fmt: skip
    assert list(starts) == [*MIGRATIONS, BROKEN]
    toc = html.split('class="card gate-toc"', 1)[1].split("</nav>", 1)[0]
    for migration, number in starts.items():
        assert f'<a href="#L{number}" data-migration="{migration}">' in toc
        # the anchor is the start line itself, numbered and linkable
        assert re.search(
            rf'<div class="gl gl-start[^"]*" id="L{number}"><a class="gl-n" href="#L{number}">'
            rf"{number}</a>", html)  # fmt: skip
    assert '<li class="gate-toc-failed">' in toc and "<b>failed</b>" in toc
    assert toc.count('class="gate-toc-ok"') == 3

    lines = {int(n): css for css, n in re.findall(r'<div class="(gl[^"]*)" id="L(\d+)"', html)}
    assert len(lines) == len(log)
    end = next(n for n, line in enumerate(log, 1) if f"=== end {BROKEN} FAILED" in line)
    error = next(n for n, line in enumerate(log, 1)
                 if "django.db.utils.OperationalError: duplicate column name" in line)  # fmt: skip
    verdict = next(n for n, line in enumerate(log, 1) if "FAILURE: shop-small" in line)
    assert "gl-end-failed" in lines[end] and "gl-error" in lines[error]
    assert "gl-failure" in lines[verdict]
    assert all("gl-in-failed" in lines[n] for n in range(starts[BROKEN], end + 1))
    assert not any("gl-in-failed" in lines[n] or "gl-error" in lines[n]
                   for n in range(1, starts[BROKEN]))  # fmt: skip
    assert f'href="#L{error}" class="gate-toc-error"' in toc  # the error, one click away
    assert f'<span id="m-{BROKEN}"></span>' in html  # the check page's links land here
    assert f'href="{log_url(bad)}raw"' in html and "lines shown" in html


def test_a_long_log_is_cut_with_a_note_and_the_raw_link(client, gate, monkeypatch):
    from migrations_gate import selectors

    _, bad = gate
    monkeypatch.setattr(selectors, "LOG_LINES_SHOWN", 8)
    html = client.get(log_url(bad)).content.decode()
    assert len(re.findall(r'<div class="gl[^"]*" id="L\d+"', html)) == 8
    assert "Only the first 8 lines are shown here" in html
    toc = html.split('class="card gate-toc"', 1)[1].split("</nav>", 1)[0]
    assert f'<code>{BROKEN}</code> <span class="muted">(past the lines shown)</span>' in toc


def test_the_raw_log_is_a_plain_text_download(client, gate):
    _, bad = gate
    response = client.get(log_url(bad) + "raw")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="gate-check-{bad.pk}-shop-small.log"'
    )
    assert b"".join(response.streaming_content) == (bad.log_dir / "shop-small.log").read_bytes()


def test_only_a_check_s_own_datasets_have_a_log(client, gate):
    good, bad = gate
    (bad.log_dir / "other.log").write_text("not one of the check's datasets\n")
    names = ["other", "..", ".", "job", "shop-small.log", "%2e%2e", "..%2fjob.log",
             "..%2F..%2F..%2Fetc%2Fpasswd", "shop-small%2F..%2Fjob"]  # fmt: skip
    for name in names:
        for suffix in ("", "raw"):
            url = f"/gate/checks/{bad.pk}/log/{name}/{suffix}"
            assert client.get(url).status_code == 404, url
    assert (
        client.get(f"/gate/checks/{bad.pk}/log/../../{good.pk}/log/shop-small/").status_code == 404
    )


def test_no_log_of_a_missing_check_or_file(client, gate):
    good, _ = gate
    assert client.get("/gate/checks/99999/log/shop-small/").status_code == 404
    (good.log_dir / "shop-small.log").unlink()
    assert client.get(log_url(good)).status_code == 404
    assert client.get(log_url(good) + "raw").status_code == 404


# --- recheck ------------------------------------------------------------------------------------


def test_a_recheck_is_for_staff_with_a_csrf_token(client, gate, django_user_model):
    _, bad = gate
    url = f"/gate/checks/{bad.pk}/recheck/"
    assert client.post(url).status_code == 403  # anonymous
    client.force_login(django_user_model.objects.create_user("reader"))
    assert client.post(url).status_code == 403  # logged in, not staff
    assert client.get(url).status_code == 405
    staff = django_user_model.objects.create_user("lead", is_staff=True)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff)
    assert strict.post(url).status_code == 403  # no CSRF token
    assert Check.objects.count() == 2

    page = strict.get(f"/gate/checks/{bad.pk}/").content.decode()
    assert "Recheck</button>" in page and f'action="{url}"' in page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = strict.post(url, {"csrfmiddlewaretoken": token})
    again = Check.objects.latest("pk")
    assert response.status_code == 302 and response["Location"] == f"/gate/checks/{again.pk}/"
    assert again.recheck_of_id == bad.pk and again.ref == "broken" and again.state == "queued"
    shown = strict.get(response["Location"]).content.decode()
    assert f"Check {again.pk} queued: a recheck of check {bad.pk}." in shown
    assert f'<a href="/gate/checks/{bad.pk}/">check {bad.pk}</a>' in shown  # recheck of
    assert "Not checked yet." in shown and "none yet" in shown  # no log written yet
    original = strict.get(f"/gate/checks/{bad.pk}/").content.decode()
    assert f'<a href="/gate/checks/{again.pk}/">check {again.pk}</a>' in original  # rechecks
    assert "job.log</a>" in original  # staff see the gate's own log


def test_a_recheck_that_cannot_be_submitted_says_why(staff_client, gate):
    _, bad = gate
    bad.project.datasets.clear()
    response = staff_client.post(f"/gate/checks/{bad.pk}/recheck/", follow=True)
    assert response.redirect_chain[-1][0] == f"/gate/checks/{bad.pk}/"
    assert "project shop has no dataset to check on" in response.content.decode()
    assert staff_client.post("/gate/checks/99999/recheck/").status_code == 302  # NotFound: said


# --- datasets and projects ----------------------------------------------------------------------


def test_the_datasets_and_projects(client, gate):
    html = client.get("/gate/datasets/").content.decode()
    (dataset,) = rows(html, "gate-datasets")
    assert ">shop-small</b>" in dataset and ">sqlite<" in dataset
    assert '<pre class="gate-rules">columns:\n  shop_customer.name: name' in dataset
    assert '<code>shop_order</code></th><td class="num">1</td>' in dataset
    assert "<code>django: shop 0001_initial</code>" in dataset
    assert "3 tables, 3 rows</summary>" in dataset  # a customer, an order, a migration
    assert "shop.sqlite" in dataset and ">shop<" in dataset  # source, and its project
    (project,) = rows(html, "gate-projects")
    assert ">shop</b>" in project and "shopsite.settings" in project and "shop-small" in project
    assert "3,600 s per dataset" in project and "120 s until 5 runs" in project
    assert "over it warns" in project and 'href="/gate/?project=shop"' in project


def test_the_pages_are_in_the_navigation(client, db):
    html = client.get("/gate/").content.decode()
    assert '<a href="/gate/">Migration gate</a>' in html
    assert "No check yet" in html
    assert "No dataset registered." in client.get("/gate/datasets/").content.decode()


def test_pages_need_a_login_when_reading_is_not_public(client, gate, settings):
    _, bad = gate
    settings.ASSAY_PUBLIC_READ = False
    for url in ("/gate/", f"/gate/checks/{bad.pk}/", log_url(bad), log_url(bad) + "raw",
                "/gate/datasets/"):  # fmt: skip
        assert client.get(url).status_code == 302, url


def test_an_internal_error_is_not_the_change_s_fault(client, gate):
    good, _ = gate
    check = Check.objects.create(project=good.project, ref="gone", state="succeeded",
                                 outcome="INTERNAL_ERROR", datasets=[
        {"dataset": "shop-small", "outcome": "INTERNAL_ERROR", "findings": [], "steps": [],
         "left": None, "error": "no such ref gone in the repository"}])  # fmt: skip
    html = client.get(f"/gate/checks/{check.pk}/").content.decode()
    assert 'INTERNAL ERROR</span> <span class="gate-not-fault">not the change\'s fault' in html
    assert '<p class="gate-error">no such ref gone in the repository</p>' in html
    assert "/log/shop-small/" not in html and "gate-matrix" not in html  # nothing ran
    assert client.get(log_url(check)).status_code == 404


def test_a_log_s_text_is_escaped(client, gate):
    _, bad = gate
    with (bad.log_dir / "shop-small.log").open("a") as fh:
        fh.write('2026-01-01T00:00:00+00:00 <script>alert("x")</script> & <b>\n')
    html = client.get(log_url(bad)).content.decode()
    assert "<script>alert" not in html and "<b>\n" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;" in html
