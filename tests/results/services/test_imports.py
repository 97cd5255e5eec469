"""The import service: identity, re-imports, missing replaced, all-or-nothing."""

from datetime import UTC, datetime

import pytest

from core.exceptions import AssayError
from results.importers import ParsedResult
from results.models import Project, RunImport, TestResult, TestRun
from results.services import check_expected, gen_expected
from results.services.imports import ImportDefaults, ImportFailed, import_files, record_run
from tests.results.factories import in_thread

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


def pr(name, status="P", **kw):
    return ParsedResult(test_name=name, status=status, **kw)


def test_results_land_with_defaults_where_the_file_is_silent():
    [summary] = record_run(
        [pr("a.b.test_1"), pr("a.b.test_2", "F", host="h9", project="other")],
        ImportDefaults(run="r1", project="proj", host="h1"),
    )
    assert summary.created and summary.imported == 2 and summary.new == 2
    rows = {r.test_name: r for r in TestResult.objects.select_related("project")}
    assert rows["a.b.test_1"].project.name == "proj" and rows["a.b.test_1"].host == "h1"
    assert rows["a.b.test_1"].context == "default"
    assert rows["a.b.test_2"].project.name == "other" and rows["a.b.test_2"].host == "h9"
    assert TestRun.objects.get(name="r1").status_counts == {"P": 1, "F": 1}


def test_a_result_names_its_own_run():
    summaries = record_run([pr("t1", test_run="x"), pr("t2", test_run="y"), pr("t3")],
                           ImportDefaults(run="z"))  # fmt: skip
    assert sorted(s.run.name for s in summaries) == ["x", "y", "z"]


def test_no_run_anywhere_is_refused():
    with pytest.raises(AssayError, match="names no run"):
        record_run([pr("t1")], ImportDefaults())
    assert not TestRun.objects.exists()


def test_reimport_replaces_and_is_counted():
    record_run([pr("t1", "F", log="old"), pr("t2")], ImportDefaults(run="r"))
    [s] = record_run([pr("t1", "P", log="new"), pr("t3")], ImportDefaults(run="r"))
    assert (s.imported, s.new, s.reimported, s.replaced_missing) == (2, 1, 1, 0)
    t1 = TestResult.objects.get(test_name="t1")
    assert t1.status == "P" and t1.log == "new"
    assert TestResult.objects.count() == 3
    assert TestRun.objects.get(name="r").status_counts == {"P": 3}


def test_a_real_result_replaces_a_missing_record():
    record_run([pr("t1"), pr("t2")], ImportDefaults(run="daily_2026-11-01", host="h"))
    gen_expected("daily", "daily_2026-11-01")
    record_run([pr("t1")], ImportDefaults(run="daily_2026-11-02", host="h"))
    check_expected("daily", "daily_2026-11-02")
    assert TestResult.objects.get(run__name="daily_2026-11-02", test_name="t2").status == "M"
    [s] = record_run([pr("t2", "F")], ImportDefaults(run="daily_2026-11-02", host="h"))
    assert s.replaced_missing == 1 and s.reimported == 0
    assert TestResult.objects.get(run__name="daily_2026-11-02", test_name="t2").status == "F"
    assert TestRun.objects.get(name="daily_2026-11-02").status_counts == {"P": 1, "F": 1}


def test_identity_includes_project_host_and_context():
    record_run(
        [pr("t", host="a"), pr("t", host="b"), pr("t", context="py312"), pr("t", project="q")],
        ImportDefaults(run="r", host="a"),
    )
    assert TestResult.objects.count() == 4


def test_times_and_attributes_are_kept():
    start = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    end = datetime(2026, 11, 1, 12, 0, 3, tzinfo=UTC)
    record_run([pr("t", start_time=start, end_time=end, tda={"size": "3"},
                   tra={"rms": "0.1"}, location="/x.py", log="line1\nline2")],
               ImportDefaults(run="r"))  # fmt: skip
    t = TestResult.objects.get()
    assert t.duration == 3.0 and t.start_time == start
    assert t.tda == {"size": "3"} and t.tra == {"rms": "0.1"} and t.log == "line1\nline2"


def test_aliases_work_as_import_targets():
    record_run([pr("t")], ImportDefaults(run="daily_today"))
    from django.utils import timezone

    assert TestRun.objects.get().name == f"daily_{timezone.localdate().isoformat()}"
    record_run([pr("u")], ImportDefaults(run="daily_latest"))
    assert TestRun.objects.count() == 1 and TestResult.objects.count() == 2


JSON_OK = b'{"format": "assay-results/1", "results": [{"name": "a.t1", "status": "P"}]}'


def test_import_files_is_all_or_nothing():
    with pytest.raises(ImportFailed) as err:
        import_files([("good.json", JSON_OK), ("bad.xml", b"<testsuite><testcase name=")],
                     ImportDefaults(run="r"))  # fmt: skip
    assert "bad.xml" in err.value.detail
    assert not TestResult.objects.exists() and not TestRun.objects.exists()
    assert not Project.objects.exists()


def test_import_files_reports_per_file_and_per_run():
    files, runs = import_files([("a.json", JSON_OK)], ImportDefaults(run="r", project="p"))
    assert files[0].format == "json" and files[0].results == 1
    assert runs[0].run.name == "r" and runs[0].counts == {"P": 1}


@pytest.mark.parametrize(
    "item",
    [
        pr("a\x00b"),
        pr("t", log="x\x00y"),
        pr("t", tda={"k": "v\x00"}),
        pr("t", tra={"k\x00": "v"}),
        pr("t", location="src/\x00.py"),
        pr("t", test_runner="py\x00test"),
        pr("t\ud800"),
        pr("tést", log="ünïcode then a lone \udc80 surrogate"),
        pr("t", tda={"k": "\ud83d"}),
        pr("t", project="p\x00"),
        pr("t", project="eng\nBcc: x@y"),
        pr("t", host="h\r1"),
        pr("t", context="a\tb"),
    ],
)
def test_nul_and_control_characters_are_refused_before_anything_is_written(item):
    with pytest.raises(AssayError, match="NUL character|control character|surrogate"):
        record_run([pr("fine"), item], ImportDefaults(run="r"))
    assert not TestResult.objects.exists() and not TestRun.objects.exists()


def test_text_beyond_ascii_is_stored_as_it_is():
    [summary] = record_run(
        [pr("tést_ünïcode", log="日本語 🙂"), pr("t", tda={"clé": "välue"}, location="ß.py")],
        ImportDefaults(run="r"),
    )
    assert summary.new == 2
    stored = TestResult.objects.get(test_name="tést_ünïcode")
    assert stored.log == "日本語 🙂"
    assert TestResult.objects.get(test_name="t").tda == {"clé": "välue"}


@pytest.mark.django_db(transaction=True)
def test_record_run_is_all_or_nothing_outside_a_transaction():
    record_run([pr("t1")], ImportDefaults(run="r1"))  # autocommit: its own transaction
    with pytest.raises(AssayError, match="newest daily"):
        record_run([pr("t", test_run="r2"), pr("u", test_run="daily_latest")], ImportDefaults())
    assert list(TestRun.objects.values_list("name", flat=True)) == ["r1"]
    # the upsert path (an existing run) works in autocommit too
    [s] = record_run([pr("t1", "F"), pr("t2")], ImportDefaults(run="r1"))
    assert (s.reimported, s.new) == (1, 1)
    assert TestRun.objects.get(name="r1").status_counts == {"F": 1, "P": 1}


@pytest.mark.django_db(transaction=True)
def test_concurrent_imports_into_one_new_run(django_db_blocker):
    """Many CI hosts report into daily_today at once: nobody gets an error, nothing is lost,
    and the cached counts add up."""
    import threading

    from django.db import connection

    if connection.vendor == "sqlite":
        pytest.skip("SQLite serializes writers; the race exists on PostgreSQL (--db=postgresql)")
    errors: list[BaseException] = []

    def host(n: int) -> None:
        try:
            with django_db_blocker.unblock():
                record_run(
                    [pr(f"t{i}", "P" if i % 3 else "F") for i in range(200)],
                    ImportDefaults(run="daily_2026-11-20", host=f"h{n}"),
                )
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=host, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    run = TestRun.objects.get(name="daily_2026-11-20")
    assert run.results.count() == 1200
    assert run.status_counts == {"P": 798, "F": 402}


@pytest.mark.django_db(transaction=True)
def test_the_cli_import_parses_outside_its_transaction(file_database, held_parse, tmp_path):
    """import_paths holds no lock while a file parses: a producer's record_run lands
    meanwhile, on a real SQLite file (or PostgreSQL)."""
    from results.services.imports import import_paths

    parsing, release = held_parse
    big = tmp_path / "big.json"
    big.write_bytes(JSON_OK)
    file_database()
    cli = in_thread(lambda: import_paths([big], ImportDefaults(run="cli-run")))
    try:
        assert parsing.wait(timeout=120)
        [s] = in_thread(lambda: record_run([pr("t")], ImportDefaults(run="producer")))()
        assert s.imported == 1 and not release.is_set()
    finally:
        release.set()
    assert cli() == (1, 0)
    names = in_thread(lambda: sorted(TestRun.objects.values_list("name", flat=True)))()
    assert names == ["cli-run", "producer"]


# --- history is append-only for CI -----------------------------------------------------------


@pytest.fixture
def valuable():
    """A valuable run with a pass, a fail and a missing record; and a CI user."""
    from core import roles
    from tests.factories import role_user

    record_run([pr("t.pass"), pr("t.fail", "F"), pr("t.gone", "M")], ImportDefaults(run="rel-1"))
    TestRun.objects.filter(name="rel-1").update(valuable=True)
    return role_user("ci-bot", roles.CI)


@pytest.mark.parametrize(
    "items",
    [[pr("t.fail", "P")], [pr("t.gone", "P")], [pr("t.new"), pr("t.pass")]],
    ids=["re-import", "missing replaced", "new and re-import"],
)
def test_ci_cannot_change_a_valuable_run(valuable, items):
    before = list(TestResult.objects.order_by("id").values_list("test_name", "status", "log"))
    with pytest.raises(AssayError) as err:
        record_run(items, ImportDefaults(run="rel-1"), who="ci-bot", user=valuable)
    assert err.value.code == "valuable_run" and err.value.status == 409
    assert "rel-1 is marked valuable" in err.value.detail
    assert "'rewrite_history'" in err.value.detail
    assert list(TestResult.objects.order_by("id").values_list("test_name", "status", "log")) == (
        before
    )
    assert RunImport.objects.filter(run__name="rel-1").count() == 1  # only the first import


def test_ci_may_add_new_results_to_a_valuable_run(valuable):
    [s] = record_run([pr("t.new")], ImportDefaults(run="rel-1"), who="ci-bot", user=valuable)
    assert (s.new, s.reimported) == (1, 0)


def test_staff_and_the_server_may_change_a_valuable_run(valuable, admin_user):
    [s] = record_run([pr("t.fail", "P")], ImportDefaults(run="rel-1"), user=admin_user)
    assert s.reimported == 1
    [s] = record_run([pr("t.gone", "E")], ImportDefaults(run="rel-1"), source="datagen run 7")
    assert s.replaced_missing == 1
    assert TestRun.objects.get(name="rel-1").status_counts == {"P": 2, "E": 1}


def test_a_request_with_one_refused_change_writes_nothing(valuable):
    """All-or-nothing across files: the first file's results in another run are not kept."""
    other = b'{"format": "assay-results/1", "run": "r2", "results": [{"name": "x", "status": "P"}]}'
    again = b'{"format": "assay-results/1", "results": [{"name": "t.fail", "status": "P"}]}'
    with pytest.raises(AssayError, match="marked valuable"):
        import_files([("a.json", other), ("b.json", again)], ImportDefaults(run="rel-1"),
                     user=valuable)  # fmt: skip
    assert not TestRun.objects.filter(name="r2").exists()


def test_a_run_dated_ahead_is_refused_before_anything_is_written():
    with pytest.raises(ImportFailed, match="more than a day after today"):
        import_files([("a.json", JSON_OK)], ImportDefaults(run="daily_9999-12-31"))
    assert not TestRun.objects.exists()


# --- every import is recorded ----------------------------------------------------------------


def test_every_import_is_recorded_per_run_with_who_and_what_changed():
    files = [("a.json", JSON_OK), ("b.json", JSON_OK.replace(b'"P"', b'"F"'))]
    import_files(files, ImportDefaults(run="r"), who="ci-bot")
    record_run([pr("a.t1", "E"), pr("a.t2")], ImportDefaults(run="r"), source="querygen run 3")
    fields = ["run__name", "who", "source", "results", "new", "reimported", "replaced_missing"]
    rows = list(RunImport.objects.order_by("id").values_list(*fields))
    assert rows == [
        # one row for the request: its second file re-imported what its first wrote
        ("r", "ci-bot", "a.json, b.json", 2, 1, 1, 0),
        ("r", "querygen run 3", "querygen run 3", 2, 1, 1, 0),
    ]


def test_an_import_into_two_runs_records_one_row_each():
    record_run([pr("t", test_run="x"), pr("u", test_run="y")], who="cli")
    assert sorted(RunImport.objects.values_list("run__name", "who", "new")) == [
        ("x", "cli", 1),
        ("y", "cli", 1),
    ]


def test_junit_reruns_land_as_retries_and_a_reimport_replaces_them():
    """Surefire's flaky pass: P with retries (passed on retry); its failed reruns: F with them."""
    from pathlib import Path

    data = (Path(__file__).parents[1] / "importers" / "data" / "surefire.xml").read_bytes()
    import_files([("surefire.xml", data)], ImportDefaults(run="r", project="shop"))
    got = dict(TestResult.objects.values_list("test_name", "retries"))
    prefix = "com.example.store.OrderServiceTest."
    assert got[prefix + "reservesStock"] == 2
    assert got[prefix + "appliesDiscount"] == 2
    assert TestResult.objects.get(test_name=prefix + "reservesStock").status == "P"
    record_run([pr(prefix + "reservesStock")], ImportDefaults(run="r", project="shop"))
    assert TestResult.objects.get(test_name=prefix + "reservesStock").retries == 0


@pytest.mark.parametrize("filename", ["junit.xml", "run.pdk", "run.json"])
def test_an_import_leaves_nothing_for_the_cycle_collector(filename):
    # With the collector off until the results are freed, an import must not leave cycles:
    # a collection would scan every result (it was a tenth of a large JUnit import).
    import gc
    import json

    from results.demo import junit_document

    data = {
        "junit.xml": junit_document(200),
        "run.pdk": b"".join(b"test_name=t%d\nstatus=P\nEND\n" % n for n in range(200)),
        "run.json": json.dumps(
            {
                "format": "assay-results/1",
                "results": [{"name": f"t{n}", "status": "P"} for n in range(200)],
            }
        ).encode(),
    }[filename]
    import_files([(filename, data)], ImportDefaults(run="warm"))  # loads what it needs
    gc.collect()
    gc.disable()
    try:
        import_files([(filename, data)], ImportDefaults(run="r"))
        assert gc.collect() == 0
    finally:
        gc.enable()
    assert TestResult.objects.filter(run__name="r").count() == 200


def test_the_collector_stays_off_until_an_import_is_done(monkeypatch, tmp_path):
    # Turned on while the results are alive, its first collection scans every one of them.
    import gc

    from results.services import imports

    seen = []

    def watched(name, real):
        def call(*args, **kwargs):
            seen.append((name, gc.isenabled()))
            try:
                return real(*args, **kwargs)
            finally:
                seen.append((f"after {name}", gc.isenabled()))

        return call

    monkeypatch.setattr(imports, "parse_one", watched("parse", imports.parse_one))
    monkeypatch.setattr(imports, "write_prepared", watched("write", imports.write_prepared))
    good = b"test_name=t1\nstatus=P\nEND\n"
    assert gc.isenabled()
    import_files([("a.pdk", good)], ImportDefaults(run="r1"))
    (tmp_path / "b.pdk").write_bytes(good)
    assert imports.import_paths([tmp_path / "b.pdk"], ImportDefaults(run="r2")) == (1, 0)
    assert len(seen) == 8 and not any(on for _, on in seen), seen
    assert gc.isenabled()
    # A refused file turns it back on too.
    with pytest.raises(ImportFailed):
        import_files([("bad.pdk", b"nonsense\n")], ImportDefaults(run="r3"))
    assert gc.isenabled()
    (tmp_path / "bad.pdk").write_bytes(b"nonsense\n")
    assert imports.import_paths([tmp_path / "bad.pdk"], ImportDefaults(run="r3")) == (0, 1)
    assert gc.isenabled()
