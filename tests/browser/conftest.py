"""Fixtures of the browser tests: one headless Chromium per test module."""

import pytest
from playwright.sync_api import sync_playwright

from tests.browser.lab import launch_chromium, require_chromium


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    """A Chromium browser context with a fresh profile; the tests fail if there is none."""
    require_chromium()
    with sync_playwright() as playwright:
        context = launch_chromium(playwright, tmp_path_factory.mktemp("chromium-profile"))
        try:
            yield context
        finally:
            context.close()
