"""The notification tests' mail: an SMTP server on a loopback port (aiosmtpd; the `smtp`
fixture of tests/results/conftest.py) that keeps what it receives, readers of the messages, and
the contacts and the nightly run (`night`) they are about."""

from __future__ import annotations

import email
import email.policy
import io
import socket

from django.core.management import call_command

from results.models import Contact
from tests import factories

BASE = "http://assay.example.org"
RUN = "daily_2026-11-23"


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def contact(proj: str, prefix: str, address: str, fmt: str = "summary", limit: int = 100):
    return Contact.objects.create(
        project=factories.project(proj), test_prefix=prefix, email=address, format=fmt,
        line_limit=limit,
    )  # fmt: skip


def notify(*args) -> str:
    out = io.StringIO()
    call_command("notify_contacts", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def plain_of(msg) -> str:
    return msg.get_body(("plain",)).get_content().replace("\r\n", "\n")


def html_of(msg) -> str:
    return msg.get_body(("html",)).get_content().replace("\r\n", "\n")
