"""notify_contacts against a real SMTP server (aiosmtpd on a loopback port): the messages are
received, parsed with the email package and read like a person would."""

from __future__ import annotations

import email
import email.policy
import io
import logging
import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from results.models import Announcement, Contact, TestRun
from results.services import check_expected, gen_expected
from results.services.notify import build_messages, notify_run
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]

BASE = "http://assay.example.org"
RUN = "daily_2026-11-23"


# --- the SMTP server ---------------------------------------------------------------------


class Inbox:
    """aiosmtpd handler: keeps every message; refuses the recipients in `refuse`."""

    def __init__(self) -> None:
        self.envelopes = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(e.content, policy=email.policy.default) for e in self.envelopes
        ]

    def to(self, address: str) -> email.message.EmailMessage:
        found = [m for e, m in zip(self.envelopes, self.messages, strict=True)
                 if e.rcpt_tos == [address]]  # fmt: skip
        assert len(found) == 1, f"{len(found)} messages to {address}"
        return found[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(settings, caplog):
    caplog.set_level(logging.WARNING, logger="mail.log")  # aiosmtpd logs every SMTP command
    inbox = Inbox()
    for attempt in range(3):  # the free port can be taken before the server binds it
        controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
        try:
            controller.start()
            break
        except Exception:
            if attempt == 2:
                raise
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "assay@example.org"
    settings.ASSAY_BASE_URL = BASE
    yield inbox
    controller.stop()


# --- data --------------------------------------------------------------------------------


def contact(proj: str, prefix: str, address: str, fmt: str = "summary", limit: int = 100):
    return Contact.objects.create(
        project=factories.project(proj), test_prefix=prefix, email=address, format=fmt,
        line_limit=limit,
    )  # fmt: skip


@pytest.fixture
def night():
    """A nightly run of two projects, and who looks after what."""
    run = factories.run(RUN)
    r = {}
    for name, status, proj, log in [
        ("storage.btree.test_split", "F", "engine", "AssertionError: split\nexpected 2\ngot 3\n"),
        ("storage.btree.test_merge", "P", "engine", ""),
        ("storage.btree.test_skip", "D", "engine", ""),
        ("storage.wal.test_replay", "E", "engine", "Traceback (most recent call last):\nboom\n"),
        ("storage.wal.test_fsync", "M", "engine", ""),
        ("storage_extra.test_x", "F", "engine", ""),  # not under "storage."
        ("net.test_conn", "F", "engine", "refused\n"),
        ("ui.test_login", "F", "web", "timeout\n"),
    ]:
        r[name] = factories.result(run, name, status, proj=proj, log=log)
    contact("engine", "storage.", "alice@example.com")
    contact("engine", "", "bob@example.com", "full", 6)
    contact("engine", "docs.", "dave@example.com")  # nothing failed under docs.
    contact("web", "", "carol@example.com")
    run.results_by_name = r
    return run


def notify(*args) -> str:
    out = io.StringIO()
    call_command("notify_contacts", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def plain_of(msg) -> str:
    return msg.get_body(("plain",)).get_content().replace("\r\n", "\n")


def html_of(msg) -> str:
    return msg.get_body(("html",)).get_content().replace("\r\n", "\n")


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
    settings.EMAIL_PORT = _free_port()  # nobody listens there
    with pytest.raises(
        CommandError, match=f"Cannot reach the mail server 127.0.0.1:{settings.EMAIL_PORT}"
    ):
        notify(RUN)
    assert not Announcement.objects.exists()


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
    settings.EMAIL_PORT = _free_port()
    _check_then_hook(RUN, django_capture_on_commit_callbacks)  # does not raise
    assert "Cannot reach the mail server" in caplog.text
    assert not Announcement.objects.exists()


def test_announcements_are_listed_in_the_admin(smtp, night, admin_client):
    notify(RUN)
    page = admin_client.get("/admin/results/announcement/")
    assert page.status_code == 200 and b"alice@example.com" in page.content


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
