"""crashtest/harness/imports.py against a real site (a throwaway site's `runserver`): a
crash-free stretch, every kind of bad import, a check that fails when an import goes missing.
The web server killed and restarted under the clients is the crash test's own business
(tests/crashtest/management/commands/test_crashtest.py kills it a few times a minute)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from crashtest.harness.accounting import Check, failed
from crashtest.harness.imports import BAD_KINDS, ImportsWorkload
from crashtest.harness.site import ThrowawaySite, free_port

TOKEN = """
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from django.contrib.auth.models import Group
user = get_user_model().objects.create_user("crashtest")
user.groups.add(Group.objects.get(name="CI"))
print(Token.objects.create(user=user).key)
"""
STARTUP_SECONDS = 30
CHECK_SECONDS = 60


class Web:
    """The site's `runserver` on one port; each life under its own name, so each keeps its log."""

    def __init__(self, site: ThrowawaySite, port: int) -> None:
        self.site, self.port, self.lives, self.name = site, port, 0, ""

    def start(self) -> None:
        self.lives += 1
        self.name = f"web-{self.port}-{self.lives}"
        self.site.start_web(self.name, self.port, time.monotonic() + STARTUP_SECONDS)

    def kill(self) -> None:
        self.site.kill(self.name)


@pytest.fixture(scope="module")
def site_token(tmp_path_factory) -> Iterator[tuple[ThrowawaySite, str]]:
    site = ThrowawaySite(tmp_path_factory.mktemp("imports-site"))
    site.migrate()
    token = site.manage("shell", "-c", TOKEN).strip().splitlines()[-1]
    try:
        yield site, token
    finally:
        site.kill_all()


@pytest.fixture(scope="module")  # one server for the module: each test has its own imports
def web(site_token) -> Iterator[Web]:
    server = Web(site_token[0], free_port())
    server.start()
    try:
        yield server
    finally:
        server.kill()


def workload(web: Web, token: str, seed: int, clients: int) -> ImportsWorkload:
    return ImportsWorkload(f"http://127.0.0.1:{web.port}", token, clients=clients, seed=seed)


def run_until(imports: ImportsWorkload, seconds: float) -> None:
    """Let the clients run at least `seconds`, and until both kinds of bad import were sent."""
    start = time.monotonic()
    while True:
        state = imports.state()
        bad_files = state["refused"] - state["cut_off"] - state["good_refused"]
        if time.monotonic() - start >= seconds and state["cut_off"] and bad_files:
            return
        assert time.monotonic() - start < 60, state
        time.sleep(0.1)


def rows(checks: list[Check]) -> dict[str, int | float | str]:
    return {c.name: c.value for c in checks}


def stretch(imports: ImportsWorkload, web: Web, nemesis: Callable[[], None]) -> tuple[dict, dict]:
    """Clients import while `nemesis` runs, then a second more; then the account, which must
    have no failing row. The clients' state and the rows' values."""
    imports.start()
    try:
        nemesis()
        run_until(imports, 1)
    finally:
        imports.stop()
    state = imports.state()
    checks = imports.check(time.monotonic() + CHECK_SECONDS)
    assert failed(checks) == [], (checks, state, web.site.logs())
    return state, rows(checks)


def test_a_crash_free_stretch_accounts_for_every_import(site_token, web: Web):
    imports = workload(web, site_token[1], seed=1, clients=3)
    state, found = stretch(imports, web, lambda: time.sleep(2))
    assert found["lost"] == 0 and found["acknowledged"] == state["acknowledged"] > 0
    assert state["refused"] > 0 and found["refused left a row"] == 0
    assert state["attempted"] == state["acknowledged"] + state["refused"] + state["indeterminate"]


def test_every_kind_of_bad_import_is_refused_and_leaves_no_row(site_token, web: Web):
    """One of each, the request cut off inside its second file too: Django's multipart parser
    drops an unfinished part and hands the view the files that arrived whole."""
    imports = workload(web, site_token[1], seed=5, clients=1)
    for kind in BAD_KINDS:
        imports.send(f"{imports.prefix}{kind}", kind)
    state = imports.state()
    checks = imports.check(time.monotonic() + CHECK_SECONDS)
    assert failed(checks) == [], (checks, state)
    assert (state["refused"], state["cut_off"], state["acknowledged"]) == (len(BAD_KINDS), 2, 0)


def test_the_check_fails_when_an_acknowledged_import_goes_missing(site_token, web: Web):
    """A deleted run is lost and a run missing one result is half-written: the checker can
    fail."""
    site, token = site_token
    imports = workload(web, token, seed=3, clients=1)
    gone, halved = f"{imports.prefix}gone", f"{imports.prefix}halved"
    assert imports.send(gone) and imports.send(halved)
    assert imports.acknowledged_ids() == sorted([gone, halved]), imports.state()
    site.manage("delete_runs", gone)
    site.manage(
        "shell",
        "-c",
        "from results.models import TestResult; "
        f"TestResult.objects.filter(run__name={halved!r}, test_name={halved + '.t000'!r}).delete()",
    )
    checks = imports.check(time.monotonic() + CHECK_SECONDS)
    found = {c.name: c for c in failed(checks)}
    assert set(found) == {"lost", "half-written"}, checks
    assert (found["lost"].value, found["lost"].detail) == (1, gone)
    assert found["half-written"].value == 1 and halved in found["half-written"].detail


def test_an_unreachable_site_fails_the_check_by_its_deadline():
    imports = ImportsWorkload(f"http://127.0.0.1:{free_port()}", "token", clients=1, seed=4)
    checks = imports.check(time.monotonic() + 1)
    assert [(c.name, c.ok) for c in checks] == [("observed", False)]
    assert "connection refused" in checks[0].detail.lower()
