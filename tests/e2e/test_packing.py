"""Issue 19's packing acceptance end to end (SQLite and PostgreSQL): an order of 2 x A +
1 x B bought on the sandbox marketplace is packed by scanning through the API (B three
times: the second and third refused; a case of 6 of A: refused; then A, A, B), its UPS
label is bought from the carrier simulator through karrio, the stock leaves as
`orders ship` takes it, and the fulfilment reaches the marketplace with the label's
tracking number. Then `omnisync pack --scan ... --carrier` does the same from the CLI.
A parcel is never paid for twice: a request whose scans find the parcel packed by
another's buys no label, a purchase under way refuses the next, and a label the carrier
may have sold unseen is not offered again. Everything over real loopback HTTP, the hub's
API in-process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from omnisync.core.catalog import location_by_code, sku_by_code, upsert_sku
from omnisync.core.clock import clock_of
from omnisync.core.db import transaction
from omnisync.core.ledger import count_stock
from omnisync.core.models import Order, OrderLine, PackScan, Reservation, Shipment
from omnisync.core.packaging import add_packaging_barcode
from omnisync.core.types import OrderStatus, PushState, ReservationState
from omnisync.hub.api import create_app
from omnisync.hub.bootstrap import Hub
from omnisync.hub.order_lookup import find_order
from omnisync.hub.packing import PackingOrder
from omnisync.sandbox.carriers import CarrierSimulator
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sync.engine import SyncEngine
from omnisync.sync.jobs.counts import RunCount
from tests.e2e.conftest import TOKEN
from tests.support.carrier_labels import label_carrier_channel, write_label_config
from tests.support.cli_runner import CliResult, invoke_cli
from tests.support.hub_setup import engine_for, open_test_hub, sandbox_channel
from tests.support.queue_mode import name_the_runner
from tests.support.world import check_ledger_invariants, level

API_TOKEN = "packing-api-token-8c2f61d0e4"
A, B = "PACK-A", "PACK-B"
BARCODES = {A: "400000000101", B: "400000000202"}
CASE_OF_6 = "1400000000106"
LABEL = {
    "carrier": "ups",
    "service": "ups_ground",
    "weight_kg": "1.2",
    "dimensions_cm": ["30", "20", "10"],
    "label_format": "PDF",
}


@dataclass
class Packing:
    hub: Hub
    sync: SyncEngine
    http: TestClient
    marketplace: SandboxMarketplace
    carriers: CarrierSimulator
    config_dir: Path
    database_url: str
    secrets: tuple[str, ...]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {API_TOKEN}"}

    def buy(self, *lines: tuple[str, int]) -> str:
        """An order on the marketplace, taken into the hub; its order id."""
        bought = self.marketplace.buy_many(list(lines))
        assert bought is not None
        assert self.sync.run("sb", "orders").counts[RunCount.CREATED] == 1
        return str(bought["id"])

    def pack(self, order: str, *scans: str, label: dict[str, Any] | None = None) -> Any:
        body = {"scans": list(scans), "label": label}
        response = self.http.post(f"/api/v1/orders/{order}/pack", json=body, headers=self.auth)
        assert response.status_code == 200, response.text
        return response.json()

    def cli(self, *args: str) -> CliResult:
        return invoke_cli(self.config_dir, self.database_url, *args, secrets=self.secrets)


@pytest.fixture(scope="module")
def carriers() -> Iterator[CarrierSimulator]:
    with CarrierSimulator() as simulator:
        yield simulator


@pytest.fixture
def packing(
    tmp_path: Path,
    migrated_database_url: str,
    marketplace: SandboxMarketplace,
    carriers: CarrierSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Packing]:
    """The hub on the sandbox marketplace "sb" and the UPS channel "ups" (ship-from
    address at main): A and B, 20 each at main, with barcodes; A also in a case of 6."""
    carriers.reset()
    ups, variables = label_carrier_channel(carriers, "ups", "UPS")
    for name, value in {**variables, "SB_KEY": TOKEN, "OMNISYNC_API_TOKEN": API_TOKEN}.items():
        monkeypatch.setenv(name, value)
    channels = {"sb": sandbox_channel(marketplace.url), "ups": ups}
    config = write_label_config(
        tmp_path / "config", channels, tmp_path / "data", api_token_variable="OMNISYNC_API_TOKEN"
    )
    name_the_runner(config)
    hub = open_test_hub(config, migrated_database_url)
    with transaction(hub.engine) as session:
        main = location_by_code(session, "main")
        for code, barcode in BARCODES.items():
            count_stock(session, upsert_sku(session, code, barcode=barcode), main, 20)
        add_packaging_barcode(session, sku_by_code(session, A), CASE_OF_6, 6, "case")
    marketplace.set_listings([{"sku": code, "title": code, "quantity": 20} for code in BARCODES])
    sync = engine_for(hub)
    app = create_app(sync, settings=hub.settings, scheduler_running=lambda: True)
    secrets = (TOKEN, API_TOKEN, *variables.values())
    with TestClient(app) as http:
        yield Packing(
            hub, sync, http, marketplace, carriers, config, migrated_database_url, secrets
        )
    sync.close()
    hub.engine.dispose()


def units(body: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """SKU -> (needed, scanned) of the parcel."""
    return {line["sku"]: (line["needed"], line["scanned"]) for line in body["lines"]}


def test_scans_refused_then_packed_and_the_ups_label_ships_it(packing: Packing) -> None:
    order = packing.buy((A, 2), (B, 1))
    assert level(packing.hub.engine, A, "main") == (20, 2)
    assert level(packing.hub.engine, B, "main") == (20, 1)

    thrice = packing.pack(order, BARCODES[B], BARCODES[B], BARCODES[B])
    assert [item["sku"] for item in thrice["accepted"]] == [B]
    needs = f"order {order} needs 1 of {B}; 1 scanned already"
    assert thrice["refused"] == [{"code": BARCODES[B], "message": needs}] * 2
    assert units(thrice) == {A: (2, 0), B: (1, 1)}  # the refused scans counted nothing

    started_over = packing.http.delete(f"/api/v1/orders/{order}/pack", headers=packing.auth)
    assert units(started_over.json()) == {A: (2, 0), B: (1, 0)}
    case = packing.pack(order, CASE_OF_6)
    assert case["accepted"] == []
    assert case["refused"] == [
        {"code": CASE_OF_6, "message": f"case of 6 of {A}, but order {order} needs only 2"}
    ]
    assert units(case) == {A: (2, 0), B: (1, 0)}
    assert packing.carriers.labels() == []

    packed = packing.pack(order, BARCODES[A], BARCODES[A], BARCODES[B], label=LABEL)

    assert packed["refused"] == []
    assert packed["packed"] is True
    assert packed["label_error"] is None
    label = packed["label"]
    number = label["tracking_number"]
    assert number.startswith("1Z")
    assert (label["carrier_channel"], label["service"]) == ("ups", "ups_ground")
    assert label["lines"] == [
        {"external_line_id": f"{order}-1", "quantity": 2},
        {"external_line_id": f"{order}-2", "quantity": 1},
    ]
    assert Path(label["label_path"]).read_bytes().startswith(b"%PDF")
    assert [bought["tracking_number"] for bought in packing.carriers.labels()] == [number]

    # The stock left as `orders ship` takes it: on hand and reserved down, reservations consumed.
    assert level(packing.hub.engine, A, "main") == (18, 0)
    assert level(packing.hub.engine, B, "main") == (19, 0)
    with Session(packing.hub.engine) as session:
        stored = session.exec(select(Order).where(Order.external_id == order)).one()
        assert stored.status == OrderStatus.SHIPPED
        assert stored.packed_at is None
        line_ids = [line.id for line in session.exec(select(OrderLine))]
        states = session.exec(
            select(Reservation.state).where(col(Reservation.order_line_id).in_(line_ids))
        ).all()
        assert set(states) == {ReservationState.CONSUMED}
        shipment = session.exec(select(Shipment)).one()
        assert shipment.tracking_number == number
        assert {scan.shipment_id for scan in session.exec(select(PackScan))} == {shipment.id}
        check_ledger_invariants(session)
    shown = packing.http.get(f"/api/v1/orders/{order}", headers=packing.auth).json()
    assert shown["packed_at"] is None
    assert shown["shipments"][0]["label_path"] == label["label_path"]

    # The tracking number reaches the marketplace.
    pushed = packing.sync.run("sb", "fulfilments")
    assert pushed.counts[RunCount.PUSHED] == 1, pushed.error
    (fulfilment,) = packing.marketplace.snapshot()["fulfilments"]
    assert fulfilment["tracking_number"] == number
    assert {(item["id"], item["quantity"]) for item in fulfilment["line_items"]} == {
        (f"{order}-1", 2),
        (f"{order}-2", 1),
    }
    assert packing.marketplace.get_order(order)["status"] == "fulfilled"
    with Session(packing.hub.engine) as session:
        assert session.exec(select(Shipment)).one().push_state == PushState.PUSHED


def test_the_cli_scans_then_buys_the_label_once_packed(packing: Packing) -> None:
    order = packing.buy((A, 1), (B, 1))

    first = packing.cli("pack", order, "--scan", BARCODES[A], "--carrier", "ups", "--weight", "0.8")
    assert first.exit_code == 0, first
    assert f"OK: {A} 1/1" in first.stdout
    assert "still to scan: PACK-B 1; no label is bought until it is packed" in first.stdout
    assert packing.carriers.labels() == []

    wrong_carrier = packing.cli(
        "pack", order, "--scan", BARCODES[B], "--carrier", "sb", "--weight", "1"
    )
    assert wrong_carrier.exit_code == 2
    assert "is not a carrier channel" in wrong_carrier.stderr
    no_weight = packing.cli("pack", order, "--carrier", "ups")
    assert no_weight.exit_code == 2

    done = packing.cli(
        "pack", order, "--scan", "NOT-A-CODE", "--scan", BARCODES[B],
        "--carrier", "ups", "--weight", "0.8", "--format", "ZPL", "--json",
    )  # fmt: skip
    assert done.exit_code == 1, done  # one scan was refused; the parcel is packed all the same
    assert "REFUSED NOT-A-CODE" in done.stderr
    body = json.loads(done.stdout)
    assert body["packed"] is True
    assert [item["sku"] for item in body["accepted"]] == [B]
    label = body["label"]
    assert label["label_format"] == "ZPL"
    assert Path(label["label_path"]).read_text().startswith("^XA")
    assert [bought["tracking_number"] for bought in packing.carriers.labels()] == [
        label["tracking_number"]
    ]
    assert level(packing.hub.engine, A, "main") == (19, 0)
    assert level(packing.hub.engine, B, "main") == (19, 0)
    shown = packing.cli("orders", "show", order, "--json").json()
    assert shown["status"] == "shipped"
    assert shown["packed_at"] is None


def test_a_label_that_cannot_be_bought_leaves_the_scans(packing: Packing) -> None:
    order = packing.buy((B, 1))
    path = f"/api/v1/orders/{order}/pack"
    not_a_carrier = {"scans": [BARCODES[B]], "label": {**LABEL, "carrier": "sb"}}
    refused = packing.http.post(path, json=not_a_carrier, headers=packing.auth)
    assert refused.status_code == 422
    assert "is not a carrier channel" in refused.json()["error"]
    assert packing.http.get(path, headers=packing.auth).json()["lines"][0]["scanned"] == 0

    unknown_service = {**LABEL, "service": "ups_teleport"}
    packed = packing.pack(order, BARCODES[B], label=unknown_service)
    assert packed["packed"] is True
    assert packed["label"] is None
    assert packed["label_error"].startswith("carrier channel ups:")
    assert packing.carriers.labels() == []
    assert level(packing.hub.engine, B, "main") == (20, 1)  # nothing left

    again = packing.pack(order, label=LABEL)  # packed already: asking again buys it
    assert again["label"]["tracking_number"].startswith("1Z")
    assert level(packing.hub.engine, B, "main") == (19, 0)


def claim(packing: Packing, order: str, *, held: bool) -> None:
    """Another purchase of the order's label under way (held), or none."""
    with transaction(packing.hub.engine) as session:
        row = find_order(session, order)[0]
        row.label_requested_at = clock_of(session).now() if held else None
        session.add(row)


def test_a_parcel_is_labelled_once_however_its_requests_cross(
    packing: Packing, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = packing.buy((B, 1))
    scan = PackingOrder.scan

    def another_packer_first(
        self: PackingOrder, engine: Any, code: str, *, actor: str, audit: Any = None
    ) -> Any:
        scan(self, engine, code, actor="another packer")  # the same last code, read twice
        return scan(self, engine, code, actor=actor, audit=audit)

    monkeypatch.setattr(PackingOrder, "scan", another_packer_first)
    crossed = packing.pack(order, BARCODES[B], label=LABEL)
    monkeypatch.undo()

    assert (crossed["packed"], crossed["accepted"], crossed["label"]) == (True, [], None)
    assert [item["code"] for item in crossed["refused"]] == [BARCODES[B]]
    assert "packed meanwhile by scans of another request" in crossed["label_error"]
    assert packing.carriers.labels() == []

    claim(packing, order, held=True)  # that other request is buying the label
    refused = packing.pack(order, BARCODES[B], label=LABEL)
    assert refused["refused"][0]["message"] == f"order {order} needs 1 of {B}; 1 scanned already"
    assert refused["label"] is None
    assert "a label for it has been under way since" in refused["label_error"]
    assert packing.carriers.labels() == []

    claim(packing, order, held=False)  # it failed for certain: asking again buys it
    bought = packing.pack(order, label=LABEL)
    number = bought["label"]["tracking_number"]
    assert [sold["tracking_number"] for sold in packing.carriers.labels()] == [number]
    shipped = packing.http.post(
        f"/api/v1/orders/{order}/pack", json={"scans": [], "label": LABEL}, headers=packing.auth
    )
    assert shipped.status_code == 200
    assert (shipped.json()["lines"], shipped.json()["label"]) == ([], None)
    assert len(packing.carriers.labels()) == 1


def test_a_label_the_carrier_may_have_sold_is_not_offered_again(packing: Packing) -> None:
    order = packing.buy((A, 1))
    packing.carriers.inject("ups.ship", "malformed_json")  # an answer karrio cannot read
    label = ("--carrier", "ups", "--service", "ups_ground", "--weight", "1")

    unsure = packing.cli("pack", order, "--scan", BARCODES[A], *label)

    assert unsure.exit_code == 1
    said = " ".join(unsure.stderr.split())
    assert "is packed, but its label was not bought" in said
    assert "look in the carrier's account before buying another" in said
    assert "buy it again" not in said
    assert packing.cli("pack", order, "--json").json()["packed"] is True  # the scans stay

    again = packing.cli("pack", order, *label)
    assert again.exit_code == 1
    said = " ".join(again.stderr.split())
    assert "a label for it has been under way since" in said
    assert "buy it again" not in said
    assert packing.carriers.labels() == []

    refused = packing.cli("pack", order, "--carrier", "ups", "--service", "ups_x", "--weight", "1")
    assert refused.exit_code == 1  # still held: the carrier is not even asked
    assert "under way since" in refused.stderr
    claim(packing, order, held=False)  # the operator found no label in the account
    certain = packing.cli("pack", order, "--carrier", "ups", "--service", "ups_x", "--weight", "1")
    assert certain.exit_code == 1
    assert "buy it again with `omnisync pack" in " ".join(certain.stderr.split())
