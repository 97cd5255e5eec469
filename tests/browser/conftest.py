"""Headless Chromium, driven by Playwright, against pytest-django's live server.

Playwright's own browser download cannot work here; it drives Debian's Chromium instead
(`make test` installs it). Under CI=true a missing browser fails the run; elsewhere the
browser tests are skipped with the reason.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # This machine's network is closed: Chromium's background calls only fail, many at once.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str | None:
    for candidate in (os.environ.get("ASSAY_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    executable = _chromium()
    if executable is None:
        message = "Chromium not found: run scripts/ensure-services.sh (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, which makes Django
    # take every ORM call of the test for one made from async code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    args = list(CHROMIUM_ARGS)
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium's sandbox refuses to run as root
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=args)
        yield instance
        instance.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    folder = Path(os.environ.get("ASSAY_TEST_OUTPUT", ROOT / "test-output")) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(browser, request, screenshot_dir):
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    counter = iter(range(1, 100))
    test = re.sub(r"[^\w]+", "_", request.node.name)

    def shot(name: str) -> Path:
        path = screenshot_dir / f"{test}-{next(counter):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    page.shot = shot
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the pages: {errors}"


def import_junit(page, base: str, token: str, run: str, data: bytes, **fields: str) -> dict:
    """POST a JUnit file to the import API as CI does (project engine; more form fields as
    keywords) and return the answer, which must be 201."""
    resp = page.request.post(
        f"{base}/api/v1/imports/",
        headers={"Authorization": f"Token {token}"},
        multipart={
            "file": {"name": f"{run}.xml", "mimeType": "application/xml", "buffer": data},
            "run": run,
            "project": "engine",
            **fields,
        },
    )
    assert resp.status == 201, resp.text()
    return resp.json()
