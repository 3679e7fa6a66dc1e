"""The eBay connector: ORDERS and FULFILMENT over the Sell Fulfillment API, LISTINGS and
STOCK over the Sell Inventory API, WEBHOOKS as eBay's signed notifications.

Orders are read by last modification (`lastmodifieddate:[since..]`), a page at a time by
`offset`, following the `next` URL eBay gives while there is one. The order list never
carries the buyers' cancel requests: an order whose cancelState says one was made is read
again with getOrder, which does.

Listings are the seller's inventory items, each with its offers on the channel's
marketplace (getOffers per SKU; an item without one is listed all the same). Stock goes
out 25 SKUs at a time (bulkUpdatePriceQuantity's most): each item's ship-to-home
quantity and each of its live offers' available quantity. eBay lets a listing be revised
250 times a calendar day; the stock job counts and coalesces (daily_revision_limit).

eBay cancels orders through its Post-Order API, out of this connector's reach: an
operator cancels in Seller Hub (manual_cancel_hint).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Unpack
from urllib.parse import parse_qsl, urlsplit

import httpx

from omnisync.connectors.base import (
    MARKETPLACE,
    Capability,
    Connector,
    ConnectorError,
    ConnectorOptions,
    PayloadError,
    PermanentError,
    RateLimit,
    TransientError,
)
from omnisync.connectors.ebay import client as ops
from omnisync.connectors.ebay.auth import (
    CLIENT_CREDENTIALS_GRANTS,
    REFRESH_GRANTS,
    EbayTokens,
    TokenEndpoint,
    TokenKind,
)
from omnisync.connectors.ebay.client import EbayApi, make_http
from omnisync.connectors.ebay.mapping import (
    cancel_requested,
    listing_from_item,
    live_offers,
    order_from_payload,
    price_quantity_request,
    stock_results,
)
from omnisync.connectors.ebay.notifications import (
    ACCOUNT_DELETION,
    ORDER_TOPICS,
    PublicKeys,
    challenge_response,
    delivery_of,
    parse_body,
    read_notification,
    read_signature,
    verify,
)
from omnisync.connectors.ebay.settings import EbaySettings
from omnisync.connectors.pagination import walk_pages
from omnisync.connectors.parsing import kept_json, mapping_failure, order_page
from omnisync.connectors.registry import register
from omnisync.core.dto import (
    QUARANTINED_ORDER,
    ChannelListing,
    Fulfilment,
    NormalisedOrder,
    OrderPage,
    PushResult,
    StockUpdate,
    WebhookEvents,
)

MAX_BULK_REQUESTS = 25
"""bulkUpdatePriceQuantity takes at most 25 SKUs (its request type's description; the
operation's own text also says one SKU a call, which this does not follow)."""
DAILY_REVISIONS = 250

PUBLISHED_LIMITS: dict[str, RateLimit] = {
    ops.SELL_INVENTORY: RateLimit(2_000_000 / 86_400, 200),
    ops.SELL_FULFILLMENT: RateLimit(100_000 / 86_400, 50),
    ops.COMMERCE_NOTIFICATION: RateLimit(10_000 / 86_400, 10),
    REFRESH_GRANTS: RateLimit(50_000 / 86_400, 10),
    CLIENT_CREDENTIALS_GRANTS: RateLimit(1_000 / 86_400, 5),
}
"""eBay's default daily call limits (developer.ebay.com, "API Call Limits" and "OAuth
rate limits"): Inventory API 2,000,000, Fulfillment API 100,000, Notification API
10,000 calls a day; 50,000 refresh-token and 1,000 client-credentials grants a day. As
rates: the daily figure spread over the day, with a burst for a job's run of calls."""


@register
class EbayConnector(Connector[EbaySettings]):
    channel_type: ClassVar[str] = "ebay"
    capabilities: ClassVar[frozenset[Capability]] = MARKETPLACE | {Capability.WEBHOOKS}
    published_limits = PUBLISHED_LIMITS
    stock_batch_size: ClassVar[int] = MAX_BULK_REQUESTS
    daily_revision_limit: ClassVar[int | None] = DAILY_REVISIONS
    webhook_accepted_status: ClassVar[int] = 204
    webhook_rejected_status: ClassVar[int] = 412
    manual_cancel_hint: ClassVar[str] = (
        "eBay cancels orders through its Post-Order API, which the hub does not use: cancel "
        "it in Seller Hub (Orders > the order > More actions > Cancel order)"
    )
    refund_hint: ClassVar[str] = (
        "eBay refunds go through its Post-Order API, which the hub does not use: the refund "
        "is issued in Seller Hub (Orders > the order > Issue refund)"
    )

    def __init__(
        self,
        settings: EbaySettings,
        *,
        transport: httpx.BaseTransport | None = None,
        **options: Unpack[ConnectorOptions],
    ) -> None:
        """`transport`: where requests go instead of the network (tests, tools)."""
        super().__init__(settings, **options)
        credentials = settings.credentials
        self.http = make_http(settings.api_base(), settings.timeout_seconds, transport)
        self.tokens = EbayTokens(
            TokenEndpoint(
                settings.token_url(),
                credentials.client_id.get_secret_value(),
                credentials.client_secret.get_secret_value(),
                self.http,
            ),
            credentials.refresh_token.get_secret_value(),
            self.calls,
            self.clock,
            settings.secret_values(),
        )
        self.api = EbayApi(self.http, self.tokens, self.calls)
        self.public_keys = PublicKeys(self._public_key, self.clock)

    def close(self) -> None:
        self.http.close()

    def check(self) -> list[str]:
        """A user token, one inventory item and one order (the two scopes the seller
        consented to), the app's token when notifications are configured."""
        problems = []
        try:
            self.api.call(ops.GET_INVENTORY_ITEMS, params={"limit": "1", "offset": "0"})
            self.api.call(ops.GET_ORDERS, params={"limit": "1", "offset": "0"})
            if self.settings.notification is not None:
                self.tokens.token(TokenKind.APPLICATION)
        except ConnectorError as error:
            problems.append(f"{type(error).__name__}: {error}")
        notification = self.settings.notification
        if notification is not None and notification.endpoint_url is None:
            problems.append(
                "notification.endpoint_url: not set; eBay's endpoint check needs the public "
                "URL it posts to (https://<your hub>/webhooks/ebay/<channel name>)"
            )
        return problems

    # orders -------------------------------------------------------------------------

    def fetch_orders(self, since: datetime | None) -> Iterator[OrderPage]:
        params = {"limit": str(self.settings.page_size)}
        if since is not None:
            params["filter"] = f"lastmodifieddate:[{ebay_time(since)}..]"

        def orders_at(offset: str | None) -> dict[str, Any]:
            query = {**params, "offset": offset or "0"}
            return self.api.json(ops.GET_ORDERS, self.api.call(ops.GET_ORDERS, params=query))

        for page in walk_pages(ops.GET_ORDERS.name, orders_at, next_offset):
            yield order_page(_items(page, "orders"), self._order)

    def _order(self, order: Any) -> NormalisedOrder:
        """An order of the list, with its cancel requests read when it has some."""
        if cancel_requested(order) and order.get("orderId"):
            try:
                full = self._get_order(str(order["orderId"]))
            except PayloadError as error:  # kept with the order as the list gave it
                raise mapping_failure(order, error, order["orderId"]) from None
            requests = (full.get("cancelStatus") or {}).get("cancelRequests") or []
            order = {**order, "cancelStatus": {**order["cancelStatus"], "cancelRequests": requests}}
        return order_from_payload(order)

    def fetch_order(self, external_id: str) -> NormalisedOrder:
        return order_from_payload(self._get_order(external_id))

    def _get_order(self, order_id: str) -> dict[str, Any]:
        response = self.api.call(ops.GET_ORDER, path={"orderId": order_id}, allow=(400, 404))
        if response.status_code in (400, 404):
            raise PayloadError(
                f"order {order_id}: eBay does not know it ({ops.error_detail(response)})",
                external_id=order_id or None,
            )
        return self.api.json(ops.GET_ORDER, response)

    # listings -----------------------------------------------------------------------

    def fetch_listings(self) -> Iterator[ChannelListing]:
        def items_at(offset: str | None) -> dict[str, Any]:
            query = {"limit": str(self.settings.page_size), "offset": offset or "0"}
            response = self.api.call(ops.GET_INVENTORY_ITEMS, params=query)
            return self.api.json(ops.GET_INVENTORY_ITEMS, response)

        for page in walk_pages(ops.GET_INVENTORY_ITEMS.name, items_at, next_offset):
            for item in _items(page, "inventoryItems"):
                if not isinstance(item, dict) or not item.get("sku"):
                    continue  # the Inventory API keys every item by SKU; nothing to list
                yield listing_from_item(item, self._live_offers(str(item["sku"])))

    def _live_offers(self, sku: str) -> list[dict[str, Any]]:
        """The SKU's published offers on the channel's marketplace (eBay answers 404 for
        a SKU without offers). A SKU has one or two (fixed price, auction): one page."""
        params = {"sku": sku, "marketplace_id": self.settings.marketplace_id}
        response = self.api.call(ops.GET_OFFERS, params=params, allow=(404,))
        if response.status_code == 404:
            return []
        offers = self.api.json(ops.GET_OFFERS, response).get("offers") or []
        return live_offers(offers, self.settings.marketplace_id)

    # stock --------------------------------------------------------------------------

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[PushResult]:
        results: list[PushResult] = []
        for start in range(0, len(updates), MAX_BULK_REQUESTS):
            batch = updates[start : start + MAX_BULK_REQUESTS]
            body = {"requests": [price_quantity_request(update) for update in batch]}
            response = self.api.call(ops.BULK_UPDATE_PRICE_QUANTITY, body=body)
            answer = self.api.json(ops.BULK_UPDATE_PRICE_QUANTITY, response)
            results.extend(stock_results(batch, answer.get("responses")))
        return results

    # fulfilments --------------------------------------------------------------------

    def push_fulfilment(self, fulfilment: Fulfilment) -> PushResult:
        """createShippingFulfillment, once: when eBay refuses it, a fulfilment with the
        same tracking number already on the order (an earlier push whose answer was lost:
        eBay refuses to ship the same units twice) is this one. The fulfilments are read
        only then, so a shipment costs one call of the Fulfillment API's daily budget."""
        order_id = fulfilment.order_external_id
        tracking = tracking_number(fulfilment.tracking_number)
        body = {
            "lineItems": [
                {"lineItemId": line.external_line_id, "quantity": line.quantity}
                for line in fulfilment.lines
            ],
            "shippedDate": ebay_time(datetime.now(UTC)),
            "shippingCarrierCode": fulfilment.carrier,
            "trackingNumber": tracking,
        }
        try:
            self.api.call(ops.CREATE_SHIPPING_FULFILLMENT, path={"orderId": order_id}, body=body)
        except PermanentError as error:
            # A refusal may be eBay's word that it has this one already (a retry of a
            # push whose answer was lost): the fulfilments say.
            try:
                done = self._has_tracking(order_id, tracking)
            except PermanentError:
                done = False
            if done:
                return PushResult(key=order_id, ok=True)
            return PushResult(key=order_id, ok=False, error=str(error))
        return PushResult(key=order_id, ok=True)

    def _has_tracking(self, order_id: str, tracking: str) -> bool:
        """Whether one of the order's fulfilments carries `tracking`."""
        response = self.api.call(ops.GET_SHIPPING_FULFILLMENTS, path={"orderId": order_id})
        answer = self.api.json(ops.GET_SHIPPING_FULFILLMENTS, response)
        return any(
            isinstance(done, dict)
            and tracking_number(str(done.get("shipmentTrackingNumber") or "")) == tracking
            for done in answer.get("fulfillments") or []
        )

    # webhooks -----------------------------------------------------------------------

    def webhook_challenge(self, query: Mapping[str, str]) -> dict[str, Any] | None:
        code = query.get("challenge_code")
        notification = self.settings.notification
        if not code or notification is None or notification.endpoint_url is None:
            return None
        answer = challenge_response(
            code,
            notification.verification_token.get_secret_value(),
            str(notification.endpoint_url),
        )
        return {"challengeResponse": answer}

    def webhook_delivery(self, headers: Mapping[str, str], body: bytes) -> tuple[str | None, str]:
        return delivery_of(body)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvents:
        signature = read_signature(headers)
        verify(self.public_keys.get(signature.key_id), signature, body)
        payload, text = parse_body(body)
        return self._events(payload, text)

    def map_quarantined(self, kind: str, raw: str) -> WebhookEvents:
        """An order of a page (its cancel requests read again), or a notification's body
        or the order it named (whichever could not be mapped)."""
        payload = kept_json(raw)
        if kind == QUARANTINED_ORDER or (isinstance(payload, dict) and "orderId" in payload):
            return WebhookEvents(orders=(self._order(payload),))
        return self._events(payload, raw)

    def _events(self, payload: Any, raw: str) -> WebhookEvents:
        notification = read_notification(payload, raw)
        if notification.topic in ORDER_TOPICS:
            order_id = notification.data.get("orderId")
            if not isinstance(order_id, str) or not order_id:
                raise PayloadError(f"{notification.topic} without data.orderId", raw)
            try:
                order = self.fetch_order(order_id)
            except PayloadError as error:
                # eBay does not know the order (yet): keep the notification, to ask again.
                raise PayloadError(str(error), error.raw or raw, order_id) from None
            return WebhookEvents(orders=(order,))
        if notification.topic == ACCOUNT_DELETION:
            username = notification.data.get("username")
            if not isinstance(username, str) or not username:
                raise PayloadError(f"{ACCOUNT_DELETION} without data.username", raw)
            return WebhookEvents(erased_buyers=(username,))
        return WebhookEvents()

    def _public_key(self, key_id: str) -> dict[str, Any] | None:
        response = self.api.call(ops.GET_PUBLIC_KEY, path={"public_key_id": key_id}, allow=(404,))
        if response.status_code == 404:
            return None
        return self.api.json(ops.GET_PUBLIC_KEY, response)


def ebay_time(moment: datetime) -> str:
    """A time as eBay's filters and dates take it: UTC with milliseconds and Z."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def next_offset(page: Mapping[str, Any]) -> str | None:
    """The `offset` of the page eBay's `next` URL names; None on the last page."""
    following = page.get("next")
    if not following:
        return None
    offset = dict(parse_qsl(urlsplit(str(following)).query)).get("offset")
    if not offset:
        raise TransientError(f"eBay named a next page without an offset: {following}")
    return offset


def tracking_number(number: str) -> str:
    """A tracking number as eBay takes it: letters and digits only (no spaces, hyphens)."""
    return "".join(character for character in number if character.isalnum())


def _items(page: Mapping[str, Any], field: str) -> list[Any]:
    items = page.get(field) or []
    if not isinstance(items, list):
        raise TransientError(f"eBay's {field} is not a list")
    return items
