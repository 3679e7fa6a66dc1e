"""Control operations of the eBay simulator: the seller, the buyers, the app's access and
the notifications, from outside the API.

A mixin of :class:`sandbox.ebay.EbaySimulator`: each operation runs on the simulator's
state under its lock. Refusals raise :class:`~sandbox.ebay.model.EbaySimulatorError`.
Orders are named by their orderId (``12-34567-00001``) and answered as getOrder shows
them; the merchant ships through the same code as createShippingFulfillment.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from omnisync.hub.http_server import ServerError
from omnisync.sandbox.ebay.auth import APPLICATION, APPLICATION_SCOPES, USER, USER_SCOPES
from omnisync.sandbox.ebay.errors import EbayApiError
from omnisync.sandbox.ebay.exchanges import Exchange
from omnisync.sandbox.ebay.inventory import DAILY_REVISIONS, DEFAULT_PRICE
from omnisync.sandbox.ebay.model import JSON, EbaySimulatorError, parse_price
from omnisync.sandbox.ebay.notifications import (
    MARKETPLACE_ACCOUNT_DELETION,
    account_deletion_data,
    challenge,
)
from omnisync.sandbox.ebay.order_view import order_json
from omnisync.sandbox.ebay.orders import BUYER_REASON, DEFAULT_BUYER, PAID, Order
from omnisync.sandbox.ebay.shipping import create_shipping_fulfillment

if TYPE_CHECKING:
    from omnisync.sandbox.ebay.auth import EbayCredentials, TokenIssuer
    from omnisync.sandbox.ebay.exchanges import ExchangeLog
    from omnisync.sandbox.ebay.inventory import Catalogue
    from omnisync.sandbox.ebay.notifications import NotificationSender, SigningKey
    from omnisync.sandbox.ebay.orders import OrderBook

DEFAULT_CARRIER = "USPS"
UNSTARTED_BASE = "http://127.0.0.1"
"""What URLs in answers start with while the simulator is not serving."""


class EbayControls:
    """What a test or the demo does to the eBay account from outside the API."""

    if TYPE_CHECKING:
        _lock: threading.RLock
        credentials: EbayCredentials
        issuer: TokenIssuer
        catalogue: Catalogue
        book: OrderBook
        sender: NotificationSender
        signing_key: SigningKey
        exchange_log: ExchangeLog

        @property
        def url(self) -> str: ...

    # listings -----------------------------------------------------------------------

    def seed_listing(
        self,
        sku: str,
        quantity: int,
        *,
        title: str | None = None,
        price: Decimal | str | float = DEFAULT_PRICE,
        ean: Sequence[str] | str = (),
        upc: Sequence[str] | str = (),
    ) -> JSON:
        """An inventory item and its published offer on the simulator's marketplace (a
        known SKU is updated); the offer as getOffers shows it."""
        try:
            chosen = parse_price(price)
        except ValueError as error:
            raise EbaySimulatorError(f"{sku}: {error}") from None
        with self._lock:
            offer = self.catalogue.seed(
                sku, quantity, title=title, price=chosen, ean=_codes(ean), upc=_codes(upc)
            )
            return offer.to_json()

    def seed_listings(self, listings: Iterable[Mapping[str, Any]]) -> list[JSON]:
        """Many listings: ``[{sku, quantity, title?, price?, ean?, upc?, barcode?}]``; a
        ``barcode`` of 13 digits is an EAN, of 12 a UPC."""
        seeded = []
        for listing in listings:
            sku = listing.get("sku")
            quantity = listing.get("quantity", 0)
            if not isinstance(sku, str) or not isinstance(quantity, int):
                raise EbaySimulatorError(
                    f"a listing needs a string sku and an int quantity: {listing}"
                )
            barcode = str(listing.get("barcode") or "")
            seeded.append(
                self.seed_listing(
                    sku,
                    quantity,
                    title=listing.get("title"),
                    price=listing.get("price") or DEFAULT_PRICE,
                    ean=listing.get("ean") or ([barcode] if len(barcode) == 13 else []),
                    upc=listing.get("upc") or ([barcode] if len(barcode) == 12 else []),
                )
            )
        return seeded

    def set_quantity(self, sku: str, quantity: int) -> None:
        """The seller sets a SKU's quantity in Seller Hub: the item's and its offers'
        (not counted as an API revision)."""
        if quantity < 0:
            raise EbaySimulatorError("quantity must be 0 or more")
        with self._lock:
            self.catalogue.item(sku).quantity = quantity
            for offer in self.catalogue.offers_of(sku):
                offer.available_quantity = quantity

    def stock(self) -> dict[str, int]:
        """The quantity a buyer sees, per SKU: min(offer availableQuantity, item quantity)."""
        with self._lock:
            return self.catalogue.stock()

    def offers(self, sku: str) -> list[JSON]:
        with self._lock:
            return [offer.to_json() for offer in self.catalogue.offers_of(sku)]

    def inventory_item(self, sku: str) -> JSON:
        with self._lock:
            return self.catalogue.item(sku).to_json()

    def revisions(self, sku: str) -> int:
        """Revisions of the SKU's listing today (UTC day, on the simulator's clock)."""
        with self._lock:
            self.catalogue.item(sku)
            return max(
                (self.catalogue.revisions_today(o.offer_id) for o in self.catalogue.offers_of(sku)),
                default=0,
            )

    def set_revisions(self, sku: str, count: int) -> None:
        """Make the SKU's listing revised ``count`` times today (to put it near the cap)."""
        if not 0 <= count <= DAILY_REVISIONS:
            raise EbaySimulatorError(f"count must be 0 to {DAILY_REVISIONS}")
        with self._lock:
            self.catalogue.item(sku)
            for offer in self.catalogue.offers_of(sku):
                self.catalogue.set_revisions_today(offer.offer_id, count)

    # buyers and orders --------------------------------------------------------------

    def place_order(
        self,
        lines: Sequence[tuple[str, int]],
        *,
        buyer_username: str = DEFAULT_BUYER,
        payment_status: str = PAID,
    ) -> JSON:
        """A buyer orders ``(sku, quantity)`` lines, all or none (out of stock: refused);
        the quantities drop and ORDER_CONFIRMATION goes out. The order, as getOrder."""
        with self._lock:
            order = self.book.place(
                self.catalogue, lines, buyer=buyer_username, payment_status=payment_status
            )
            return self._order_json(order)

    def buy(self, sku: str, quantity: int = 1, *, buyer_username: str = DEFAULT_BUYER) -> JSON:
        return self.place_order([(sku, quantity)], buyer_username=buyer_username)

    def request_cancel(self, order_id: str, reason: str = BUYER_REASON) -> JSON:
        """The buyer asks to cancel: cancelState IN_PROGRESS and a cancel request that only
        getOrder shows."""
        with self._lock:
            return self._order_json(self.book.request_cancel(order_id, reason))

    def cancel_order(self, order_id: str) -> JSON:
        """The cancellation completes (the buyer's request, or the seller's own):
        CANCELED, the units back on offer, a paid order refunded."""
        with self._lock:
            return self._order_json(self.book.cancel(self.catalogue, order_id))

    def ship_order(
        self, order_id: str, tracking_number: str | None = None, carrier: str = DEFAULT_CARRIER
    ) -> JSON:
        """The merchant ships every unit left, as createShippingFulfillment would."""
        with self._lock:
            order = self.book.order(order_id)
            left = [line for line in order.lines if line.unshipped]
            if not left:
                raise EbaySimulatorError(f"order {order_id} has nothing left to ship")
            body = {
                "lineItems": [
                    {"lineItemId": line.line_item_id, "quantity": line.unshipped} for line in left
                ],
                "trackingNumber": tracking_number or f"9400{secrets.randbelow(10**18):018d}",
                "shippingCarrierCode": carrier,
            }
            try:
                create_shipping_fulfillment(self.book, order_id, body)
            except EbayApiError as error:
                raise EbaySimulatorError(error.message) from None
            return self._order_json(order)

    def set_payment_status(self, order_id: str, status: str) -> JSON:
        with self._lock:
            return self._order_json(self.book.set_payment_status(order_id, status))

    def order(self, order_id: str) -> JSON:
        """The order as getOrder answers it."""
        with self._lock:
            return self._order_json(self.book.order(order_id))

    def orders(self) -> list[JSON]:
        """Every order, as getOrder answers each, in the order they were placed."""
        with self._lock:
            return [self._order_json(order) for order in self.book.orders.values()]

    def fulfillments(self, order_id: str) -> list[JSON]:
        with self._lock:
            return [f.to_json() for f in self.book.order(order_id).fulfillments]

    def _order_json(self, order: Order) -> JSON:
        return order_json(order, self.book.seller_id, self._base_url(), detailed=True)

    def _base_url(self) -> str:
        try:
            return self.url
        except ServerError:
            return UNSTARTED_BASE

    # the app's access ---------------------------------------------------------------

    def grant_consent(self, scopes: Iterable[str] | None = None) -> str:
        """A fresh one-time authorization code, as the consent page would redirect with
        (the authorization_code grant exchanges it for a refresh token)."""
        try:
            return self.issuer.grant_consent(scopes)
        except ValueError as error:
            raise EbaySimulatorError(str(error)) from None

    def revoke_refresh_token(self) -> None:
        """The seller revokes the app: its refresh tokens answer invalid_grant from now on."""
        self.issuer.revoke_refresh_tokens()

    def user_token(self, scopes: Iterable[str] | None = None) -> str:
        """A valid User access token (what the refresh grant would hand out)."""
        return self.issuer.issue(USER, USER_SCOPES if scopes is None else scopes)

    def application_token(self) -> str:
        """A valid Application access token (what client_credentials would hand out)."""
        return self.issuer.issue(APPLICATION, APPLICATION_SCOPES)

    # notifications ------------------------------------------------------------------

    @property
    def public_key_id(self) -> str:
        """The key id deliveries are signed with (getPublicKey serves it)."""
        return self.signing_key.key_id

    def public_key_pem(self) -> str:
        return self.signing_key.public_pem()

    @property
    def notification_url(self) -> str | None:
        return self.sender.url

    def send_notifications_to(self, url: str | None) -> None:
        """Where notifications are delivered from now on (None: nowhere)."""
        self.sender.url = url

    def delete_account(self, username: str) -> str:
        """eBay announces a user's account deletion: MARKETPLACE_ACCOUNT_DELETION; its
        notificationId."""
        return self.sender.publish(MARKETPLACE_ACCOUNT_DELETION, account_deletion_data(username))

    def redeliver(self, notification_id: str) -> None:
        """Send a notification again (same id, publishAttemptCount one more)."""
        self.sender.redeliver(notification_id)

    def tamper_next(self) -> None:
        """The next delivery's signature does not match its body."""
        self.sender.tamper_next()

    def notifications(self) -> list[JSON]:
        """Every notification: id, topic, data, and each delivery attempt's status."""
        return self.sender.notifications()

    def wait_for_notifications(self, timeout: float = 5.0) -> bool:
        """Wait until every queued delivery was attempted; False on timeout."""
        return self.sender.wait(timeout)

    def challenge(self, url: str, verification_token: str, endpoint_url: str) -> bool:
        """Check a notification endpoint as eBay does; True when it answers right."""
        return challenge(url, verification_token, endpoint_url)

    # exchanges ----------------------------------------------------------------------

    def exchanges(self) -> list[Exchange]:
        """The API exchanges served, oldest first (the newest 10,000)."""
        return self.exchange_log.all()


def _codes(value: Sequence[str] | str) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    return [str(code) for code in value if code]
