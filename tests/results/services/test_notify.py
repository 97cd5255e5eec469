"""results.services.notify against a real SMTP server (tests/results/mail.py): what reading
and sending cost, and check_expected's hook. The e-mails themselves: notify_contacts' tests."""

from __future__ import annotations

import pytest

from results.models import Announcement, TestRun
from results.services import check_expected, gen_expected
from results.services.notify import build_messages, notify_run
from tests import factories
from tests.results.mail import RUN, contact, free_port, plain_of

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


# --- bounded queries -----------------------------------------------------------------------


def test_reading_takes_a_fixed_number_of_queries(smtp, night, django_assert_max_num_queries):
    for i in range(30):
        contact("engine", f"storage.{'btree' if i % 2 else 'wal'}.", f"p{i}@example.com", "full")
        contact("web", "ui.", f"p{i}@example.com")
    # contacts, results, log heads (full format): three queries for 34 addresses.
    with django_assert_max_num_queries(3):
        messages, quiet, count = build_messages(night)
    assert len(messages) == 33 and quiet == ["dave@example.com"] and count == 64


def test_sending_costs_a_few_queries_per_email(smtp, night, django_assert_max_num_queries):
    for i in range(20):
        contact("web", "", f"p{i}@example.com")
    # 3 reads + 1 for the run's announcements, then per e-mail: claim (savepoint, insert,
    # release) and mark sent.
    with django_assert_max_num_queries(4 + 4 * 23):
        summary = notify_run(night)
    assert len(summary.messages) == 23 == len(smtp.envelopes)


# --- check_expected's hook -----------------------------------------------------------------


@pytest.fixture
def expected_night(night):
    for name in ["storage.wal.test_fsync", "storage.new.test_gone", "ui.test_login"]:
        factories.expected("daily", name, proj="engine" if name.startswith("s") else "web")
    return night


def _check_then_hook(run_name: str, capture, run_class: str = "daily") -> None:
    """check_expected alone: it calls the hook itself, which sends after the commit."""
    with capture(execute=True):
        check_expected(run_class, run_name)


def test_check_expected_announces_a_recurring_run_when_enabled(
    smtp, expected_night, settings, django_capture_on_commit_callbacks
):
    settings.ASSAY_NOTIFY_AFTER_CHECK_EXPECTED = True
    _check_then_hook("daily_latest", django_capture_on_commit_callbacks)
    msg = smtp.to("alice@example.com")
    assert msg["Subject"] == f"[Assay] {RUN}: 1 failing, 1 error, 2 missing in engine.storage"
    assert "storage.new.test_gone" in plain_of(msg)  # the new M
    assert len(smtp.envelopes) == 3
    _check_then_hook(RUN, django_capture_on_commit_callbacks)  # a second check: no new e-mail
    assert len(smtp.envelopes) == 3


def test_check_expected_sends_nothing_when_disabled(
    smtp, expected_night, settings, django_capture_on_commit_callbacks
):
    settings.ASSAY_NOTIFY_AFTER_CHECK_EXPECTED = False
    _check_then_hook(RUN, django_capture_on_commit_callbacks)
    assert smtp.envelopes == [] and not Announcement.objects.exists()


def test_check_expected_announces_only_recurring_runs(
    smtp, settings, django_capture_on_commit_callbacks
):
    settings.ASSAY_NOTIFY_AFTER_CHECK_EXPECTED = True
    run = factories.run("mark-25")
    factories.result(run, "a.t", "P", proj="engine")
    gen_expected("marks", "mark-25")
    factories.expected("marks", "a.gone", proj="engine")
    contact("engine", "", "bob@example.com")
    _check_then_hook("mark-25", django_capture_on_commit_callbacks, "marks")
    assert TestRun.objects.get(name="mark-25").status_counts == {"P": 1, "M": 1}
    assert smtp.envelopes == []


def test_the_hook_logs_instead_of_failing_check_expected(
    smtp, expected_night, settings, django_capture_on_commit_callbacks, caplog
):
    settings.ASSAY_NOTIFY_AFTER_CHECK_EXPECTED = True
    settings.EMAIL_PORT = free_port()
    _check_then_hook(RUN, django_capture_on_commit_callbacks)  # does not raise
    assert "Cannot reach the mail server" in caplog.text
    assert not Announcement.objects.exists()


def test_the_hook_can_wait_for_the_class_that_completes_a_run(
    smtp, expected_night, settings, django_capture_on_commit_callbacks
):
    """With two classes checked on one run, only the named (last) one announces, so the
    missing tests of both are in the one e-mail."""
    settings.ASSAY_NOTIFY_AFTER_CHECK_EXPECTED = ["nightly-extra"]
    factories.expected("nightly-extra", "storage.wal.test_extra", proj="engine")
    _check_then_hook(RUN, django_capture_on_commit_callbacks)  # class daily: no e-mail
    assert smtp.envelopes == []
    _check_then_hook(RUN, django_capture_on_commit_callbacks, "nightly-extra")
    text = plain_of(smtp.to("alice@example.com"))
    assert "storage.new.test_gone" in text and "storage.wal.test_extra" in text


# --- muted tests ----------------------------------------------------------------------------


def test_muted_tests_and_clusters_are_e_mailed_to_nobody(smtp, night):
    from datetime import timedelta

    from django.utils import timezone

    from results.models import TestResult, Triage

    engine = factories.project("engine")
    Triage.objects.create(
        project=engine, test_name="storage.btree.test_split", muted=True, created_by="t",
        updated_by="t",
    )  # fmt: skip
    TestResult.objects.filter(test_name="storage.wal.test_replay").update(
        fingerprint="00000000000000ee"
    )
    Triage.objects.create(
        fingerprint="00000000000000ee", muted=True, created_by="t", updated_by="t"
    )
    # Expired: counts again.
    Triage.objects.create(
        project=engine, test_name="net.test_conn", muted=True, created_by="t", updated_by="t",
        muted_until=timezone.now() - timedelta(minutes=1),
    )  # fmt: skip
    notify_run(night)
    bob = plain_of(smtp.to("bob@example.com"))
    assert "net.test_conn" in bob and "storage.wal.test_fsync" in bob
    assert "storage.btree.test_split" not in bob and "storage.wal.test_replay" not in bob
    alice = smtp.to("alice@example.com")
    assert alice["Subject"] == f"[Assay] {RUN}: 1 missing in engine.storage"
