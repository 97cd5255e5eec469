import pytest

from core.exceptions import NotFound
from results.models import TestResult
from results.services.messages import refresh_messages
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


def _old_results():
    """Results as imported before messages were kept: logs only."""
    one, two = factories.run("old-1"), factories.run("old-2")
    for i in range(7):
        factories.result(one, f"t.fail_{i}", "F", log=f"\n  assert {i} == 4\nTraceback ...\n")
    factories.result(one, "t.err", "E", log="ConnectionError: 10.0.0.1:5432 refused")
    factories.result(one, "t.pass", "P", log="all good")
    factories.result(one, "t.nolog", "F")
    factories.result(two, "t.fail_0", "F", log="assert 99 == 4")
    return one, two


def test_refresh_fills_failing_results_from_their_logs_in_chunks():
    _old_results()
    seen = []
    summary = refresh_messages(chunk=3, progress=lambda done, total, _: seen.append((done, total)))
    assert summary.filled == 9 and summary.without_log == 1
    assert seen[0] == (0, 10) and seen[-1] == (10, 10) and len(seen) == 5  # 4 chunks
    fail = TestResult.objects.get(test_name="t.fail_3")
    assert fail.message == "assert 3 == 4" and len(fail.fingerprint) == 16
    assert TestResult.objects.filter(fingerprint=fail.fingerprint).count() == 8  # both runs
    assert TestResult.objects.get(test_name="t.pass").fingerprint == ""
    again = refresh_messages()
    assert again.filled == 0 and again.examined == 1  # only the one without a log is looked at


def test_refresh_of_one_run():
    _, two = _old_results()
    assert refresh_messages("old-2").filled == 1
    assert TestResult.objects.exclude(fingerprint="").get().run == two
    with pytest.raises(NotFound, match="No run is named 'nope'"):
        refresh_messages("nope")
