"""A channel's request to erase a buyer's personal data (eBay's marketplace account
deletion): the buyer's orders keep their lines and reservations and lose name, address,
buyer reference and raw payload, and a later report of the same order does not bring
them back. Other buyers' orders, and other channels' orders of a buyer of the same
name, are untouched."""

from __future__ import annotations

from sqlalchemy import Engine

from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.dto import NormalisedOrder, WebhookEvents
from omnisync.sync.webhooks import ingest_events
from tests.support.world import build_world, ingest, level, make_order, order_row, set_count

BUYER = {"username": "jane_doe", "name": "Jane Doe"}
ADDRESS = {"name": "Jane Doe", "address1": "1 Main St", "city": "Springfield"}


def bought(external_id: str, buyer: str, minutes: int = 0) -> NormalisedOrder:
    order = make_order(external_id, [("MUG", 2)], minutes=minutes)
    return order.model_copy(
        update={
            "buyer_ref": buyer,
            "customer": {**BUYER, "username": buyer},
            "ship_to": ADDRESS,
            "raw": {"orderId": external_id, "buyer": {"username": buyer}},
        }
    )


def erase(engine: Engine, channel: str, *buyers: str) -> None:
    with transaction(engine) as session:
        ingest_events(
            session, channel_by_name(session, channel), WebhookEvents(erased_buyers=buyers)
        )


def test_erasing_a_buyer_keeps_the_orders_and_their_stock_and_drops_the_personal_data(
    engine: Engine,
) -> None:
    build_world(engine, channels={"bay": None, "shop": None}, skus=("MUG",))
    set_count(engine, "MUG", "main", 10)
    ingest(engine, "bay", bought("A-1", "jane_doe"))
    ingest(engine, "bay", bought("A-2", "someone_else"))
    ingest(engine, "shop", bought("S-1", "jane_doe"))
    assert level(engine, "MUG", "main") == (10, 6)

    erase(engine, "bay", "jane_doe")

    erased = order_row(engine, "bay", "A-1")
    assert (erased.customer, erased.ship_to, erased.raw, erased.buyer_ref) == (None,) * 4
    assert erased.personal_data_erased_at is not None
    assert level(engine, "MUG", "main") == (10, 6)  # the reservation stands
    kept = order_row(engine, "bay", "A-2")
    assert kept.customer is not None
    assert kept.buyer_ref == "someone_else"
    other_channel = order_row(engine, "shop", "S-1")
    assert other_channel.ship_to == ADDRESS

    # The channel reports the order again (polling): the data stays erased.
    ingest(engine, "bay", bought("A-1", "jane_doe", minutes=5))
    again = order_row(engine, "bay", "A-1")
    assert (again.customer, again.ship_to, again.raw, again.buyer_ref) == (None,) * 4
    assert again.updated_at > erased.updated_at


def test_erasing_a_buyer_the_hub_never_saw_changes_nothing(engine: Engine) -> None:
    build_world(engine, channels={"bay": None}, skus=("MUG",))
    ingest(engine, "bay", bought("A-1", "jane_doe"))
    erase(engine, "bay", "nobody_we_know")
    assert order_row(engine, "bay", "A-1").customer is not None
