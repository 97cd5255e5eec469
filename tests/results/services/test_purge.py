import pytest

from core.exceptions import AssayError, NotFound
from results.importers import ParsedResult
from results.models import TestResult, TestRun
from results.services import clean_results, find_runs
from results.services.imports import ImportDefaults, record_run
from results.services.purge import delete_runs_by_pattern
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


@pytest.fixture
def march():
    for day in ["2009-03-09", "2009-03-10", "2009-03-11", "2009-04-01"]:
        run = factories.run(f"daily_{day}")
        for i in range(7):
            factories.result(run, f"t{i}", "P")


def names():
    return sorted(TestRun.objects.filter(deleted_at__isnull=True).values_list("name", flat=True))


def test_delete_one_run_by_name(march):
    s = delete_runs_by_pattern("daily_2009-03-10", wild=False, dry_run=False)
    assert s.deleted == ["daily_2009-03-10"] and s.results == 7
    assert "daily_2009-03-10" not in names()
    assert TestResult.objects.count() == 28  # rows stay until clean_results


def test_wildcards_need_wild(march):
    with pytest.raises(AssayError, match="add --wild"):
        delete_runs_by_pattern("daily_2009-03-*", wild=False, dry_run=False)
    s = delete_runs_by_pattern("daily_2009-03-*", wild=True, dry_run=False)
    assert len(s.deleted) == 3 and names() == ["daily_2009-04-01"]


def test_question_mark_and_special_characters(march):
    factories.run("a.b+c")
    factories.run("axbbc")
    assert [r.name for r in find_runs("daily_2009-03-1?", wild=True)] == [
        "daily_2009-03-10", "daily_2009-03-11",
    ]  # fmt: skip
    # '.' and '+' are literal, not regex operators
    assert [r.name for r in find_runs("a.b+*", wild=True)] == ["a.b+c"]
    assert [r.name for r in find_runs("a?b+c", wild=True)] == ["a.b+c"]


def test_count_is_a_dry_run(march):
    s = delete_runs_by_pattern("daily_*", wild=True, dry_run=True)
    assert len(s.deleted) == 4 and s.results == 28
    assert len(names()) == 4


def test_valuable_runs_are_refused(march):
    TestRun.objects.filter(name="daily_2009-03-10").update(valuable=True)
    with pytest.raises(AssayError, match="marked valuable"):
        delete_runs_by_pattern("daily_2009-03-10", wild=False, dry_run=False)
    s = delete_runs_by_pattern("daily_2009-03-*", wild=True, dry_run=False)
    assert s.refused_valuable == ["daily_2009-03-10"] and len(s.deleted) == 2
    assert names() == ["daily_2009-03-10", "daily_2009-04-01"]


def test_no_match_is_an_error(march):
    with pytest.raises(NotFound):
        delete_runs_by_pattern("nothing_*", wild=True, dry_run=False)


def test_clean_removes_rows_in_chunks_and_keeps_live_runs(march):
    delete_runs_by_pattern("daily_2009-03-*", wild=True, dry_run=False)
    seen = []
    s = clean_results(chunk=3, progress=lambda done, total, msg: seen.append((done, total)))
    assert s.results_deleted == 21 and s.runs_removed == 3
    assert TestResult.objects.count() == 7 and TestRun.objects.count() == 1
    assert seen[0] == (0, 21) and seen[-1] == (21, 21)
    assert len([d for d, _ in seen if d]) >= 21 // 3  # one step per chunk
    assert clean_results().results_deleted == 0


def test_delete_then_reimport_then_clean_keeps_the_new_run(march):
    # The sequence Pandokia's manual worried about.
    delete_runs_by_pattern("daily_2009-04-01", wild=False, dry_run=False)
    record_run([ParsedResult(test_name="fresh", status="P")],
               ImportDefaults(run="daily_2009-04-01"))  # fmt: skip
    clean_results()
    run = TestRun.objects.get(name="daily_2009-04-01")
    assert list(run.results.values_list("test_name", flat=True)) == ["fresh"]
    assert run.status_counts == {"P": 1}
