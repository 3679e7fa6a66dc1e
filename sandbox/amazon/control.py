"""Control operations of the Amazon simulator: the seller in Seller Central, the
buyers, and what tests read back.

A mixin of :class:`sandbox.amazon.AmazonSimulator`. Everything runs under the
simulator's lock and first lets due feeds and reports finish, so a read never sees one
that should be done as still pending. Refusals raise
:class:`~sandbox.amazon.http.AmazonSimulatorError`.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from omnisync.sandbox.amazon.feeds import FeedDesk, feed_json
from omnisync.sandbox.amazon.http import (
    JSON,
    AmazonSimulatorError,
    SpApiError,
    amazon_time,
    parse_price,
)
from omnisync.sandbox.amazon.listings import Catalogue
from omnisync.sandbox.amazon.listings_api import ITEM_DATA
from omnisync.sandbox.amazon.orders import (
    CANCELED,
    PENDING,
    PENDING_AVAILABILITY,
    UNSHIPPED,
    AmazonOrder,
    OrderBook,
    order_item_json,
    order_json,
)
from omnisync.sandbox.amazon.processing import FINISHED
from omnisync.sandbox.amazon.reports import ReportDesk, report_json
from omnisync.sandbox.clock import Clock

DEFAULT_ORDER_PRICE: Final = Decimal("10.00")
WAIT_SLICE_S: Final = 0.01


class SellerControls:
    """What a test or the demo does to the seller's account from outside the API."""

    if TYPE_CHECKING:
        _lock: threading.RLock
        clock: Clock
        orders_book: OrderBook
        catalogue: Catalogue
        feed_desk: FeedDesk
        report_desk: ReportDesk
        listing_patches_log: list[JSON]

        def _advance_processing(self) -> None: ...

    # listings -------------------------------------------------------------------------

    def add_listings(self, items: Iterable[Mapping[str, Any]]) -> list[JSON]:
        """Add (or replace) listings: ``[{sku, asin?, productType?, quantity?, title?, price?,
        barcode?, barcode_type?}]``.

        ``quantity`` is the merchant-fulfilled (``DEFAULT``) quantity; ``productType``
        defaults to ``PRODUCT`` and ``asin`` to a made-up stable one; ``barcode`` (of
        ``barcode_type``, ``ean`` by default) is served in the listing's attributes as
        ``externally_assigned_product_identifier``.
        """
        with self._lock:
            added = [self.catalogue.add(item) for item in items]
            return [self.catalogue.item_json(listing, ITEM_DATA) for listing in added]

    def set_listings(self, items: Iterable[Mapping[str, Any]]) -> list[JSON]:
        """Replace the whole catalogue."""
        with self._lock:
            self.catalogue.listings.clear()
            return self.add_listings(items)

    def remove_listing(self, sku: str) -> None:
        with self._lock:
            self.catalogue.listing(sku)
            self.catalogue.remove(sku)

    def set_quantity(self, sku: str, quantity: int) -> None:
        """The seller edits the quantity in Seller Central."""
        with self._lock:
            self.catalogue.set_quantity(sku, quantity)

    def quantity(self, sku: str) -> int:
        """The merchant-fulfilled quantity Amazon holds for ``sku``."""
        with self._lock:
            self._advance_processing()
            return self.catalogue.listing(sku).quantity

    def quantities(self) -> dict[str, int]:
        with self._lock:
            self._advance_processing()
            return {sku: listing.quantity for sku, listing in self.catalogue.listings.items()}

    def listing(self, sku: str) -> JSON:
        """The listing with every data set (summaries, attributes, issues, ...)."""
        with self._lock:
            self._advance_processing()
            return self.catalogue.item_json(self.catalogue.listing(sku), ITEM_DATA)

    def set_listing_issues(self, sku: str, issues: Sequence[Mapping[str, Any]]) -> None:
        """Issues Amazon reports on a listing (searchListingsItems ``includedData=issues``)."""
        with self._lock:
            self.catalogue.listing(sku).issues = [dict(entry) for entry in issues]

    def listing_patches(self) -> list[JSON]:
        """Every patchListingsItem request received: sku, productType, patches, status,
        issues, appliedAt (when an accepted patch changed the listing, ISO 8601)."""
        with self._lock:
            return copy.deepcopy(self.listing_patches_log)

    # orders ---------------------------------------------------------------------------

    def place_order(
        self,
        lines: Sequence[Mapping[str, Any] | tuple[str, int]],
        *,
        status: str = UNSHIPPED,
        fulfillment_channel: str = "MFN",
        purchased_at: datetime | None = None,
        seller_order_id: str | None = None,
        check_stock: bool = True,
    ) -> JSON:
        """A buyer orders: ``lines`` of ``{sku, quantity?, price?, tax?}`` or ``(sku, quantity)``.

        ``status`` is ``Unshipped`` (paid), ``Pending`` (prices hidden until
        :meth:`authorise_payment`) or ``PendingAvailability``. An MFN order takes its
        units off the listings' quantities (refused when a listing has too few and
        ``check_stock``); an AFN order leaves them alone (Amazon ships its own stock).
        Prices default to the listing's price, else 10.00.
        """
        with self._lock:
            normalised = [self._order_line(line) for line in lines]
            if fulfillment_channel == "MFN":
                self._take_stock(normalised, check_stock)
            order = self.orders_book.place(
                normalised,
                status=status,
                fulfillment_channel=fulfillment_channel,
                purchased_at=purchased_at,
                seller_order_id=seller_order_id,
            )
            return self._order_view(order)

    def buy(self, sku: str, quantity: int = 1, **options: Any) -> JSON | None:
        """One line of ``quantity`` x ``sku``; None when the listing has too few units."""
        try:
            return self.place_order([{"sku": sku, "quantity": quantity}], **options)
        except AmazonSimulatorError:
            with self._lock:
                listing = self.catalogue.listings.get(sku)
                if listing is not None and listing.quantity < quantity:
                    return None
            raise

    def _order_line(self, line: Mapping[str, Any] | tuple[str, int]) -> dict[str, Any]:
        given: dict[str, Any] = (
            {"sku": line[0], "quantity": line[1]} if isinstance(line, tuple) else dict(line)
        )
        if not given.get("sku"):
            raise AmazonSimulatorError("an order line needs a SKU")
        listing = self.catalogue.listings.get(str(given["sku"]))
        if listing is not None:
            given.setdefault("asin", listing.asin)
            given.setdefault("title", listing.title)
            if listing.price is not None:
                given.setdefault("price", listing.price)
        given.setdefault("price", DEFAULT_ORDER_PRICE)
        given.setdefault("quantity", 1)
        return given

    def _take_stock(self, lines: Sequence[Mapping[str, Any]], check: bool) -> None:
        wanted: dict[str, int] = {}
        for line in lines:
            wanted[str(line["sku"])] = wanted.get(str(line["sku"]), 0) + int(line["quantity"])
        if check:
            for sku, quantity in wanted.items():
                listing = self.catalogue.listings.get(sku)
                if listing is None:
                    raise AmazonSimulatorError(f"no listing for SKU {sku!r}")
                if listing.quantity < quantity:
                    raise AmazonSimulatorError(
                        f"SKU {sku!r} has {listing.quantity} units, not {quantity}"
                    )
        for sku, quantity in wanted.items():
            listing = self.catalogue.listings.get(sku)
            if listing is not None:
                self.catalogue.set_quantity(sku, max(0, listing.quantity - quantity))

    def authorise_payment(self, order_id: str, prices: Mapping[str, Any] | None = None) -> JSON:
        """A Pending order's payment goes through: Unshipped, prices shown (``prices``:
        optional new unit prices by SKU)."""
        with self._lock:
            order = self.orders_book.order(order_id)
            if order.status not in (PENDING, PENDING_AVAILABILITY):
                raise AmazonSimulatorError(f"order {order_id} is {order.status}, not Pending")
            for line in order.lines:
                if prices and line.sku in prices:
                    line.unit_price = parse_price(prices[line.sku])
            return self._order_view(self.orders_book.set_status(order_id, UNSHIPPED))

    def set_order_status(self, order_id: str, status: str) -> JSON:
        """Move an order by hand (e.g. an AFN order to Shipped, PendingAvailability to
        Pending); Canceled gives MFN units back as :meth:`cancel_order` does."""
        if status == CANCELED:
            return self.cancel_order(order_id)
        with self._lock:
            return self._order_view(self.orders_book.set_status(order_id, status))

    def cancel_order(self, order_id: str) -> JSON:
        """The order is canceled; unshipped MFN units go back on their listings."""
        with self._lock:
            order = self.orders_book.order(order_id)
            before = order.status
            self.orders_book.set_status(order_id, CANCELED)
            if order.fulfillment_channel == "MFN" and before != CANCELED:
                for line in order.lines:
                    listing = self.catalogue.listings.get(line.sku)
                    if listing is not None and line.unshipped > 0:
                        self.catalogue.set_quantity(line.sku, listing.quantity + line.unshipped)
            return self._order_view(order)

    def ship_order(
        self, order_id: str, tracking_number: str | None = None, carrier: str = "UPS"
    ) -> JSON:
        """The seller confirms the shipment of every unit not shipped yet, in one package
        (what confirmShipment does; a made-up tracking number when none is given)."""
        with self._lock:
            order = self.orders_book.order(order_id)
            items = [
                {"orderItemId": line.item_id, "quantity": line.unshipped}
                for line in order.lines
                if line.unshipped > 0
            ]
            if not items:
                raise AmazonSimulatorError(f"order {order_id} has nothing left to ship")
            now = self.clock.now()
            package = {
                "packageReferenceId": str(len(order.shipments) + 1),
                "carrierCode": carrier,
                "trackingNumber": tracking_number or f"SIM{order_id.replace('-', '')}",
                "shipDate": amazon_time(now),
                "orderItems": items,
            }
            body = {"marketplaceId": order.marketplace_id, "packageDetail": package}
            try:
                self.orders_book.confirm_shipment(order_id, body, now)
            except SpApiError as error:
                raise AmazonSimulatorError(error.message) from None
            return self._order_view(order)

    def request_cancel(
        self, order_id: str, sku: str | None = None, reason: str = "Found cheaper somewhere else."
    ) -> JSON:
        """The buyer asks to cancel (``BuyerRequestedCancel`` on the line, or on every line)."""
        with self._lock:
            return self._order_view(self.orders_book.request_cancel(order_id, sku, reason))

    def touch_order(self, order_id: str, at: datetime | None = None) -> JSON:
        """Mark the order updated now, or at ``at`` (a late update)."""
        with self._lock:
            order = self.orders_book.order(order_id)
            self.orders_book.touch(order, at)
            return self._order_view(order)

    def get_order(self, order_id: str) -> JSON:
        """The order as getOrders shows it, with ``OrderItems`` and ``Shipments``."""
        with self._lock:
            return self._order_view(self.orders_book.order(order_id))

    def orders(self) -> list[JSON]:
        with self._lock:
            return [self._order_view(order) for order in self.orders_book.orders.values()]

    def shipment_confirmations(self, order_id: str | None = None) -> list[JSON]:
        """Every confirmShipment accepted: orderId, marketplaceId, packageDetail, receivedAt."""
        with self._lock:
            chosen = (
                list(self.orders_book.orders.values())
                if order_id is None
                else [self.orders_book.order(order_id)]
            )
            return [copy.deepcopy(shipment) for order in chosen for shipment in order.shipments]

    @staticmethod
    def _order_view(order: AmazonOrder) -> JSON:
        body = order_json(order)
        body["OrderItems"] = [order_item_json(order, line) for line in order.lines]
        body["Shipments"] = copy.deepcopy(order.shipments)
        return body

    # feeds ----------------------------------------------------------------------------

    def set_feed_delay(self, seconds: float) -> None:
        """How long a feed takes from createFeed to DONE, on the simulator's clock."""
        if seconds < 0:
            raise AmazonSimulatorError("a feed delay cannot be negative")
        with self._lock:
            self.feed_desk.delay = timedelta(seconds=seconds)

    def feeds(self) -> list[JSON]:
        """Every feed as getFeed shows it, with ``report`` (the processing report) once done."""
        with self._lock:
            self._advance_processing()
            return [
                {**feed_json(feed), "report": copy.deepcopy(feed.report)}
                for feed in self.feed_desk.feeds.values()
            ]

    def feed_report(self, feed_id: str) -> JSON | None:
        with self._lock:
            self._advance_processing()
            return copy.deepcopy(self.feed_desk.feed(feed_id).report)

    def feed_document_content(self, document_id: str) -> bytes | None:
        """What was uploaded to a feed document (or the stored report bytes)."""
        with self._lock:
            document = self.feed_desk.documents.get(document_id)
            if document is None:
                raise AmazonSimulatorError(f"no feed document {document_id!r}")
            return document.content

    def wait_for_feeds(self, timeout: float = 5.0) -> bool:
        """Wait (wall clock) until no feed is queued or in progress; False on timeout.
        Useless with a clock that never moves: use :meth:`process_feeds` there."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                self._advance_processing()
                if all(feed.status in FINISHED for feed in self.feed_desk.feeds.values()):
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(WAIT_SLICE_S)

    # reports --------------------------------------------------------------------------

    def set_report_delay(self, seconds: float) -> None:
        """How long a report takes from createReport to its end, on the simulator's clock."""
        if seconds < 0:
            raise AmazonSimulatorError("a report delay cannot be negative")
        with self._lock:
            self.report_desk.delay = timedelta(seconds=seconds)

    def fail_next_report(self, count: int = 1) -> None:
        """The next ``count`` reports to finish end FATAL."""
        with self._lock:
            self.report_desk.fail_next(count)

    def reports(self) -> list[JSON]:
        """Every report as getReport shows it."""
        with self._lock:
            self._advance_processing()
            return [report_json(report) for report in self.report_desk.reports.values()]
