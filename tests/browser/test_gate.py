"""The migration gate in a real browser: from the checks to a failing check, its dataset's log,
and through the log's table of contents to the failing migration and its highlighted error.
The checks are real (the example shop on a SQLite dataset, run once per session by
tests/migrations_gate/test_views.py's fixture). Screenshots go to test-output/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.migrations_gate.test_views import BROKEN, recorded, replay, shop_files  # noqa: F401 - fixtures

# The live server is another thread: the test's writes must be committed for it to see them.
pytestmark = [pytest.mark.django_db(transaction=True)]


def test_from_the_checks_to_the_failing_migration_s_error(page, live_server, recorded):  # noqa: F811
    good, bad = replay(recorded)
    page.goto(f"{live_server.url}/gate/")
    expect(page.locator("table.gate-checks tbody tr")).to_have_count(2)
    failing = page.locator('table.gate-checks tr[data-outcome="FAILURE"]')
    expect(failing.locator(".gate-outcome")).to_have_text("FAILURE")
    expect(page.locator(f'tr[data-check="{good.pk}"] .gate-outcome')).to_have_text("SUCCESS")
    page.shot("checks")

    failing.get_by_role("link", name=str(bad.pk)).click()
    expect(page).to_have_url(f"{live_server.url}/gate/checks/{bad.pk}/")
    cell = page.locator(f'table.gate-matrix tr[data-migration="{BROKEN}"] td.gate-cell-bad')
    expect(cell).to_contain_text("failed")
    expect(page.locator("#gate-summary")).to_contain_text("**Migrations gate: FAILURE**")
    page.shot("check")

    page.locator("table.kv").get_by_role("link", name="shop-small", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/gate/checks/{bad.pk}/log/shop-small/")
    expect(page.locator("h1")).to_contain_text("shop-small")

    page.locator(f'nav.gate-toc a[data-migration="{BROKEN}"]').click()
    expect(page).to_have_url(re.compile(r"#L\d+$"))
    start = page.url.rsplit("#", 1)[1]
    expect(page.locator(f"#{start}")).to_contain_text(f"=== start {BROKEN}")
    expect(page.locator(f"#{start}")).to_be_in_viewport()
    # The failure is highlighted and in view: its traceback's first line, right below.
    first_error = page.locator(".gate-log .gl-in-failed.gl-error").first
    expect(first_error).to_be_in_viewport()
    expect(first_error).to_contain_text("Traceback (most recent call last)")
    assert first_error.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 205, 210)"
    page.shot("failing-migration")

    # Its last error line, one click further in the table of contents.
    page.locator("nav.gate-toc a.gate-toc-error").last.click()
    failed_end = page.locator(".gate-log .gl-end-failed")
    expect(failed_end).to_be_in_viewport()
    expect(failed_end).to_contain_text(f"=== end {BROKEN} FAILED")
    error = page.locator(".gate-log .gl-error").last
    expect(error).to_contain_text("duplicate column name: total")
    expect(error).to_be_in_viewport()
    page.shot("error")

    page.get_by_role("link", name="datasets and projects").click()
    expect(page.locator('table.gate-datasets tr[data-dataset="shop-small"] pre.gate-rules')
           ).to_contain_text("shop_customer.email: email")  # fmt: skip
    expect(page.locator('table.gate-projects tr[data-project="shop"]')).to_contain_text(
        "shop-small"
    )
    page.shot("datasets")
