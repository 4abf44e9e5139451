"""The shared fixtures of the browser tests: Debian's Chromium driven by Playwright, and where screenshots go."""

import os
import shutil
from pathlib import Path

import pytest
from django.db import connections

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "Chromium is missing: `make test` installs the Debian package 'chromium'"
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        yield page
        # While Playwright's event loop runs, Django keeps this thread's database connections in a context of
        # their own: close them here, or the test database outlives the session with one session still open.
        connections.close_all()
        browser.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where a test's screenshots go: $LEADFLOW_SCREENSHOTS, else the test's temporary directory."""
    directory = Path(os.environ.get("LEADFLOW_SCREENSHOTS") or tmp_path / "screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory
