"""Property test: random sequences of orders, links, unlinks and counts keep the books.

Channel shop has listings A (linked by its code to hub SKU A, as the listings job links
it) and Y; hub SKUs A and B. Orders for A and Y come in (and orders of market for A),
each listing is linked to A or B, unlinked, linked again, stock is counted and orders
are cancelled, in any order. After every step: the ledger invariants
hold (check_ledger_invariants, which DatabaseMachine checks), every open line of a holding
order is bound to its listing's SKU while the listing is linked and to none while it is
not (listing A, once unlinked, is kept apart from linking by its code), and no unbound
line holds an active reservation.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule
from sqlmodel import Session, col, select

from omnisync.core.catalog import location_by_code, sku_by_code
from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.dto import NormalisedOrder
from omnisync.core.errors import Conflict
from omnisync.core.ledger import count_stock
from omnisync.core.listing_links import (
    ACTOR_CLI,
    ACTOR_LISTINGS_JOB,
    ListingFinder,
    link_listing,
    unlink_listing,
)
from omnisync.core.models import Listing, Order, OrderLine, Reservation, Sku
from omnisync.core.reservations import HOLDING_STATUSES
from omnisync.core.types import LinkMethod, OrderStatus, ReservationState
from tests.support.machines import DatabaseMachine, cases_per_backend
from tests.support.world import build_world, ingest, make_order

LISTINGS = ["A", "Y"]
SKUS = ["A", "B"]


class LinkMachine(DatabaseMachine):
    def __init__(self) -> None:
        super().__init__()
        build_world(self.engine, channels={"shop": None, "market": None})
        with transaction(self.engine) as session:
            shop = channel_by_name(session, "shop")
            for key in LISTINGS:
                session.add(Listing(channel_id=shop.id or 0, channel_sku=key))
            session.flush()
            link_listing(
                session,
                shop,
                ListingFinder(session, shop).find("A"),
                sku_by_code(session, "A"),
                method=LinkMethod.SKU,
                actor=ACTOR_LISTINGS_JOB,
            )
        self.linked: dict[str, str | None] = {"A": "A", "Y": None}
        self.orders: dict[str, tuple[str, str, int]] = {}
        """Each order's channel, channel SKU and quantity."""
        self.open: set[str] = set()

    @rule(listing=st.sampled_from(LISTINGS), quantity=st.integers(1, 3), market=st.booleans())
    def place_order(self, listing: str, quantity: int, market: bool) -> None:
        """An order for the listing; some orders on market (for hub code A) share the stock."""
        external_id = f"o{len(self.orders)}"
        channel, line = ("market", "A") if market else ("shop", listing)
        self.orders[external_id] = (channel, line, quantity)
        self.open.add(external_id)
        ingest(self.engine, channel, self._order(external_id, OrderStatus.ACCEPTED))

    @precondition(lambda self: bool(self.open))
    @rule(data=st.data())
    def cancel_order(self, data: st.DataObject) -> None:
        external_id = data.draw(st.sampled_from(sorted(self.open)))
        self.open.discard(external_id)
        channel = self.orders[external_id][0]
        ingest(self.engine, channel, self._order(external_id, OrderStatus.CANCELLED))

    def _order(self, external_id: str, status: OrderStatus) -> NormalisedOrder:
        _, line, quantity = self.orders[external_id]
        number = int(external_id[1:])
        return make_order(
            external_id,
            [(line, quantity)],
            status=status,
            minutes=number if status == OrderStatus.ACCEPTED else number + 1,
            placed_minutes=number,
        )

    @rule(listing=st.sampled_from(LISTINGS), sku=st.sampled_from(SKUS))
    def link(self, listing: str, sku: str) -> None:
        current = self.linked[listing]
        try:
            with transaction(self.engine) as session:
                shop = channel_by_name(session, "shop")
                change = link_listing(
                    session,
                    shop,
                    ListingFinder(session, shop).find(listing),
                    sku_by_code(session, sku),
                    method=LinkMethod.MANUAL,
                    actor=ACTOR_CLI,
                )
        except Conflict:
            assert current not in (None, sku)
            return
        assert change.changed == (current is None)
        assert current in (None, sku)
        self.linked[listing] = sku

    @rule(listing=st.sampled_from(LISTINGS))
    def unlink(self, listing: str) -> None:
        with transaction(self.engine) as session:
            shop = channel_by_name(session, "shop")
            change = unlink_listing(
                session, shop, ListingFinder(session, shop).find(listing), actor=ACTOR_CLI
            )
        assert change.changed == (self.linked[listing] is not None)
        self.linked[listing] = None

    @rule(sku=st.sampled_from(SKUS), quantity=st.integers(0, 6))
    def count(self, sku: str, quantity: int) -> None:
        with transaction(self.engine) as session:
            count_stock(
                session, sku_by_code(session, sku), location_by_code(session, "main"), quantity
            )

    @invariant()
    def open_lines_follow_their_listing(self) -> None:
        with Session(self.engine) as session:
            codes = {sku.id: sku.code for sku in session.exec(select(Sku))}
            shop = channel_by_name(session, "shop")
            rows = session.exec(
                select(OrderLine, Order)
                .join(Order, col(Order.id) == OrderLine.order_id)
                .where(
                    Order.channel_id == shop.id,
                    col(Order.status).in_(HOLDING_STATUSES),
                    OrderLine.quantity > OrderLine.quantity_shipped + OrderLine.quantity_cancelled,
                )
            ).all()
            for line, order in rows:
                bound = codes.get(line.sku_id) if line.sku_id else None
                assert bound == self.linked[line.channel_sku], (order.external_id, line)

    @invariant()
    def no_unbound_line_holds_stock(self) -> None:
        with Session(self.engine) as session:
            holding = session.exec(
                select(Reservation.id)
                .join(OrderLine, col(OrderLine.id) == Reservation.order_line_id)
                .where(
                    Reservation.state == ReservationState.ACTIVE,
                    col(OrderLine.sku_id).is_(None),
                )
            ).all()
            assert holding == []


TestListingLinkPropertiesSQLite, TestListingLinkPropertiesPostgres = cases_per_backend(
    LinkMachine, max_examples=15, steps=20
)
