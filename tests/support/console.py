"""The web console in-process: a hub with three users (one per role), its HTTP app in a
TestClient, and a client that signs in and posts forms with the page's CSRF token.

`seed_console_world(engine)` fills the hub with what every screen has something to show:
SKUs with stock and bins, linked and unlinked listings of `shop`, orders (one oversold,
one late), a return. Browser tests (tests/browser) serve the same app over real HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from omnisync.core.catalog import location_by_code, sku_by_code, upsert_sku
from omnisync.core.db import transaction
from omnisync.core.ledger import count_stock
from omnisync.core.types import UserRole
from omnisync.core.users import add_api_token, add_user, user_by_name
from omnisync.hub.api import create_app
from omnisync.hub.bootstrap import Hub
from omnisync.hub.web.passwords import hash_password
from omnisync.sync.engine import SyncEngine
from tests.support.api import API_TOKEN, SANDBOX_KEY, closed_channels, write_api_config
from tests.support.hub_setup import engine_for, open_test_hub
from tests.support.world import add_listing, ingest, list_sku, make_order

PASSWORD = "correct horse battery"
PASSWORD_HASH = hash_password(PASSWORD)
"""Hashed once per test process: argon2 is slow on purpose."""
USERS = {"ada": UserRole.ADMIN, "otto": UserRole.OPERATOR, "vera": UserRole.VIEWER}
"""One user per role, all with PASSWORD."""
ADMIN, OPERATOR, VIEWER = "ada", "otto", "vera"

_CSRF = re.compile(r'name="csrf-token" content="([^"]*)"')


def add_users(engine: Engine, users: dict[str, UserRole] = USERS) -> None:
    with transaction(engine) as session:
        for name, role in users.items():
            add_user(session, name, role, PASSWORD_HASH)


def user_token(engine: Engine, name: str) -> str:
    """A new API token of the user."""
    with transaction(engine) as session:
        return add_api_token(session, user_by_name(session, name), "test")


def csrf_of(page: str) -> str:
    """The session's CSRF token, from the `<meta name="csrf-token">` of a console page."""
    found = _CSRF.search(page)
    assert found is not None, "the page carries no CSRF token"
    assert found.group(1), "the page's CSRF token is empty"
    return found.group(1)


class ConsoleClient:
    """A browser-like client of one app: cookies kept, redirects not followed (a test
    sees where the console sends it)."""

    def __init__(self, http: TestClient) -> None:
        self.http = http
        self.csrf = ""

    def get(self, path: str, **params: Any) -> httpx.Response:
        response: httpx.Response = self.http.get(
            path, params=params or None, headers={"Accept": "text/html"}, follow_redirects=False
        )
        if response.status_code == 200 and "csrf-token" in response.text:
            found = _CSRF.search(response.text)
            if found and found.group(1):
                self.csrf = found.group(1)
        return response

    def login(self, name: str, password: str = PASSWORD) -> httpx.Response:
        form = self.http.get("/login", headers={"Accept": "text/html"})
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None, form.text
        response: httpx.Response = self.http.post(
            "/login",
            data={"name": name, "password": password, "csrf_token": token.group(1), "next": "/"},
            headers={"Accept": "text/html"},
            follow_redirects=False,
        )
        if response.status_code == 303:
            self.get("/")  # picks up the session's CSRF token
        return response

    def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: str | None = None
    ) -> httpx.Response:
        """A form post with the session's CSRF token (or `csrf`, to forge one)."""
        body = dict(data or {})
        body.setdefault("csrf_token", self.csrf if csrf is None else csrf)
        response: httpx.Response = self.http.post(
            path, data=body, headers={"Accept": "text/html"}, follow_redirects=False
        )
        return response


@dataclass
class ConsoleHub:
    hub: Hub
    sync: SyncEngine
    http: TestClient

    @property
    def engine(self) -> Engine:
        return self.hub.engine

    def client(self, name: str | None = None) -> ConsoleClient:
        """A new client with its own cookies, signed in as `name` when given."""
        client = ConsoleClient(TestClient(self.http.app))
        if name is not None:
            answer = client.login(name)
            assert answer.status_code == 303, answer.text
        return client


@contextmanager
def console_hub(
    folder: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    *,
    channels: dict[str, str] | None = None,
    users: dict[str, UserRole] = USERS,
) -> Iterator[ConsoleHub]:
    """A hub (channels `shop` and `market` on a closed port unless given) with the users,
    its app in a TestClient; hub.yaml has the API token tests/support/api.py uses."""
    monkeypatch.setenv("SB_KEY", SANDBOX_KEY)
    monkeypatch.setenv("OMNISYNC_API_TOKEN", API_TOKEN)
    config = write_api_config(
        folder / "config", closed_channels("shop", "market") if channels is None else channels
    )
    hub = open_test_hub(config, database_url)
    add_users(hub.engine, users)
    sync = engine_for(hub)
    app = create_app(sync, settings=hub.settings, scheduler_running=lambda: True)
    with TestClient(app) as client:
        yield ConsoleHub(hub, sync, client)
    sync.close()
    hub.engine.dispose()


def seed_console_world(engine: Engine, channel: str = "shop") -> None:
    """SKUs A (barcode 111), B (222), C (low: 1 unit, safety 2) with stock at main; A, B
    listed on `channel`; an unlinked listing `NEW-1` (barcode 333); orders: `1001` (A x2,
    reserves), `1002` (B x50, oversold), `1003` (C x1)."""
    with transaction(engine) as session:
        main = location_by_code(session, "main")
        for code, title, barcode, units in (
            ("A", "Blue mug", "111", 20),
            ("B", "Red mug", "222", 5),
            ("C", "Green mug", "444", 1),
        ):
            sku = upsert_sku(session, code, title=title)
            sku.barcode = barcode
            sku.safety_stock = 2 if code == "C" else 0
            session.add(sku)
            session.flush()
            count_stock(session, sku_by_code(session, code), main, units)
    list_sku(engine, channel, "A", "B", "C")
    add_listing(engine, channel, "NEW-1", title="Yellow mug", barcode="333", quantity=4)
    ingest(engine, channel, make_order("1001", [("A", 2)], minutes=1))
    ingest(engine, channel, make_order("1002", [("B", 50)], minutes=2))
    ingest(engine, channel, make_order("1003", [("C", 1)], minutes=3))


__all__ = [
    "ADMIN",
    "API_TOKEN",
    "OPERATOR",
    "PASSWORD",
    "VIEWER",
    "ConsoleClient",
    "ConsoleHub",
    "add_users",
    "console_hub",
    "csrf_of",
    "seed_console_world",
    "user_token",
]
