"""POST /api/v1/orders/{id}/label and /rates (SQLite and PostgreSQL): the CLI's `orders
label` and `orders rates`, against the carrier simulator's UPS over real HTTP, and their
refusals in the API's error shape."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from omnisync.core.catalog import upsert_sku
from omnisync.core.db import transaction
from omnisync.core.holds import hold_order
from omnisync.hub.api import create_app
from omnisync.hub.order_lookup import find_order
from omnisync.hub.views.shapes import LabelOut, RateOut
from omnisync.sandbox.carriers import CarrierSimulator
from tests.support.api import API_TOKEN, SANDBOX_KEY, ApiHub, closed_channels
from tests.support.carrier_labels import BUYER, label_carrier_channel, write_label_config
from tests.support.hub_setup import engine_for, open_test_hub
from tests.support.world import ingest, level, list_sku, make_order, order_row, set_count

LABEL = {"carrier": "ups", "weight_kg": "1.25", "dimensions_cm": [30, 20, 10]}


@pytest.fixture(scope="module")
def carriers() -> Iterator[CarrierSimulator]:
    with CarrierSimulator() as simulator:
        yield simulator


@pytest.fixture
def api(
    tmp_path: Path,
    migrated_database_url: str,
    carriers: CarrierSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ApiHub]:
    """A and B at main, listed on "shop"; order 1001 (2 A, 1 B) to BUYER."""
    carriers.reset()
    ups, variables = label_carrier_channel(carriers, "ups", "UPS")
    for name, value in {
        **variables,
        "SB_KEY": SANDBOX_KEY,
        "OMNISYNC_API_TOKEN": API_TOKEN,
    }.items():
        monkeypatch.setenv(name, value)
    config = write_label_config(
        tmp_path / "config",
        {**closed_channels("shop"), "ups": ups},
        tmp_path / "var",
        api_token_variable="OMNISYNC_API_TOKEN",
    )
    hub = open_test_hub(config, migrated_database_url)
    with transaction(hub.engine) as session:
        upsert_sku(session, "A")
        upsert_sku(session, "B")
    set_count(hub.engine, "A", "main", 10)
    set_count(hub.engine, "B", "main", 5)
    list_sku(hub.engine, "shop", "A", "B")
    order = make_order("1001", [("A", 2), ("B", 1)]).model_copy(update={"ship_to": dict(BUYER)})
    ingest(hub.engine, "shop", order)
    sync = engine_for(hub)
    app = create_app(sync, settings=hub.settings, scheduler_running=lambda: True)
    with TestClient(app) as client:
        yield ApiHub(hub, sync, client)
    sync.close()
    hub.engine.dispose()


def test_a_label_is_bought_and_its_parcel_recorded(api: ApiHub, carriers: CarrierSimulator) -> None:
    response = api.post("/api/v1/orders/1001/label", {**LABEL, "service": "ups_3_day_select"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert list(body) == list(LabelOut.model_fields)
    (sold,) = carriers.labels()
    assert body["tracking_number"] == sold["tracking_number"]
    assert (body["carrier"], body["carrier_channel"]) == ("UPS", "ups")
    assert (body["service"], sold["service"]) == ("ups_3_day_select", "12")
    assert body["price"] is None  # a service named: nothing was quoted
    assert body["fulfilment_push"] == "pending"
    assert body["label_format"] == "PDF"
    assert Path(body["label_path"]).read_bytes().startswith(b"%PDF-")
    assert sold["recipient"] == "Jane Buyer, 2 Elm St, Chicago IL 60607 US"
    assert level(api.hub.engine, "A", "main") == (8, 0)

    order = api.get("/api/v1/orders/1001").json()
    assert order["status"] == "shipped"
    (shipment,) = order["shipments"]
    assert shipment["label_path"] == body["label_path"]

    again = api.post("/api/v1/orders/1001/label", LABEL)
    assert again.status_code == 422
    assert "nothing left to ship" in again.json()["error"]
    assert len(carriers.labels()) == 1


def test_a_zpl_label_at_the_cheapest_service(api: ApiHub, carriers: CarrierSimulator) -> None:
    response = api.post("/api/v1/orders/1001/label", {**LABEL, "label_format": "ZPL"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["service"] == "ups_ground"
    assert (Decimal(body["price"]), body["currency"]) == (
        Decimal(carriers.labels()[0]["price"]),
        "USD",
    )
    assert body["label_path"].endswith(".zpl")
    assert Path(body["label_path"]).read_text().startswith("^XA")


def test_rates_are_quoted_cheapest_first(api: ApiHub, carriers: CarrierSimulator) -> None:
    response = api.post("/api/v1/orders/1001/rates", {"carrier": "ups", "weight_kg": 3})
    assert response.status_code == 200, response.text
    rates = response.json()
    assert all(list(rate) == list(RateOut.model_fields) for rate in rates)
    assert rates[0]["service"] == "ups_ground"
    prices = [Decimal(rate["price"]) for rate in rates]
    assert prices == sorted(prices)
    assert carriers.labels() == []
    assert order_row(api.hub.engine, "shop", "1001").status == "accepted"


def test_refusals(api: ApiHub, carriers: CarrierSimulator) -> None:
    label = "/api/v1/orders/1001/label"
    assert api.post("/api/v1/orders/NOPE/label", LABEL).status_code == 404
    assert api.post("/api/v1/orders/NOPE/rates", LABEL).status_code == 404
    assert api.post("/api/v1/orders/1001/rates", {**LABEL, "service": "x"}).status_code == 422
    for body in (
        {**LABEL, "weight_kg": 0},
        {**LABEL, "dimensions_cm": [30, 20]},
        {**LABEL, "label_format": "PNG"},
        {**LABEL, "colour": "red"},
        {"weight_kg": 1},
    ):
        assert api.post(label, body).status_code == 422, body
    not_a_carrier = api.post(label, {**LABEL, "carrier": "shop"})
    assert not_a_carrier.status_code == 422
    assert "'shop' (sandbox) is not a carrier channel" in not_a_carrier.json()["error"]
    refused = api.post(label, {**LABEL, "service": "ups_teleport"})
    assert refused.status_code == 422
    assert "carrier channel ups: PermanentError: ups: 111100" in refused.json()["error"]

    with transaction(api.hub.engine) as session:
        hold_order(session, find_order(session, "1001")[0], "fraud check")
    held = api.post(label, LABEL)
    assert held.status_code == 409
    assert "on hold (fraud check)" in held.json()["error"]
    rates = api.post("/api/v1/orders/1001/rates", {"carrier": "ups", "weight_kg": 1})
    assert rates.status_code == 409
    assert carriers.labels() == []
    assert level(api.hub.engine, "A", "main") == (10, 2)
