"""results.services.triage: one triage per target, who and when, comments, checked input."""

from datetime import UTC, datetime

import pytest

from core.exceptions import AssayError
from results.models import Triage, TriageComment
from results.selectors.triage import active_mutes
from results.services.triage import (
    TriageChange,
    add_comment,
    delete_triage,
    set_triage,
    target_of,
    update_triage,
)
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


def test_setting_a_triage_twice_changes_the_one_there_is():
    factories.project("db")
    target = target_of(project="db", test_name="t.x")
    first, created = set_triage(target, TriageChange(defect_type="test_bug"), who="ann")
    assert created and (first.created_by, first.updated_by) == ("ann", "ann")
    assert first.defect_type == "test_bug" and not first.muted
    again, created = set_triage(
        target, TriageChange(muted=True, comment="quarantined until BUG-1 is fixed"), who="bob"
    )
    assert not created and again.pk == first.pk
    assert (again.created_by, again.updated_by) == ("ann", "bob")
    assert again.defect_type == "test_bug" and again.muted and again.is_muted()
    [comment] = TriageComment.objects.filter(triage=again)
    assert comment.author == "bob" and comment.text.startswith("quarantined")


def test_a_test_narrowed_to_a_host_is_another_target():
    factories.project("db")
    anywhere, _ = set_triage(target_of(project="db", test_name="t.x"), TriageChange(), who="a")
    one_host, created = set_triage(
        target_of(project="db", test_name="t.x", host="h2"), TriageChange(), who="a"
    )
    assert created and one_host.pk != anywhere.pk and Triage.objects.count() == 2


def test_a_naive_expiry_is_utc_and_a_past_one_is_no_mute():
    factories.project("db")
    triage, _ = set_triage(
        target_of(project="db", test_name="t.x"),
        TriageChange(muted=True, muted_until=datetime(2020, 1, 1)),
        who="a",
    )
    assert triage.muted_until == datetime(2020, 1, 1, tzinfo=UTC)
    assert triage.muted and not triage.is_muted()
    update_triage(triage, TriageChange(muted_until=None), who="a")
    assert triage.is_muted()


@pytest.mark.parametrize(
    "target, code",
    [
        ({"project": "db"}, "bad_target"),
        ({"test_name": "t.x"}, "bad_target"),
        ({"project": "nope", "test_name": "t.x"}, "unknown_project"),
        ({"fingerprint": "0123456789abcdeg"}, "bad_fingerprint"),
        ({"fingerprint": "0123456789abcdef", "project": "db"}, "bad_target"),
        ({"project": "db", "test_name": "x" * 1001}, "invalid"),
    ],
)
def test_bad_targets_are_refused(target, code):
    factories.project("db")
    with pytest.raises(AssayError) as refused:
        target_of(**target)
    assert refused.value.code == code


@pytest.mark.parametrize(
    "change, code",
    [
        (TriageChange(defect_type="bug"), "bad_defect_type"),
        (TriageChange(ticket="javascript:alert(1)"), "bad_link"),
        (TriageChange(ticket="https://x.example/" + "a" * 1000), "bad_link"),
        (TriageChange(comment="\x00"), "invalid"),
    ],
)
def test_bad_changes_are_refused_and_write_nothing(change, code):
    factories.project("db")
    with pytest.raises(AssayError) as refused:
        set_triage(target_of(project="db", test_name="t.x"), change, who="a")
    assert refused.value.code == code
    assert not Triage.objects.exists()


def test_an_empty_comment_is_refused():
    factories.project("db")
    triage, _ = set_triage(target_of(project="db", test_name="t.x"), TriageChange(), who="a")
    with pytest.raises(AssayError) as refused:
        add_comment(triage, "   ", who="a")
    assert refused.value.code == "empty_comment"


def test_a_lone_surrogate_is_refused_not_a_500():
    factories.project("db")
    for target in (
        {"project": "db", "test_name": "t.\ud800"},
        {"project": "\ud800", "test_name": "t"},
    ):
        with pytest.raises(AssayError):
            target_of(**target)
    triage, _ = set_triage(target_of(project="db", test_name="t.x"), TriageChange(), who="a")
    with pytest.raises(AssayError):
        add_comment(triage, "\udfff", who="a")


def test_deleting_a_triage_removes_its_comments_and_unmutes():
    factories.project("db")
    target = target_of(project="db", test_name="t.x")
    triage, _ = set_triage(target, TriageChange(muted=True, comment="flaky runner"), who="ann")
    add_comment(triage, "still", who="bob")
    other, _ = set_triage(target_of(fingerprint="0123456789abcdef"), TriageChange(), who="ann")
    assert delete_triage(triage) == 2
    assert list(Triage.objects.all()) == [other] and not TriageComment.objects.exists()
    assert not active_mutes().exists()
    assert delete_triage(other) == 0 and not Triage.objects.exists()
