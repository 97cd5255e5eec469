"""Fixtures the results tests share across their folders."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from results.models import TestRun
from results.services.expected import check_expected
from results.services.runs import refresh_counts
from tests import factories
from tests.results.factories import BEFORE, NOW, SEARCH_NAMES
from tests.results.mail import BASE, RUN, Inbox, contact, free_port

# --- the compare page's two days (pages, and results.services.expected) ----------------


@pytest.fixture
def compared_days():
    """a.breaks P->F and a.missing P->M (regressions), a.fixed F->P (fix), a.new (new),
    a.gone (vanished); a.missing is an M record entered by check_expected for class daily."""
    before = factories.day(
        BEFORE, {"a.ok": "P", "a.breaks": "P", "a.missing": "P", "a.fixed": "F", "a.gone": "P"}
    )
    now = factories.day(NOW, {"a.ok": "P", "a.breaks": "F", "a.fixed": "P", "a.new": "P"})
    factories.expected("daily", "a.missing")
    factories.expected("daily", "a.ok")
    assert check_expected("daily", NOW).added == 1
    now.refresh_from_db()
    return now, before


# --- the search tests' runs (results.selectors.history and its page) ------------------


@pytest.fixture
def search_runs() -> list[TestRun]:
    made = []
    for name, status in [("daily_2026-11-01", "P"), ("pr-7", "F"), ("daily_2026-11-02", "E")]:
        run = factories.run(name)
        for test in SEARCH_NAMES:
            factories.result(run, test, status)
        refresh_counts(run)
        made.append(run)
    return made


# --- notifications (results.services.notify, notify_contacts, the admin) ---------------


@pytest.fixture
def smtp(settings, caplog):
    caplog.set_level(logging.WARNING, logger="mail.log")  # aiosmtpd logs every SMTP command
    inbox = Inbox()
    for attempt in range(3):  # the free port can be taken before the server binds it
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
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


# --- a real SQLite file, and a real server on it (imports while another import parses) ----


@pytest.fixture
def file_database(transactional_db, tmp_path):
    """A function: once called, threads started afterwards open their own connections to a
    real database. On SQLite, a copy of the test database as it is then, in a file (WAL,
    busy timeout, BEGIN IMMEDIATE: the settings' own options), so SQLite's write lock is the
    file's, as in production; on PostgreSQL, the test server. This thread keeps its
    connection (the in-memory test database must stay open), so read through threads too.
    Mark the test django_db(transaction=True)."""
    import sqlite3

    from django.db import connection, connections

    original = connections.settings["default"]

    def switch() -> None:
        if connection.vendor == "sqlite":
            path = tmp_path / "assay.sqlite3"
            connection.ensure_connection()
            with sqlite3.connect(path) as target:
                connection.connection.backup(target)
            target.close()
            connections.settings["default"] = {**original, "NAME": str(path)}

    yield switch
    connections.settings["default"] = original


@pytest.fixture
def held_parse(monkeypatch):
    """Holds the parse of any file named big.* until released: (parsing, release) events.
    The only fake of the concurrency tests; databases, locks and imports are real."""
    import threading

    from results.services import imports

    parsing, release = threading.Event(), threading.Event()
    real_parse = imports.parse_file

    def parse(data, filename: str, **options):
        if Path(filename).stem == "big":
            parsing.set()
            release.wait(timeout=300)  # a safety net only: the test releases it
        return real_parse(data, filename, **options)

    monkeypatch.setattr(imports, "parse_file", parse)
    yield parsing, release
    release.set()


@pytest.fixture
def file_db_server(file_database, token_client):
    """A threaded HTTP server of the site, in this process, on file_database (each request
    thread its own connection). Yields (base URL, a CI token)."""
    import threading

    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application
    from rest_framework.authtoken.models import Token

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args) -> None:  # the test reads the answers, not the log
            pass

    token = Token.objects.get(user__username="ci-bot").key
    file_database()
    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet)
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", token
    finally:
        server.shutdown()
        server.server_close()
