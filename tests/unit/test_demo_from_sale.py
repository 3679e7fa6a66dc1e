"""hub/demo/from_sale.py: from a buyer's sale to the hub's intake, and to every other
channel holding the new quantity.

Sales, pushes and the hub's orders are made by hand on a fixed time line (`at(ms)`);
the figures are computed from those stamps, nothing here reads a clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from omnisync.hub.demo.from_sale import (
    Ack,
    HubView,
    Sale,
    SaleLog,
    StoredOrder,
    sale_delays,
)

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SHIRT, KIT = 1, 2
"""Hub SKU ids: a shirt, and a bundle that holds it."""


def at(ms: float) -> datetime:
    return START + timedelta(milliseconds=ms)


def hub_with(order: StoredOrder, origin: str = "shop") -> HubView:
    """Three channels list the shirt and the kit under their own names; `origin` holds
    the order O-1."""
    return HubView(
        orders={origin: {"O-1": order}},
        listings={
            "shop": {SHIRT: ["shop-shirt"], KIT: ["shop-kit"]},
            "amazon": {SHIRT: ["amz-shirt"], KIT: ["amz-kit"]},
            "sandbox": {SHIRT: ["sb-shirt"], KIT: ["sb-kit"]},
        },
    )


SALE = Sale("shop", "O-1", at(0))
TAKEN_IN = StoredOrder(ingested_at=at(400), sku_ids=frozenset({SHIRT}))


def test_the_sale_reaches_everywhere_when_the_last_other_channel_acknowledges() -> None:
    acks = {
        ("amazon", "amz-shirt"): [Ack(at(600), at(400))],
        ("sandbox", "sb-shirt"): [Ack(at(900), at(400))],
        ("shop", "shop-shirt"): [Ack(at(2000), at(400))],  # the origin: not waited for
    }
    delays = sale_delays([SALE], acks, hub_with(TAKEN_IN))
    assert delays.intake_ms == {"shop": [400.0]}
    assert delays.from_sale_ms == {"shop": [900.0]}


def test_a_push_acknowledged_before_the_order_was_taken_in_did_not_carry_it() -> None:
    acks = {
        ("amazon", "amz-shirt"): [Ack(at(300), at(100)), Ack(at(700), at(100))],
        ("sandbox", "sb-shirt"): [Ack(at(500), at(400))],
    }
    delays = sale_delays([SALE], acks, hub_with(TAKEN_IN))
    assert delays.from_sale_ms == {"shop": [700.0]}


def test_a_listing_whose_next_push_was_dirtied_later_needed_no_push_for_the_order() -> None:
    """The sandbox's shirt was sold out already: the order changed nothing there, and a
    push much later (after a cancellation, say) is not the order's."""
    acks = {
        ("amazon", "amz-shirt"): [Ack(at(650), at(400))],
        ("sandbox", "sb-shirt"): [Ack(at(9000), at(8500))],
    }
    delays = sale_delays([SALE], acks, hub_with(TAKEN_IN))
    assert delays.from_sale_ms == {"shop": [650.0]}


def test_an_order_no_other_channel_needed_a_push_for_has_intake_but_no_from_sale() -> None:
    delays = sale_delays([SALE], {}, hub_with(TAKEN_IN))
    assert delays.intake_ms == {"shop": [400.0]}
    assert delays.from_sale_ms == {}


def test_a_sold_bundle_waits_for_its_own_listings_not_its_components() -> None:
    kit_order = StoredOrder(ingested_at=at(400), sku_ids=frozenset({KIT}))
    acks = {
        ("amazon", "amz-kit"): [Ack(at(500), at(400))],
        ("sandbox", "sb-kit"): [Ack(at(550), at(400))],
        ("sandbox", "sb-shirt"): [Ack(at(3000), at(400))],  # a component's listing
    }
    delays = sale_delays([SALE], acks, hub_with(kit_order))
    assert delays.from_sale_ms == {"shop": [550.0]}


def test_a_sale_the_hub_does_not_hold_gives_no_figure() -> None:
    lost = Sale("shop", "O-404", at(0))
    assert sale_delays([lost], {}, hub_with(TAKEN_IN)).intake_ms == {}


def test_figures_are_kept_per_channel_the_buyer_bought_on() -> None:
    amazon_sale = Sale("amazon", "O-1", at(1000))
    amazon_order = StoredOrder(ingested_at=at(1100), sku_ids=frozenset({SHIRT}))
    acks = {
        ("shop", "shop-shirt"): [Ack(at(1300), at(1100))],
        ("sandbox", "sb-shirt"): [Ack(at(1250), at(1100))],
    }
    delays = sale_delays([amazon_sale], acks, hub_with(amazon_order, origin="amazon"))
    assert delays.intake_ms == {"amazon": [100.0]}
    assert delays.from_sale_ms == {"amazon": [300.0]}


def test_the_log_keeps_sales_and_pushes_by_channel_and_listing() -> None:
    log = SaleLog()
    log.sold("shop", "O-1", at(0))
    log.pushed("amazon", "amz-shirt", at(400), at(600))
    assert log.sales == [SALE]
    assert log.acks == {("amazon", "amz-shirt"): [Ack(at(600), at(400))]}
