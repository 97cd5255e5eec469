import pytest

from core.exceptions import AssayError, NotFound
from results.models import ExpectedTest, TestResult, TestRun
from results.services import check_expected, gen_expected
from results.services.expected import unexpect
from results.services.runs import refresh_counts
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


@pytest.fixture
def first_day():
    run = factories.run("daily_2026-11-01")
    for name in ["a.t1", "a.t2", "b.t3"]:
        factories.result(run, name, "P")
    factories.result(run, "a.t1", "F", host="h2")  # same name, other host: other identity
    return run


def test_gen_expected_adds_every_test_of_the_run(first_day):
    s = gen_expected("daily", "daily_2026-11-01")
    assert s.added == 4 and s.total_expected == 4
    assert set(ExpectedTest.objects.values_list("test_name", "host")) == {
        ("a.t1", "h1"), ("a.t2", "h1"), ("b.t3", "h1"), ("a.t1", "h2"),
    }  # fmt: skip


def test_gen_expected_adds_only_never_removes(first_day):
    gen_expected("daily", "daily_latest")
    small = factories.run("daily_2026-11-02")
    factories.result(small, "c.new", "P")
    s = gen_expected("daily", "daily_2026-11-02")
    assert s.added == 1 and s.total_expected == 5
    assert gen_expected("daily", "daily_2026-11-02").added == 0


def test_classes_are_separate(first_day):
    gen_expected("daily", "daily_2026-11-01")
    assert gen_expected("marks_tests", "daily_2026-11-01").added == 4
    assert ExpectedTest.objects.count() == 8


def test_check_expected_enters_missing_records_idempotently(first_day):
    gen_expected("daily", "daily_2026-11-01")
    second = factories.run("daily_2026-11-02")
    factories.result(second, "a.t1", "P")
    s = check_expected("daily", "daily_latest")
    assert s.run.name == "daily_2026-11-02" and s.added == 3
    missing = TestResult.objects.filter(run=second, status="M")
    assert set(missing.values_list("test_name", "host")) == {
        ("a.t2", "h1"), ("b.t3", "h1"), ("a.t1", "h2"),
    }  # fmt: skip
    record = missing.get(test_name="a.t2")
    assert record.tra == {"expected_in": "daily"} and "expected in class daily," in record.log
    assert check_expected("daily", "daily_2026-11-02").added == 0
    assert TestResult.objects.filter(run=second).count() == 4
    second.refresh_from_db()
    assert second.status_counts == {"P": 1, "M": 3}


def test_check_expected_creates_a_run_that_never_reported(first_day):
    gen_expected("daily", "daily_2026-11-01")
    s = check_expected("daily", "daily_2026-11-05")
    assert s.added == 4
    assert TestRun.objects.get(name="daily_2026-11-05").status_counts == {"M": 4}


def test_errors_are_clear(first_day):
    with pytest.raises(AssayError, match="No tests are expected in class 'nope'"):
        check_expected("nope", "daily_2026-11-01")
    with pytest.raises(NotFound, match="no run named missing-run"):
        gen_expected("daily", "missing-run")
    with pytest.raises(AssayError, match="not a valid class"):
        gen_expected("bad class", "daily_2026-11-01")


# --- unexpect ------------------------------------------------------------------------------


def test_an_old_m_record_without_its_class_is_removed_from_every_class(compared_days):
    now, _ = compared_days
    for run_class in ("daily", "weekly", "nightly"):
        factories.expected(run_class, "a.old")
    factories.expected("weekly", "a.old", host="other-host")  # another identity: kept
    old = factories.result(now, "a.old", "M")  # no tra["expected_in"]: made before it existed
    refresh_counts(now)
    summary = unexpect(old)
    assert summary.classes == ["daily", "nightly", "weekly"] and summary.removed == 3
    assert list(ExpectedTest.objects.filter(test_name="a.old").values_list("host", flat=True)) == [
        "other-host"
    ]
    assert summary.run.status_counts["M"] == 1  # a.missing is still there
