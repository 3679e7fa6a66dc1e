"""POST /api/v1/orders/{id}/label and /rates (SQLite and PostgreSQL): the CLI's `orders
label` and `orders rates`, against the carrier simulator's UPS over real HTTP, and their
refusals in the API's error shape: a split order labelled per location (`location`,
`lines`), and a purchase refused while another is under way."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from omnisync.core.catalog import upsert_sku
from omnisync.core.clock import clock_of
from omnisync.core.db import transaction
from omnisync.core.holds import hold_order
from omnisync.hub.api import create_app
from omnisync.hub.order_lookup import find_order
from omnisync.hub.views.shapes import LabelOut, RateOut
from omnisync.sandbox.carriers import CarrierSimulator
from tests.support.api import API_TOKEN, SANDBOX_KEY, ApiHub, closed_channels
from tests.support.carrier_labels import (
    BUYER,
    label_carrier_channel,
    label_hub_yaml,
    write_label_config,
)
from tests.support.hub_setup import engine_for, open_test_hub
from tests.support.world import ingest, level, list_sku, make_order, order_row, set_count

LABEL = {"carrier": "ups", "weight_kg": "1.25", "dimensions_cm": [30, 20, 10]}
BACKUP_ADDRESS = (
    "    address:\n      name: Backup desk\n      street1: 9 Side Rd\n      city: Austin\n"
    "      state_code: TX\n      postal_code: '73301'\n      country_code: US\n"
)


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
    """A and B at main, C at backup (both with an address), listed on "shop"; order 1001
    (2 A, 1 B) to BUYER."""
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
    hub_yaml = label_hub_yaml(tmp_path / "var", api_token_variable="OMNISYNC_API_TOKEN")
    (config / "hub.yaml").write_text(hub_yaml + BACKUP_ADDRESS)
    hub = open_test_hub(config, migrated_database_url)
    with transaction(hub.engine) as session:
        for code in ("A", "B", "C"):
            upsert_sku(session, code)
    set_count(hub.engine, "A", "main", 10)
    set_count(hub.engine, "B", "main", 5)
    set_count(hub.engine, "C", "backup", 3)
    list_sku(hub.engine, "shop", "A", "B", "C")
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


def test_a_split_order_takes_a_label_per_location(api: ApiHub, carriers: CarrierSimulator) -> None:
    split = make_order("1002", [("A", 1), ("C", 2)]).model_copy(update={"ship_to": dict(BUYER)})
    ingest(api.hub.engine, "shop", split)  # A at main, C at backup
    label = "/api/v1/orders/1002/label"
    whole = api.post(label, LABEL)
    assert whole.status_code == 422
    assert (
        "its lines ship from backup and main; buy one label per location" in (whole.json()["error"])
    )
    wrong = api.post(label, {**LABEL, "location": "main", "lines": [{"sku": "C", "quantity": 1}]})
    assert wrong.status_code == 422
    assert "C is not reserved at main" in wrong.json()["error"]
    unknown = api.post(label, {**LABEL, "location": "moon"})
    assert unknown.status_code == 404
    rates = api.post("/api/v1/orders/1002/rates", {**LABEL, "location": "backup"})
    assert rates.status_code == 200, rates.text
    assert carriers.labels() == []

    at_backup = api.post(label, {**LABEL, "location": "backup"})
    one_a = api.post(label, {**LABEL, "lines": [{"sku": "A", "quantity": 1}]})

    assert (at_backup.status_code, one_a.status_code) == (201, 201), (at_backup.text, one_a.text)
    assert at_backup.json()["lines"] == [{"external_line_id": "1002-1", "quantity": 2}]
    assert one_a.json()["lines"] == [{"external_line_id": "1002-0", "quantity": 1}]
    shippers = {sold["tracking_number"]: sold["shipper"] for sold in carriers.labels()}
    assert shippers[at_backup.json()["tracking_number"]].endswith("9 Side Rd, Austin TX 73301 US")
    assert shippers[one_a.json()["tracking_number"]].endswith("1 Main St, Louisville KY 40213 US")
    assert api.get("/api/v1/orders/1002").json()["status"] == "shipped"
    assert level(api.hub.engine, "C", "backup") == (1, 0)


def test_a_label_is_refused_while_another_purchase_is_under_way(
    api: ApiHub, carriers: CarrierSimulator
) -> None:
    with transaction(api.hub.engine) as session:
        order = find_order(session, "1001")[0]
        order.label_requested_at = clock_of(session).now()  # another request asked the carrier
        session.add(order)
        since = order.label_requested_at
    refused = api.post("/api/v1/orders/1001/label", LABEL)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert f"a label for it has been under way since {since:%Y-%m-%d %H:%M:%S} UTC" in error
    assert "look in the carrier's account" in error
    assert carriers.labels() == []
    assert level(api.hub.engine, "A", "main") == (10, 2)
