"""notify_contacts against a real SMTP server (aiosmtpd on a loopback port, tests/results/mail.py):
the messages are received, parsed with the email package and read like a person would."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from results.models import Announcement, Contact
from tests import factories
from tests.results.mail import BASE, RUN, contact, free_port, html_of, notify, plain_of

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


def url(result) -> str:
    return f"{BASE}/results/{result.pk}/"


# --- what each contact receives ----------------------------------------------------------


def test_each_contact_gets_the_failures_under_their_prefix_only(smtp, night):
    out = notify(RUN)
    msg = smtp.to("alice@example.com")
    assert msg["Subject"] == (
        "[Assay] daily_2026-11-23: 1 failing, 1 error, 1 missing in engine.storage"
    )
    assert msg["From"] == "assay@example.org" and msg["To"] == "alice@example.com"
    assert msg["Auto-Submitted"] == "auto-generated"
    text = plain_of(msg)
    html = html_of(msg)
    r = night.results_by_name
    for name in ["storage.btree.test_split", "storage.wal.test_replay", "storage.wal.test_fsync"]:
        assert name in text and url(r[name]) in text
        assert name in html and f'href="{url(r[name])}"' in html
    for name in ["storage.btree.test_merge", "storage.btree.test_skip", "storage_extra.test_x",
                 "net.test_conn", "ui.test_login"]:  # fmt: skip
        assert name not in text and name not in html
    run_url = f"{BASE}/runs/{RUN}/"
    assert run_url in text and f'href="{run_url}"' in html
    assert "AssertionError" not in text  # summary format: no logs

    assert smtp.to("carol@example.com")["Subject"] == f"[Assay] {RUN}: 1 failing in web"
    assert all(e.rcpt_tos != ["dave@example.com"] for e in smtp.envelopes)  # nothing to report
    assert len(smtp.envelopes) == 3
    assert f"sent alice@example.com: [Assay] {RUN}: 1 failing" in out
    assert out.count("\nsent ") + out.startswith("sent ") == 3
    assert f"{RUN}: 3 e-mail(s) sent, 1 address(es) with nothing to report" in out


def test_full_format_adds_the_first_log_lines_within_the_line_limit(smtp, night):
    notify(RUN)
    msg = smtp.to("bob@example.com")  # whole project, full, 6 lines
    assert msg["Subject"] == f"[Assay] {RUN}: 3 failing, 1 error, 1 missing in engine"
    text = plain_of(msg)
    # Sorted by name: net.test_conn (1 + 1 log line), storage.btree.test_split (1 + 3) = 6.
    assert "F net.test_conn" in text and "  | refused" in text
    assert "F storage.btree.test_split" in text
    assert "  | AssertionError: split\n  | expected 2\n  | got 3" in text
    assert "storage.wal" not in text and "storage_extra" not in text
    assert "... and 3 more (see the run page)" in text
    html = html_of(msg)
    assert "AssertionError: split" in html and "... and 3 more" in html


def test_the_log_is_cut_when_the_line_limit_ends_inside_it(smtp, night):
    Contact.objects.filter(email="bob@example.com").update(line_limit=4)
    notify(RUN)
    text = plain_of(smtp.to("bob@example.com"))
    assert "  | AssertionError: split\n  | ...\n" in text  # 1+1 for net, 1+1 for split
    assert "expected 2" not in text
    assert "... and 3 more" in text


def test_summary_lists_names_up_to_the_line_limit(smtp, night):
    Contact.objects.filter(email="alice@example.com").update(line_limit=2)
    notify(RUN)
    text = plain_of(smtp.to("alice@example.com"))
    listed = [line for line in text.splitlines() if line[:2] in ("F ", "E ", "M ")]
    assert listed == [
        "F storage.btree.test_split  [h1 default]",
        "M storage.wal.test_fsync  [h1 default]",
    ]
    assert "... and 1 more (see the run page)" in text
    assert "1 failing, 1 error, 1 missing" in text  # counts cover what is not listed too


def test_a_line_limit_of_zero_sends_the_counts_only(smtp, night):
    Contact.objects.filter(email="alice@example.com").update(line_limit=0)
    notify(RUN)
    body = plain_of(smtp.to("alice@example.com"))
    assert "(1 failing, 1 error, 1 missing)" in body and "... and 3 more" in body
    assert "storage.btree.test_split" not in body


def test_one_address_with_several_contacts_gets_one_merged_email(smtp, night):
    contact("web", "ui.", "alice@example.com")
    contact("engine", "storage.wal.", "ALICE@example.com")  # overlaps storage.: listed once
    notify(RUN)
    msg = smtp.to("alice@example.com")
    assert msg["Subject"] == (
        f"[Assay] {RUN}: 2 failing, 1 error, 1 missing in engine.storage, engine.storage.wal "
        "and 1 more"
    )
    text = plain_of(msg)
    assert text.count("storage.wal.test_replay") == 1
    assert "== engine: tests under storage.*, storage.wal.* " in text
    assert "== web: tests under ui.* (1 failing) ==" in text
    assert Announcement.objects.filter(email="alice@example.com").count() == 1


def test_nothing_is_sent_when_nothing_failed(smtp):
    run = factories.run(RUN)
    factories.result(run, "a.test_ok", "P", proj="engine")
    contact("engine", "", "bob@example.com")
    out = notify(RUN)
    assert smtp.envelopes == []
    assert "0 e-mail(s) sent, 1 address(es) with nothing to report" in out
    assert not Announcement.objects.exists()


def test_no_contacts_says_so(smtp):
    factories.run(RUN)
    assert "no contacts (import them with import_contacts)" in notify(RUN)
    assert smtp.envelopes == []


# --- once per run, unless forced -----------------------------------------------------------


def test_a_run_is_announced_once_and_again_with_force(smtp, night):
    notify(RUN)
    assert len(smtp.envelopes) == 3
    sent = Announcement.objects.get(email="alice@example.com")
    assert sent.run == night and sent.sent_at is not None and sent.tests == 3
    assert sent.subject.startswith(f"[Assay] {RUN}: 1 failing")

    out = notify(RUN)
    assert len(smtp.envelopes) == 3
    assert "0 e-mail(s) sent, 3 already announced (--force to send again)" in out

    out = notify(RUN, "--force")
    assert len(smtp.envelopes) == 6
    assert "3 e-mail(s) sent" in out
    assert Announcement.objects.count() == 3
    assert Announcement.objects.get(email="alice@example.com").sent_at > sent.sent_at


def test_a_new_contact_is_announced_an_already_announced_run(smtp, night):
    notify(RUN)
    contact("web", "", "erin@example.com")
    out = notify(RUN)
    assert [e.rcpt_tos for e in smtp.envelopes[3:]] == [["erin@example.com"]]
    assert "1 e-mail(s) sent, 3 already announced" in out


def test_aliases_name_the_run(smtp, night):
    older = factories.run("daily_2026-11-20")
    factories.result(older, "storage.old", "F", proj="engine")
    notify("daily_latest")
    assert smtp.to("alice@example.com")["Subject"].startswith(f"[Assay] {RUN}:")
    assert not Announcement.objects.filter(run=older).exists()


def test_an_unknown_run_is_one_line(smtp):
    with pytest.raises(CommandError, match="There is no run named nightly-7"):
        notify("nightly-7")


def test_dry_run_prints_and_sends_and_records_nothing(smtp, night):
    out = notify(RUN, "--dry-run")
    assert smtp.envelopes == [] and not Announcement.objects.exists()
    assert f"--- would send to alice@example.com: [Assay] {RUN}: 1 failing" in out
    assert "storage.wal.test_replay" in out and "| AssertionError: split" in out
    assert "3 e-mail(s) would be sent, 1 address(es) with nothing to report" in out

    notify(RUN)
    assert "0 e-mail(s) would be sent, 3 already announced" in notify(RUN, "--dry-run")
    assert "3 e-mail(s) would be sent" in notify(RUN, "--dry-run", "--force")


def test_an_address_being_sent_by_another_notifier_is_skipped(smtp, night):
    # Another notifier claimed carol a moment ago and is still talking to the mail server.
    Announcement.objects.create(run=night, email="carol@example.com", claimed_at=timezone.now())
    out = notify(RUN)
    assert all(e.rcpt_tos != ["carol@example.com"] for e in smtp.envelopes)
    assert "2 e-mail(s) sent, 1 being sent by another notifier" in out


def test_a_claim_left_by_a_dead_notifier_is_taken_over(smtp, night):
    long_ago = timezone.now() - timedelta(hours=1)
    Announcement.objects.create(run=night, email="carol@example.com", claimed_at=long_ago)
    notify(RUN)
    smtp.to("carol@example.com")
    assert Announcement.objects.get(email="carol@example.com").sent_at is not None


# --- mail server trouble -------------------------------------------------------------------


def test_a_refused_recipient_fails_alone_and_is_retried_next_time(smtp, night):
    smtp.refuse = {"carol@example.com"}
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 e-mail\\(s\\) could not be sent; run the command"):
        call_command("notify_contacts", RUN, stdout=out, stderr=err)
    assert "FAILED carol@example.com:" in err.getvalue()
    assert "2 e-mail(s) sent" in out.getvalue() and "1 failed" in out.getvalue()
    assert sorted(Announcement.objects.values_list("email", flat=True)) == [
        "alice@example.com", "bob@example.com",
    ]  # fmt: skip

    smtp.refuse = set()
    assert "1 e-mail(s) sent, 2 already announced" in notify(RUN)
    smtp.to("carol@example.com")
    assert len(smtp.envelopes) == 3


def test_an_unreachable_mail_server_is_one_line_and_nothing_is_recorded(smtp, night, settings):
    settings.EMAIL_PORT = free_port()  # nobody listens there
    with pytest.raises(
        CommandError, match=f"Cannot reach the mail server 127.0.0.1:{settings.EMAIL_PORT}"
    ):
        notify(RUN)
    assert not Announcement.objects.exists()
