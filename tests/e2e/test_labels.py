"""Issue 19, labels: `omnisync orders rates` and `omnisync orders label` for an order of
the sandbox marketplace, bought from the UPS simulator through karrio over real HTTP
(SQLite and PostgreSQL). The label's file is written under the data folder, the parcel
is recorded as `orders ship` records one (stock consumed, fulfilment pushed to the
marketplace), and the tracking job finds the new number at the carrier. What cannot be
labelled buys nothing; a parcel that cannot be recorded names its label; a label whose
file cannot be written still records its parcel. A purchase claims the order, so that a
second one is refused while the first is under way (or its outcome unknown), and a
split order takes a label per location.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from omnisync.connectors.base import Connector
from omnisync.core.catalog import location_by_code, upsert_sku
from omnisync.core.channels import channel_by_name
from omnisync.core.clock import ManualClock
from omnisync.core.db import transaction
from omnisync.core.errors import InvalidRequest
from omnisync.core.holds import hold_order
from omnisync.core.ledger import count_stock
from omnisync.core.models import Order, Shipment
from omnisync.core.types import OrderStatus, PushState, ShipmentStatus
from omnisync.hub import labels
from omnisync.hub.bootstrap import Hub, bootstrap
from omnisync.hub.labels import (
    CLAIM_HELD_FOR,
    CarrierFailed,
    LabelNotRecorded,
    LabelOptions,
    LabelUnderWay,
    buy_label,
)
from omnisync.hub.settings import ChannelConfig
from omnisync.sandbox.carriers import CarrierSimulator
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sync.engine import SyncEngine
from omnisync.sync.jobs.counts import RunCount
from tests.e2e.conftest import TOKEN
from tests.support.carrier_labels import label_carrier_channel, label_hub_yaml, write_label_config
from tests.support.cli_runner import CliResult, invoke_cli
from tests.support.databases import migrated_sqlite_file
from tests.support.hub_setup import engine_for, sandbox_channel
from tests.support.queue_mode import name_the_runner
from tests.support.world import level

SKUS = ("MUG", "LID")
START = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
"""The hub's clock starts here (the CLI's runs take the wall clock)."""
BACKUP_ADDRESS = (
    "    address:\n      name: Backup desk\n      street1: 9 Side Rd\n      city: Austin\n"
    "      state_code: TX\n      postal_code: '73301'\n      country_code: US\n"
)
"""hub.yaml's `backup` location given an address (label_hub_yaml leaves it without)."""
ONE_KG = LabelOptions(carrier="ups", weight_kg=Decimal(1), service="ups_ground")


@dataclass
class World:
    hub: Hub
    engine: SyncEngine
    config_dir: Path
    database_url: str
    data_dir: Path
    marketplace: SandboxMarketplace
    carriers: CarrierSimulator
    secrets: tuple[str, ...]
    clock: ManualClock

    def cli(self, *args: str) -> CliResult:
        return invoke_cli(self.config_dir, self.database_url, *args, secrets=self.secrets)

    def order(self, lines: list[tuple[str, int]]) -> str:
        """A buyer orders on the marketplace; the hub reads it. Its external id."""
        placed = self.marketplace.buy_many(lines)
        assert placed is not None
        self.clock.advance(timedelta(seconds=1))  # past the last run's lease
        assert self.engine.run("sb", "orders").status == "succeeded"
        return str(placed["id"])

    def row(self, external_id: str) -> Order:
        with Session(self.hub.engine) as session:
            return session.exec(select(Order).where(Order.external_id == external_id)).one()

    def shipments(self) -> list[Shipment]:
        with Session(self.hub.engine) as session:
            return list(session.exec(select(Shipment)))

    def buy(self, external_id: str, options: LabelOptions = ONE_KG) -> str:
        """A label bought for every open unit; its tracking number."""
        return buy_label(self.engine, self.hub.settings, external_id, options).tracking_number

    def labels_written(self) -> list[Path]:
        folder = self.data_dir / "labels"
        return sorted(folder.iterdir()) if folder.exists() else []


@pytest.fixture
def world(
    tmp_path: Path,
    migrated_database_url: str,
    marketplace: SandboxMarketplace,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    with CarrierSimulator() as carriers:
        ups, variables = label_carrier_channel(carriers, "ups", "UPS")
        for name, value in {**variables, "SB_KEY": TOKEN}.items():
            monkeypatch.setenv(name, value)
        data_dir = tmp_path / "var"
        channels = {"sb": sandbox_channel(marketplace.url), "ups": ups}
        config = name_the_runner(write_label_config(tmp_path / "config", channels, data_dir))
        clock = ManualClock(START)
        migrated_sqlite_file(migrated_database_url)
        hub = bootstrap(config, database_url=migrated_database_url, create=True, clock=clock)
        with transaction(hub.engine) as session:
            main = location_by_code(session, "main")
            for code in SKUS:
                count_stock(session, upsert_sku(session, code), main, 20)
        marketplace.set_listings([{"sku": code, "title": code, "quantity": 20} for code in SKUS])
        engine = engine_for(hub, clock=clock)
        secrets = (TOKEN, variables["UPS_CLIENT_SECRET"], variables["UPS_ACCOUNT_NUMBER"])
        yield World(
            hub,
            engine,
            config,
            migrated_database_url,
            data_dir,
            marketplace,
            carriers,
            secrets,
            clock,
        )
        engine.close()
        hub.engine.dispose()


def test_a_label_is_bought_saved_and_its_parcel_shipped_and_tracked(world: World) -> None:
    external_id = world.order([("MUG", 2), ("LID", 1)])
    assert level(world.hub.engine, "MUG", "main") == (20, 2)

    bought = world.cli(
        "orders", "label", external_id, "--carrier", "ups", "--weight", "1.2",
        "--dimensions", "30x20x10", "--json",
    ).json()  # fmt: skip

    order, shipment = bought["order"], bought["shipment"]
    assert order["status"] == OrderStatus.SHIPPED
    number = shipment["tracking_number"]
    assert number.startswith("1Z")
    assert shipment["carrier"] == "UPS"
    assert shipment["carrier_channel"] == "ups"
    assert shipment["service"] == "ups_ground"  # no service asked: the cheapest quoted
    assert (Decimal(shipment["price"]), shipment["currency"]) == (
        Decimal(world.carriers.labels()[0]["price"]),
        "USD",
    )
    assert shipment["label_format"] == "PDF"
    label_file = Path(shipment["label_path"])
    assert label_file == (world.data_dir / "labels" / f"{order['id']}-{number}.pdf").resolve()
    assert label_file.read_bytes().startswith(b"%PDF-")
    assert world.labels_written() == [label_file]
    assert shipment["file_error"] is None

    # What UPS was asked: the order's name, from main's address to the buyer's.
    (sold,) = world.carriers.labels()
    assert sold["tracking_number"] == number
    assert sold["reference"] == external_id
    assert sold["shipper"].endswith("1 Main St, Louisville KY 40213 US")
    assert "Market Street, Springfield" in sold["recipient"]
    assert Decimal(sold["weight_kg"]) == pytest.approx(Decimal("1.2"), abs=Decimal("0.01"))

    # Recorded as `orders ship` records a parcel: the reservations consumed.
    assert level(world.hub.engine, "MUG", "main") == (18, 0)
    assert level(world.hub.engine, "LID", "main") == (19, 0)
    (row,) = world.shipments()
    assert row.label_path == str(label_file)
    assert row.label_format == "PDF"
    assert row.push_state == PushState.PENDING
    assert {(line["external_line_id"], line["quantity"]) for line in row.lines} == {
        (f"{external_id}-1", 2),
        (f"{external_id}-2", 1),
    }
    with Session(world.hub.engine) as session:
        assert row.carrier_channel_id == channel_by_name(session, "ups").id

    # The marketplace hears of the parcel with the label's number.
    pushed = world.engine.run("sb", "fulfilments")
    assert pushed.status == "succeeded", pushed.error
    (fulfilment,) = world.marketplace.snapshot()["fulfilments"]
    assert (fulfilment["order_id"], fulfilment["tracking_number"]) == (external_id, number)

    # The tracking job finds the number at the carrier at once.
    tracked = world.engine.run("ups", "tracking")
    assert tracked.status == "succeeded", tracked.error
    assert tracked.counts[RunCount.TRACKED] == 1
    (row,) = world.shipments()
    assert row.push_state == PushState.PUSHED
    assert row.status == ShipmentStatus.LABEL_CREATED
    assert row.tracked_at is not None
    assert row.unknown_since is None

    shown = world.cli("orders", "show", external_id, "--json").json()
    (parcel,) = shown["shipments"]
    assert (parcel["label_path"], parcel["label_format"]) == (str(label_file), "PDF")
    assert parcel["carrier_shipment_id"] == number  # the simulator's id is the number
    assert parcel["events"]  # the label-created scan
    printed = world.cli("orders", "show", external_id)
    assert f"label of {number}: {label_file} (PDF)" in printed.stdout


def test_rates_list_the_services_and_buy_nothing(world: World) -> None:
    external_id = world.order([("MUG", 1)])
    rates = world.cli(
        "orders", "rates", external_id, "--carrier", "ups", "--weight", "2", "--json"
    ).json()
    services = [rate["service"] for rate in rates]
    assert services[0] == "ups_ground"
    assert {"ups_ground", "ups_2nd_day_air", "ups_next_day_air"} <= set(services)
    prices = [Decimal(rate["price"]) for rate in rates]
    assert prices == sorted(prices)
    assert all(rate["currency"] == "USD" and rate["transit_days"] >= 1 for rate in rates)
    table = world.cli("orders", "rates", external_id, "--carrier", "ups", "--weight", "2")
    assert "ups_next_day_air" in table.stdout
    assert world.carriers.labels() == []
    assert world.shipments() == []
    assert world.row(external_id).status == OrderStatus.ACCEPTED


def test_a_zpl_label_for_a_named_service(world: World) -> None:
    external_id = world.order([("LID", 1)])
    said = world.cli(
        "orders", "label", external_id, "--carrier", "ups", "--weight", "0.5",
        "--service", "ups_2nd_day_air", "--format", "ZPL",
    )  # fmt: skip
    assert said.exit_code == 0, said
    (sold,) = world.carriers.labels()
    (label_file,) = world.labels_written()
    assert label_file.suffix == ".zpl"
    assert label_file.read_text().startswith("^XA")
    assert sold["tracking_number"] in label_file.read_text()
    assert sold["service"] == "02"
    assert f"label {sold['tracking_number']} bought from ups (ups_2nd_day_air)" in said.stdout
    (row,) = world.shipments()
    assert (row.service, row.label_format) == ("ups_2nd_day_air", "ZPL")


def test_what_cannot_be_labelled_buys_nothing(world: World) -> None:
    held = world.order([("MUG", 1)])
    with transaction(world.hub.engine) as session:
        hold_order(session, world.row(held), "address check")
    refused = world.cli("orders", "label", held, "--carrier", "ups", "--weight", "1")
    assert refused.exit_code == 1
    assert "on hold (address check)" in refused.stderr

    open_order = world.order([("LID", 1)])
    cases: list[tuple[tuple[str, ...], int, str]] = [
        (("--carrier", "sb", "--weight", "1"), 2, "'sb' (sandbox) is not a carrier channel"),
        (("--carrier", "ups", "--weight", "0"), 2, "not a weight in kg above 0"),
        (("--carrier", "ups", "--weight", "1", "--dimensions", "30x20"), 2, "not LxWxH"),
        (("--carrier", "ups", "--weight", "1", "--service", "ups_teleport"), 1, "111100"),
    ]
    for options, code, words in cases:
        said = world.cli("orders", "label", open_order, *options)
        assert said.exit_code == code, said
        assert words in said.stderr.replace("\n", " "), said
    assert world.carriers.labels() == []
    assert world.shipments() == []
    assert world.labels_written() == []
    assert level(world.hub.engine, "LID", "main") == (20, 1)


def test_a_location_without_an_address_is_named_in_hub_yaml(world: World) -> None:
    with transaction(world.hub.engine) as session:
        backup = location_by_code(session, "backup")
        main = location_by_code(session, "main")
        count_stock(session, upsert_sku(session, "MUG"), main, 0)
        count_stock(session, upsert_sku(session, "MUG"), backup, 5)
    external_id = world.order([("MUG", 1)])
    assert level(world.hub.engine, "MUG", "backup") == (5, 1)
    said = world.cli("orders", "label", external_id, "--carrier", "ups", "--weight", "1")
    assert said.exit_code == 1
    assert "location 'backup' has no address" in said.stderr
    assert "locations.1.address in hub.yaml" in said.stderr
    assert world.carriers.labels() == []


def test_a_parcel_that_cannot_be_recorded_names_its_label(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    external_id = world.order([("MUG", 1)])

    def refused(*args: Any, **kwargs: Any) -> Shipment:
        raise InvalidRequest("the order changed meanwhile")

    monkeypatch.setattr(labels, "record_shipment", refused)
    options = LabelOptions(carrier="ups", weight_kg=Decimal(1))
    with pytest.raises(LabelNotRecorded) as raised:
        buy_label(world.engine, world.hub.settings, external_id, options)
    (sold,) = world.carriers.labels()
    (label_file,) = world.labels_written()
    message = str(raised.value)
    assert sold["tracking_number"] in message
    assert str(label_file) in message
    assert "the order changed meanwhile" in message
    assert f"omnisync orders ship {world.row(external_id).id} --carrier ups" in message
    assert raised.value.tracking_number == sold["tracking_number"]
    assert raised.value.label_path == label_file
    assert f"no other label is bought for the order until {held_until(world)}" in message
    assert world.shipments() == []
    assert level(world.hub.engine, "MUG", "main") == (20, 1)
    assert world.row(external_id).label_requested_at == world.clock.now()  # the label holds it


def test_an_order_split_over_two_locations_takes_a_label_per_location(world: World) -> None:
    (world.config_dir / "hub.yaml").write_text(label_hub_yaml(world.data_dir) + BACKUP_ADDRESS)
    name_the_runner(world.config_dir)
    with transaction(world.hub.engine) as session:
        main = location_by_code(session, "main")
        backup = location_by_code(session, "backup")
        count_stock(session, upsert_sku(session, "LID"), main, 0)
        count_stock(session, upsert_sku(session, "LID"), backup, 5)
    external_id = world.order([("MUG", 2), ("LID", 1)])
    assert level(world.hub.engine, "LID", "backup") == (5, 1)
    label = ("orders", "label", external_id, "--carrier", "ups", "--weight", "0.8")

    whole = world.cli(*label)
    assert whole.exit_code == 1
    said = " ".join(whole.stderr.split())
    assert "its lines ship from backup and main; buy one label per location" in said
    assert "`--location backup`" in said
    elsewhere = world.cli(*label, "--location", "main", "--line", "LID:1")
    assert elsewhere.exit_code == 1
    assert "LID is not reserved at main" in elsewhere.stderr
    assert world.carriers.labels() == []

    at_backup = world.cli(*label, "--location", "backup", "--json").json()["shipment"]
    mugs = world.cli(*label, "--line", "MUG:2", "--json").json()["shipment"]

    assert at_backup["lines"] == [{"external_line_id": f"{external_id}-2", "quantity": 1}]
    assert mugs["lines"] == [{"external_line_id": f"{external_id}-1", "quantity": 2}]
    sold = {label["tracking_number"]: label["shipper"] for label in world.carriers.labels()}
    assert sold[at_backup["tracking_number"]].endswith("9 Side Rd, Austin TX 73301 US")
    assert sold[mugs["tracking_number"]].endswith("1 Main St, Louisville KY 40213 US")
    assert world.row(external_id).status == OrderStatus.SHIPPED
    assert level(world.hub.engine, "MUG", "main") == (18, 0)
    assert level(world.hub.engine, "LID", "backup") == (4, 0)
    nothing_left = world.cli(*label, "--location", "backup")
    assert "has nothing to ship from backup" in nothing_left.stderr


def held_until(world: World) -> str:
    """Until when a purchase claiming the order now holds it, as the messages say it."""
    return f"{world.clock.now() + CLAIM_HELD_FOR:%Y-%m-%d %H:%M} UTC"


def test_a_second_purchase_while_one_is_under_way_is_refused(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    external_id = world.order([("MUG", 1)])
    refusals: list[LabelUnderWay] = []
    ask_carrier = labels._ask_carrier

    def meanwhile(
        engine: SyncEngine, carrier: ChannelConfig, ask: Callable[[Connector], Any]
    ) -> Any:
        # The first purchase waits for the carrier; a client retries, a packer asks again.
        with pytest.raises(LabelUnderWay) as refused:
            world.buy(external_id)
        refusals.append(refused.value)
        return ask_carrier(engine, carrier, ask)

    monkeypatch.setattr(labels, "_ask_carrier", meanwhile)
    number = world.buy(external_id)

    (refused,) = refusals
    assert f"under way since {world.clock.now():%Y-%m-%d %H:%M:%S} UTC" in str(refused)
    assert f"no other label is bought for it until {held_until(world)}" in str(refused)
    assert [sold["tracking_number"] for sold in world.carriers.labels()] == [number]
    assert world.row(external_id).label_requested_at is None  # dropped once recorded
    (row,) = world.shipments()
    assert row.tracking_number == number


def test_a_certain_refusal_drops_the_claim_and_an_uncertain_failure_keeps_it(
    world: World,
) -> None:
    external_id = world.order([("MUG", 1)])
    teleport = LabelOptions(carrier="ups", weight_kg=Decimal(1), service="ups_teleport")
    with pytest.raises(CarrierFailed) as certain:
        world.buy(external_id, teleport)
    assert not certain.value.uncertain
    assert world.row(external_id).label_requested_at is None

    world.carriers.inject("ups.ship", "malformed_json")  # an answer karrio cannot read
    with pytest.raises(CarrierFailed) as uncertain:
        world.buy(external_id)
    assert uncertain.value.uncertain
    said = str(uncertain.value)
    assert "look in the carrier's account before buying another" in said
    assert "No other label is bought for order" in said
    assert f"until {held_until(world)}" in said
    assert world.row(external_id).label_requested_at == world.clock.now()

    world.clock.advance(timedelta(minutes=14, seconds=59))
    with pytest.raises(LabelUnderWay):
        world.buy(external_id)
    assert world.carriers.labels() == []
    world.clock.advance(timedelta(seconds=1))  # the claim lapsed: the operator has looked
    number = world.buy(external_id)
    assert [sold["tracking_number"] for sold in world.carriers.labels()] == [number]


def test_a_label_whose_file_cannot_be_written_still_records_its_parcel(world: World) -> None:
    external_id = world.order([("MUG", 1)])
    world.data_dir.mkdir(parents=True, exist_ok=True)
    (world.data_dir / "labels").write_text("a file where the labels folder should be")

    said = world.cli("orders", "label", external_id, "--carrier", "ups", "--weight", "1", "--json")

    assert said.exit_code == 1
    (sold,) = world.carriers.labels()
    number = sold["tracking_number"]
    message = " ".join(said.stderr.split())
    assert f"label {number} was bought and its parcel is recorded, but the label's file " in (
        message
    )
    assert "could not be written" in message
    assert "print the label from ups's account" in message
    shipment = json.loads(said.stdout)["shipment"]
    assert (shipment["tracking_number"], shipment["label_path"]) == (number, None)
    assert shipment["file_error"] is not None
    (row,) = world.shipments()
    assert (row.tracking_number, row.label_path, row.label_format) == (number, None, "PDF")
    assert level(world.hub.engine, "MUG", "main") == (19, 0)
    assert world.row(external_id).status == OrderStatus.SHIPPED
    assert world.row(external_id).label_requested_at is None
