"""Browser tests: one live console and one headless Chromium per test module (starting
Chromium costs about a second); each test signs in as the role it needs. Skipped, with
one line saying how to enable them, where Chromium or chromedriver is missing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.browser import Browser, LiveConsole, live_console, skip_without_browser


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveConsole]:
    skip_without_browser()
    with live_console(tmp_path_factory.mktemp("console")) as live:
        yield live


@pytest.fixture(scope="module")
def browser(console: LiveConsole) -> Iterator[Browser]:
    chrome = Browser(console.url)
    yield chrome
    chrome.close()
