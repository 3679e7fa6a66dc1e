"""The Shopify simulator with its webhooks delivered to a receiver of the test's own.

`Receiver` keeps every delivery as it came (headers, raw body), so a test can check the
signature. `webhook_fixtures` gives a test module the three fixtures it needs: the
receiver and the simulator sending to it, both served once for the module, and the
per-test `shop`, prepared afresh with what the preparing sent already forgotten.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from omnisync.sandbox.shopify import ShopifySimulator

SECRET = "shpss_webhook_test_secret"


class Receiver:
    """A loopback HTTP server that keeps every POST (headers, raw body)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.received.append((dict(self.headers.items()), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/shopify/demo"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def topics(self) -> list[str]:
        with self._lock:
            return [headers["X-Shopify-Topic"] for headers, _ in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def webhook_fixtures(
    name: str,
    make: Callable[..., ShopifySimulator],
    prepare: Callable[[ShopifySimulator], object],
) -> tuple[object, object, object]:
    """The fixtures `receiver` and `running` (module scope: a simulator called `name`, made
    by `make`, signing its webhooks with SECRET and sending them to the receiver) and
    `shop` (per test: `running` given to `prepare`, its webhooks delivered and cleared
    from the receiver, which answers 200). Assign them to the same names in the test
    module: `receiver, running, shop = webhook_fixtures(...)`."""

    @pytest.fixture(scope="module", name="receiver")
    def receiver_fixture() -> Iterator[Receiver]:
        receiver = Receiver()
        yield receiver
        receiver.close()

    @pytest.fixture(scope="module", name="running")
    def running_fixture(receiver: Receiver) -> Iterator[ShopifySimulator]:
        with make(name=name, webhook_url=receiver.url, client_secret=SECRET) as shop:
            yield shop

    @pytest.fixture(name="shop")
    def shop_fixture(running: ShopifySimulator, receiver: Receiver) -> ShopifySimulator:
        prepare(running)
        running.wait_for_webhooks()
        receiver.received.clear()
        receiver.status = 200
        return running

    return receiver_fixture, running_fixture, shop_fixture
