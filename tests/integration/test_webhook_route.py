"""POST /webhooks/shopify/{channel}: signed deliveries go in once; bad signatures store nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from omnisync.core.models import Order, QuarantinedPayload, WebhookReceipt
from omnisync.hub.api import create_app
from omnisync.hub.bootstrap import bootstrap, engine_channels
from omnisync.sync.engine import SyncEngine
from tests.support.hub_setup import write_config
from tests.unit.test_shopify_connector import WEBHOOK

SECRET = "shpss_route_secret_77"
CHANNEL = """\
type: shopify
shop: route.myshopify.com
access_token: ${SHOP_TOKEN}
client_secret: ${SHOP_SECRET}
push_location: gid://shopify/Location/1
"""


@pytest.fixture
def client(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, SyncEngine]]:
    monkeypatch.setenv("SHOP_TOKEN", "shpat_route_token")
    monkeypatch.setenv("SHOP_SECRET", SECRET)
    config = write_config(tmp_path / "config", {"shop": CHANNEL})
    hub = bootstrap(config, database_url=migrated_database_url, create=True)
    sync = SyncEngine(hub.engine, engine_channels(hub.settings))
    with TestClient(create_app(sync)) as test_client:
        yield test_client, sync
    sync.close()
    hub.engine.dispose()


def signed(body: bytes, delivery: str, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {
        "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Webhook-Id": delivery,
        "Content-Type": "application/json",
    }


def stored(sync: SyncEngine) -> tuple[int, int, int]:
    with Session(sync.database) as session:
        return (
            len(session.exec(select(Order)).all()),
            len(session.exec(select(WebhookReceipt)).all()),
            len(session.exec(select(QuarantinedPayload)).all()),
        )


def test_a_signed_delivery_goes_in_once(client: tuple[TestClient, SyncEngine]) -> None:
    http, sync = client
    body = json.dumps(WEBHOOK).encode()
    first = http.post("/webhooks/shopify/shop", content=body, headers=signed(body, "d-1"))
    assert first.status_code == 200
    assert first.json() == {"status": "accepted", "orders": 1}
    again = http.post("/webhooks/shopify/shop", content=body, headers=signed(body, "d-1"))
    assert again.json()["status"] == "duplicate"
    assert stored(sync) == (1, 1, 0)


def test_a_bad_signature_gets_401_and_stores_nothing(client: tuple[TestClient, SyncEngine]) -> None:
    http, sync = client
    body = json.dumps(WEBHOOK).encode()
    wrong = http.post(
        "/webhooks/shopify/shop", content=body, headers=signed(body, "d-2", secret="not-the-secret")
    )
    assert wrong.status_code == 401
    unsigned = http.post(
        "/webhooks/shopify/shop", content=body, headers={"X-Shopify-Topic": "orders/create"}
    )
    assert unsigned.status_code == 401
    assert SECRET not in wrong.text
    assert stored(sync) == (0, 0, 0)


def test_an_unmappable_order_is_quarantined(client: tuple[TestClient, SyncEngine]) -> None:
    http, sync = client
    body = json.dumps({**WEBHOOK, "line_items": "garbled"}).encode()
    response = http.post("/webhooks/shopify/shop", content=body, headers=signed(body, "d-3"))
    assert response.json()["status"] == "quarantined"
    assert stored(sync) == (0, 1, 1)


def test_unknown_channels_are_404(client: tuple[TestClient, SyncEngine]) -> None:
    http, _ = client
    assert http.post("/webhooks/shopify/nope", content=b"{}").status_code == 404
    assert http.post("/webhooks/amazon/shop", content=b"{}").status_code == 404
