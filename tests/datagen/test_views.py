"""The datagen pages: the list of runs, a run's page with its chunk map, the map's JSON."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import jobs
from core.models import Engine, JobState
from datagen.generator import parse_spec
from datagen.models import Chunk, DatagenRun
from datagen.services import runs
from datagen.views import human_duration
from tests.datagen.generator.factories import every_generator, two_tables

pytestmark = pytest.mark.django_db

STATES = ("target", "assigned", "completed", "limbo")


@pytest.fixture
def submit(tmp_path: Path):
    def submit(data: dict | None = None, **options) -> DatagenRun:
        options.setdefault("output_dir", str(tmp_path / "out"))
        return runs.submit_run(parse_spec(data or two_tables()), seed=7, **options)

    return submit


def set_up(run: DatagenRun) -> list[int]:
    """The run's setup through the core runner; the chunks' row ids, in chunk id order."""
    assert jobs.run_job("datagen.DatagenRun", run.pk) == "succeeded"
    return list(Chunk.objects.filter(run=run).order_by("chunk_id").values_list("pk", flat=True))


def work(pks: list[int]) -> list[str]:
    return [jobs.run_job("datagen.Chunk", pk) for pk in pks]


def fail_chunks(monkeypatch, *chunk_ids: int) -> None:
    """Writing those chunks fails, as a full disk would."""
    from datagen import generator  # work_chunk imports the writer from it when it runs

    real = generator.write_chunk

    def write_chunk(data, *args, **kwargs):
        if data.chunk_id in chunk_ids:
            raise OSError(f"No space left on device <chunk {data.chunk_id}>")
        return real(data, *args, **kwargs)

    monkeypatch.setattr(generator, "write_chunk", write_chunk)


def cells(html: str) -> dict[int, str]:
    """The chunk map: chunk id -> state, as drawn."""
    found = re.findall(r'class="cell s-(\w+)" data-chunk="(\d+)"', html)
    return {int(chunk_id): state for state, chunk_id in found}


# --- one builder per phase: each returns the run in that phase ------------------------------


def queued(submit, monkeypatch) -> DatagenRun:
    return submit(label="nightly")


def setting_up(submit, monkeypatch) -> DatagenRun:
    run = submit()
    DatagenRun.objects.filter(pk=run.pk).update(state=JobState.RUNNING, started_at=timezone.now())
    return run


def setup_failed(submit, monkeypatch) -> DatagenRun:
    run = submit()
    DatagenRun.objects.filter(pk=run.pk).update(
        state=JobState.FAILED, error="AssayError: Cannot create the tables on pg: refused"
    )
    return run


def generating(submit, monkeypatch) -> DatagenRun:
    run = submit()
    pks = set_up(run)
    assert work(pks[:3]) == ["succeeded"] * 3
    jobs.claim(Chunk, pks[3], "worker-7")
    return run


def finished(submit, monkeypatch) -> DatagenRun:
    run = submit()
    assert work(set_up(run)) == ["succeeded"] * 8
    return run


def finished_with_limbo(submit, monkeypatch) -> DatagenRun:
    fail_chunks(monkeypatch, 2, 5)
    run = submit(chunk_attempts=1)
    assert work(set_up(run)).count("failed") == 2
    return run


PHASES = {
    "queued": (queued, {"target": 8}),
    "setting up": (setting_up, {"target": 8}),
    "setup failed": (setup_failed, {"target": 8}),
    "generating": (generating, {"completed": 3, "assigned": 1, "target": 4}),
    "finished": (finished, {"completed": 8}),
    "finished with limbo": (finished_with_limbo, {"completed": 6, "limbo": 2}),
}


@pytest.mark.parametrize("phase", PHASES)
def test_a_run_page_in_each_phase(client, submit, monkeypatch, phase):
    build, expected = PHASES[phase]
    run = build(submit, monkeypatch)
    resp = client.get(f"/datagen/runs/{run.pk}/")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert f'data-field="phase">{phase}</span>' in html
    counts = dict(re.findall(r'data-count="(\w+)">([\d,]+)<', html))
    assert counts == {s: str(expected.get(s, 0)) for s in STATES}
    # The map: a cell per chunk (before setup too), coloured by state, titled "chunk N: state".
    states = cells(html)
    assert sorted(states) == list(range(8))
    assert sorted(states.values()) == sorted(s for s, n in expected.items() for _ in range(n))
    assert 'title="chunk 0: ' in html and '<span class="maplabel">0–7</span>' in html
    for shown in [
        "<th>Spec</th><td>t</td>",
        "<th>Seed</th><td>7</td>",
        "<code>all</code> (8 chunks)",
        "Parquet in <code>",
        f"<th>Attempts per chunk</th><td>{run.chunk_attempts}</td>",
    ]:
        assert shown in html
    over = phase.startswith(("finished", "setup failed"))
    # The page polls only while there is something to wait for.
    assert ("datagen/chunkmap.js" in html) is not over
    assert 'data-progress-url="/datagen/runs/' in html


def test_the_load_engine_is_named(client, submit, tmp_path):
    Engine.objects.create(name="target-db", kind="sqlite", path=str(tmp_path / "t.sqlite"))
    run = submit(output_format="none", load_engine="target-db", replace_tables=True)
    html = client.get(f"/datagen/runs/{run.pk}/").content.decode()
    assert "<td>target-db (tables replaced)</td>" in html
    assert "No files (load only)</td>" in html


def test_setup_failure_shows_its_error(client, submit, monkeypatch):
    run = setup_failed(submit, monkeypatch)
    html = client.get(f"/datagen/runs/{run.pk}/").content.decode()
    assert "Setup error" in html and "Cannot create the tables on pg: refused" in html


def test_a_finished_run_links_its_results_and_lists_limbo_errors(client, submit, monkeypatch):
    run = finished_with_limbo(submit, monkeypatch)
    run.refresh_from_db()
    html = client.get(f"/datagen/runs/{run.pk}/").content.decode()
    assert f'href="/runs/{run.results_run}/"' in html
    limbo = html[html.index("Chunks in limbo") :]
    rows = re.findall(r'<td class="num">(\d+)</td><td><pre class="error">([^<]*)</pre>', limbo)
    assert rows == [
        ("2", "OSError: No space left on device &lt;chunk 2&gt;"),  # escaped
        ("5", "OSError: No space left on device &lt;chunk 5&gt;"),
    ]
    assert "none (finished)" in html
    # a finished run without limbo has no limbo section
    monkeypatch.undo()
    done = finished(submit, monkeypatch)
    assert "Chunks in limbo" not in client.get(f"/datagen/runs/{done.pk}/").content.decode()


def test_only_the_first_limbo_errors_are_listed(client, submit, monkeypatch):
    data = two_tables()
    data["chunking"]["num_chunks"] = 60
    run = submit(data)
    set_up(run)
    Chunk.objects.filter(run=run).update(state=JobState.FAILED, error="boom")
    html = client.get(f"/datagen/runs/{run.pk}/").content.decode()
    assert "60: the first 50 shown" in html
    assert html.count('<pre class="error">boom</pre>') == 50


def test_the_list_shows_runs_newest_first_with_their_phase_and_states(client, submit, monkeypatch):
    made = {phase: build(submit, monkeypatch) for phase, (build, _) in PHASES.items()}
    resp = client.get("/datagen/")
    assert resp.status_code == 200
    html = resp.content.decode()
    links = [int(pk) for pk in re.findall(r'href="/datagen/runs/(\d+)/"', html)]
    assert links == sorted((run.pk for run in made.values()), reverse=True)
    for phase in PHASES:
        assert f'data-field="phase">{phase}</span>' in html
    assert "nightly" in html  # the label
    # the stacked bar of the generating run: completed, assigned and target segments
    assert 'title="completed: 3"' in html and 'title="assigned: 1"' in html
    assert 'title="limbo: 2"' in html
    for phase in ("finished", "finished with limbo"):
        run = made[phase]
        run.refresh_from_db()
        assert f'href="/runs/{run.results_run}/">{run.results_run}</a>' in html
    assert html.count('href="/runs/datagen-t_') == 2
    # the navigation leads here
    assert '<a href="/datagen/">Data generation</a>' in html


def test_the_list_is_paged(client, submit):
    for _ in range(52):
        submit()
    html = client.get("/datagen/").content.decode()
    assert "page 1 of 2" in html and html.count('href="/datagen/runs/') == 50
    assert client.get("/datagen/?page=2").content.decode().count('href="/datagen/runs/') == 2


def test_an_empty_list_says_how_to_start(client):
    assert "manage.py datagen run SPEC" in client.get("/datagen/").content.decode()


def test_the_progress_json(client, submit, monkeypatch):
    run = generating(submit, monkeypatch)
    resp = client.get(f"/datagen/runs/{run.pk}/progress.json")
    assert resp.status_code == 200 and resp["Content-Type"] == "application/json"
    assert "no-cache" in resp["Cache-Control"]
    data = resp.json()
    assert data["phase"] == "generating" and data["finished"] is False
    assert data["counts"] == {"target": 4, "assigned": 1, "completed": 3, "limbo": 0}
    assert data["total"] == 8 and data["percent"] == 37.5
    assert data["chunk_ids"] == list(range(8)) and data["states"] == "cccatttt"
    assert data["rows"] == sum(Chunk.objects.filter(run=run).values_list("rows", flat=True)[:3])
    assert data["rows_per_second"] > 0 and data["seconds_left"] > 0
    assert data["display"]["percent"] == "37.5 %"
    assert data["display"]["done"] == "3 of 8 chunks"
    assert data["display"]["rate"].endswith(" rows/s")

    finished_run = finished_with_limbo(submit, monkeypatch)
    data = client.get(f"/datagen/runs/{finished_run.pk}/progress.json").json()
    assert data["finished"] is True and data["phase"] == "finished with limbo"
    assert data["states"] == "cclcclcc" and data["seconds_left"] == 0.0
    # before setup: no chunk rows yet; the chunks the run will have, all targets
    fresh = submit()
    data = client.get(f"/datagen/runs/{fresh.pk}/progress.json").json()
    assert (data["phase"], data["chunk_ids"], data["states"]) == ("queued", list(range(8)), "t" * 8)
    assert data["counts"]["target"] == 8 and data["percent"] == 0


def test_an_unknown_run_is_a_404(client):
    assert client.get("/datagen/runs/999/").status_code == 404
    assert client.get("/datagen/runs/999/progress.json").status_code == 404
    assert client.post("/datagen/runs/999/").status_code == 405


def test_the_log_link_is_for_staff_only(client, admin_client, submit):
    run = submit()
    link = f'href="/media/logs/datagen/{run.pk}/job.log"'
    assert link not in client.get(f"/datagen/runs/{run.pk}/").content.decode()
    assert link in admin_client.get(f"/datagen/runs/{run.pk}/").content.decode()


def test_private_reads_need_a_login(client, admin_client, submit, settings):
    settings.ASSAY_PUBLIC_READ = False
    run = submit()
    for url in ["/datagen/", f"/datagen/runs/{run.pk}/", f"/datagen/runs/{run.pk}/progress.json"]:
        resp = client.get(url)
        assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/")
        assert admin_client.get(url).status_code == 200


def test_sky_chunks_are_drawn_one_stripe_a_row(client, submit):
    run = submit(every_generator(), chunks="first:40", output_format="csv")
    html = client.get(f"/datagen/runs/{run.pk}/").content.decode()
    labels = re.findall(r'<span class="maplabel">([^<]+)</span>', html)
    assert labels and all(label.startswith("stripe ") for label in labels)
    assert len(cells(html)) == 40


@pytest.mark.db_dependent
def test_the_run_page_reads_the_same_few_queries_for_8_or_400_chunks(
    client, submit, django_assert_max_num_queries
):
    used = []
    for chunks in (8, 400):
        data = two_tables()
        data["chunking"]["num_chunks"] = chunks
        run = submit(data)
        set_up(run)
        now = timezone.now()
        rows = Chunk.objects.filter(run=run)
        rows.filter(chunk_id__lt=chunks // 2).update(
            state=JobState.SUCCEEDED, rows=10, bytes=100, started_at=now, finished_at=now
        )
        rows.filter(chunk_id__gte=chunks - 3).update(state=JobState.FAILED, error="boom")
        with CaptureQueriesContext(connection) as queries, django_assert_max_num_queries(7):
            html = client.get(f"/datagen/runs/{run.pk}/").content.decode()
        assert len(cells(html)) == chunks
        with django_assert_max_num_queries(6):
            data = client.get(f"/datagen/runs/{run.pk}/progress.json").json()
        assert len(data["states"]) == chunks
        used.append(len(queries))
    assert used[0] == used[1]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "unknown"),
        (0, "0 s"),
        (44.6, "45 s"),
        (200, "3 min 20 s"),
        (7500, "2 h 5 min"),
        (3 * 86400 + 4 * 3600 + 59, "3 d 4 h"),
    ],
)
def test_time_left_in_a_human_form(seconds, text):
    assert human_duration(seconds) == text


def test_the_run_list_reads_a_fixed_number_of_queries(
    client, submit, django_assert_max_num_queries
):
    for _ in range(12):
        set_up(submit(two_tables()))
    with django_assert_max_num_queries(6):
        html = client.get("/datagen/").content.decode()
    assert html.count("generating") >= 12
