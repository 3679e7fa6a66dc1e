"""The console in a real browser: headless Chromium from Debian's `chromium` and
`chromium-driver` packages, driven by Selenium, against a hub served over real HTTP.

- `live_console(folder)`: a hub on SQLite with the console's users and seeded world
  (tests/support/console.py), the sandbox marketplace as channel `shop` (so a stock
  change is pushed to it), the scheduler running, the app served on loopback.
- `Browser`: one Chrome; `login`, `open`, `shot` (a PNG of the screen under
  SCREENSHOTS), and waits that poll the page until a bound (never a fixed sleep).

Without chromium and chromedriver the tests are skipped, saying how to enable them.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from omnisync.hub.api import create_app
from omnisync.hub.bootstrap import Hub
from omnisync.hub.http_server import ServerRunner
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sync.engine import SyncEngine
from omnisync.sync.scheduler import Scheduler
from tests.support.console import PASSWORD, add_users, seed_console_world
from tests.support.hub_setup import engine_for, open_test_hub, sandbox_channel, write_config

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(
    os.environ.get("OMNISYNC_SCREENSHOTS") or REPO / "var" / "screenshots" / "console"
)
"""Where every screen's PNG is written (OMNISYNC_SCREENSHOTS overrides)."""
CHROMIUM = os.environ.get("OMNISYNC_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("OMNISYNC_CHROMEDRIVER", "/usr/bin/chromedriver")
SKIP_REASON = (
    "browser tests need Debian's chromium and chromium-driver "
    "(sudo apt-get install chromium chromium-driver; .ci/run installs them)"
)
WAIT_S = 10.0
"""The longest a wait polls before it fails (a bound, not a duration)."""
SANDBOX_TOKEN = "sb-console-token-4e2a"


def browser_missing() -> bool:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return True
    return not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER))


def skip_without_browser() -> None:
    if browser_missing():
        pytest.skip(SKIP_REASON)


@dataclass
class LiveConsole:
    url: str
    hub: Hub
    sync: SyncEngine
    marketplace: SandboxMarketplace


@contextmanager
def live_console(
    folder: Path, *, seed: Callable[[Hub], None] | None = None
) -> Iterator[LiveConsole]:
    """The hub of the module docstring; `seed` runs after the default world is in."""
    with SandboxMarketplace(SANDBOX_TOKEN, rate=1000, burst=1000, name="shop") as marketplace:
        marketplace.set_listings(
            [
                {"sku": "A", "title": "Blue mug", "quantity": 0, "barcode": "111"},
                {"sku": "B", "title": "Red mug", "quantity": 0, "barcode": "222"},
                {"sku": "C", "title": "Green mug", "quantity": 0, "barcode": "444"},
                # The seed's unlinked NEW-1: on the channel, or its first listings read drops it.
                {"sku": "NEW-1", "title": "Yellow mug", "quantity": 4, "barcode": "333"},
            ]
        )
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SB_KEY", SANDBOX_TOKEN)
            channel = sandbox_channel(marketplace.url) + textwrap.dedent(
                """\
                schedule:
                  orders: 1h
                  listings: 1h
                  reconcile: 1h
                """
            )
            config = write_config(folder / "config", {"shop": channel})
            database_url = f"sqlite:///{folder / 'hub.db'}"
            hub = open_test_hub(config, database_url)
            add_users(hub.engine)
            seed_console_world(hub.engine)
            if seed is not None:
                seed(hub)
            sync = engine_for(hub)
            scheduler = Scheduler(sync, push_poll=0.05, debounce=0.01)
            server = ServerRunner(
                create_app(
                    sync,
                    settings=hub.settings,
                    scheduler_running=lambda: scheduler.running,
                    run_now=scheduler.run_now,
                )
            )
            url = server.start()
            scheduler.start()
            try:
                yield LiveConsole(url, hub, sync, marketplace)
            finally:
                scheduler.stop()
                server.stop()
                sync.close()
                hub.engine.dispose()


class Browser:
    """One headless Chromium on one console."""

    def __init__(self, base_url: str) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in (
            "--headless=new",
            "--no-sandbox",  # CI runs as root
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=1400,1000",
            "--no-first-run",
            "--disable-extensions",
        ):
            options.add_argument(argument)
        self.driver = webdriver.Chrome(
            options=options, service=Service(executable_path=CHROMEDRIVER)
        )
        self.base_url = base_url.rstrip("/")

    def close(self) -> None:
        self.driver.quit()

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def login(self, name: str, password: str = PASSWORD) -> None:
        self.driver.delete_all_cookies()
        self.open("/login")
        self.find("#name").send_keys(name)
        self.find("#password").send_keys(password)
        self.find("#sign-in").click()
        self.wait_for("#signed-in-as")

    def logout(self) -> None:
        self.driver.delete_all_cookies()

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def wait_for(self, css: str, timeout: float = WAIT_S) -> Any:
        """The element once it is on the page."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
        )

    def wait_until(self, what: str, condition: Callable[[], bool], timeout: float = WAIT_S) -> None:
        """Poll `condition` (page or hub state) until true; fail naming `what`."""
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(
            lambda _driver: condition(), message=f"waited {timeout} s for {what}"
        )

    def text(self, css: str) -> str:
        return str(self.find(css).text)

    @property
    def page(self) -> str:
        return str(self.driver.page_source)

    @property
    def path(self) -> str:
        current = str(self.driver.current_url)
        return current[len(self.base_url) :] if current.startswith(self.base_url) else current

    def shot(self, name: str) -> Path:
        """A PNG of what the browser shows, as SCREENSHOTS/<name>.png."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        assert self.driver.save_screenshot(str(path)), f"no screenshot written to {path}"
        return path
