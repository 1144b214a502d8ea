"""Fixtures of the browser tests: the built book served on 127.0.0.1, and Debian's Chromium.

The tests need the built site: without _build/html they fail and say to run `make book`. Without
Chromium they are skipped with the command that installs it, unless DLCOURSE_REQUIRE_BROWSER=1
(CI sets it), which makes a missing Chromium an error.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sitecheck
from sitecheck import SCREENSHOTS, SITE


@pytest.fixture(scope="session")
def site() -> Path:
    return sitecheck.require_site(SITE)


@pytest.fixture(scope="session")
def server(site):
    with sitecheck.SiteServer(site) as running:
        yield running


@pytest.fixture(scope="session")
def chromium() -> Path:
    return sitecheck.require_chromium()


@pytest.fixture(scope="session")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = sitecheck.launch_chromium(playwright)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """_build/screenshots, emptied once per session so that no stale screenshot lingers."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS
