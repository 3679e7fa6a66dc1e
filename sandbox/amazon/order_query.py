"""getOrders and getOrderItems over the order book: the rules Amazon states, and paging.

getOrders: ``MarketplaceIds`` required; exactly one of ``CreatedAfter`` and
``LastUpdatedAfter``; ``CreatedBefore`` only with ``CreatedAfter``,
``LastUpdatedBefore`` only with ``LastUpdatedAfter``; a ``*Before`` must not be
before its ``*After`` and must be at least two minutes (``lag``) before now; absent,
it is now minus that lag (or the ``*After`` value, when that is later: an empty
window), and the payload says which bound was used. Results are
ordered by the date filtered on, then by id, and paged with ``MaxResultsPerPage``
(1-100, default 100). A ``NextToken`` stands for the query it continues: the other
filters of that request are ignored, as on Amazon. Tokens name a position (date, id),
so an order that changes between pages is neither lost nor served twice by the
paging itself: it moves past the window's end and the next window finds it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from omnisync.sandbox.amazon.http import (
    JSON,
    PageTokens,
    amazon_time,
    invalid_input,
    not_found,
    parse_amazon_time,
)
from omnisync.sandbox.amazon.orders import (
    FULFILLMENT_CHANNELS,
    ORDER_STATUSES,
    AmazonOrder,
    OrderBook,
    order_item_json,
    order_json,
)

MAX_RESULTS_PER_PAGE: Final = 100


@dataclass(frozen=True)
class OrderQuery:
    by: Literal["created", "updated"]
    after: datetime
    before: datetime
    marketplaces: frozenset[str]
    statuses: frozenset[str] | None
    channels: frozenset[str] | None
    order_ids: frozenset[str] | None
    page_size: int

    def key(self, order: AmazonOrder) -> tuple[datetime, str]:
        moment = order.purchased_at if self.by == "created" else order.updated_at
        return moment, order.order_id

    def selects(self, order: AmazonOrder) -> bool:
        moment = self.key(order)[0]
        return (
            self.after <= moment <= self.before
            and order.marketplace_id in self.marketplaces
            and (self.statuses is None or order.status in self.statuses)
            and (self.channels is None or order.fulfillment_channel in self.channels)
            and (self.order_ids is None or order.order_id in self.order_ids)
        )


@dataclass(frozen=True)
class OrdersPosition:
    query: OrderQuery
    last: tuple[datetime, str]


@dataclass(frozen=True)
class ItemsPosition:
    order_id: str
    offset: int


def parse_order_query(
    params: Mapping[str, Any], now: datetime, lag: timedelta, marketplaces: Collection[str]
) -> OrderQuery:
    """Validate a getOrders request without NextToken; raises the 400 it earns."""
    wanted = _marketplaces(params, marketplaces)
    created_after, updated_after = params.get("CreatedAfter"), params.get("LastUpdatedAfter")
    if created_after and updated_after:
        raise invalid_input("Only one of 'CreatedAfter' and 'LastUpdatedAfter' may be specified.")
    if not created_after and not updated_after:
        raise invalid_input("Either 'CreatedAfter' or 'LastUpdatedAfter' must be specified.")
    if created_after and params.get("LastUpdatedBefore"):
        raise invalid_input("'LastUpdatedBefore' cannot be set when 'CreatedAfter' is set.")
    if updated_after and params.get("CreatedBefore"):
        raise invalid_input("'CreatedBefore' cannot be set when 'LastUpdatedAfter' is set.")
    by: Literal["created", "updated"] = "created" if created_after else "updated"
    after_name, before_name = (
        ("CreatedAfter", "CreatedBefore")
        if by == "created"
        else ("LastUpdatedAfter", "LastUpdatedBefore")
    )
    after = _date(params, after_name)
    latest = now - lag
    before = _date(params, before_name) if params.get(before_name) else latest
    if before > latest:
        raise invalid_input(
            f"'{before_name}' must be at least {_minutes(lag)} before the time of the request "
            f"(no later than {amazon_time(latest)})."
        )
    if before < after:
        if params.get(before_name):
            raise invalid_input(f"'{before_name}' must be equal to or after '{after_name}'.")
        # A window that starts within the last two minutes is empty, not an error:
        # polling clients ask "since my cursor" again and again.
        before = after - timedelta(microseconds=1)
    return OrderQuery(
        by=by,
        after=after,
        before=before,
        marketplaces=wanted,
        statuses=_choice(params, "OrderStatuses", ORDER_STATUSES),
        channels=_choice(params, "FulfillmentChannels", FULFILLMENT_CHANNELS),
        order_ids=_ids(params),
        page_size=_page_size(params),
    )


def _marketplaces(params: Mapping[str, Any], known: Collection[str]) -> frozenset[str]:
    given = params.get("MarketplaceIds")
    if not given:
        raise invalid_input("Missing required parameter 'MarketplaceIds'.")
    values = frozenset(given if isinstance(given, list) else [given])
    unknown = sorted(values - set(known))
    if unknown:
        raise invalid_input(f"Invalid MarketplaceIds: {', '.join(unknown)}.")
    return values


def _date(params: Mapping[str, Any], name: str) -> datetime:
    try:
        return parse_amazon_time(str(params[name]))
    except ValueError:
        raise invalid_input(f"'{name}' is not a valid ISO 8601 date: {params[name]!r}.") from None


def _choice(
    params: Mapping[str, Any], name: str, allowed: Collection[str]
) -> frozenset[str] | None:
    given = params.get(name)
    if not given:
        return None
    values = frozenset(given if isinstance(given, list) else [given])
    unknown = sorted(values - set(allowed))
    if unknown:
        raise invalid_input(f"Invalid {name}: {', '.join(unknown)}.")
    return values


def _ids(params: Mapping[str, Any]) -> frozenset[str] | None:
    given = params.get("AmazonOrderIds")
    if not given:
        return None
    values = given if isinstance(given, list) else [given]
    if len(values) > 50:
        raise invalid_input("At most 50 'AmazonOrderIds' may be specified.")
    return frozenset(values)


def _page_size(params: Mapping[str, Any]) -> int:
    given = params.get("MaxResultsPerPage", MAX_RESULTS_PER_PAGE)
    if not isinstance(given, int) or not 1 <= given <= MAX_RESULTS_PER_PAGE:
        raise invalid_input("'MaxResultsPerPage' must be an integer from 1 to 100.")
    return given


def _minutes(lag: timedelta) -> str:
    seconds = lag.total_seconds()
    return f"{seconds / 60:g} minutes" if seconds >= 60 else f"{seconds:g} seconds"


def orders_page(
    book: OrderBook,
    params: Mapping[str, Any],
    tokens: PageTokens[OrdersPosition],
    now: datetime,
    lag: timedelta,
) -> JSON:
    """The getOrders answer (``{"payload": ...}``) for ``params``."""
    token = params.get("NextToken")
    if token:
        _marketplaces(params, [book.marketplace_id])
        position = tokens.get(str(token))
        if position is None:
            raise invalid_input("Invalid 'NextToken'.")
        query, last = position.query, position.last
    else:
        query = parse_order_query(params, now, lag, [book.marketplace_id])
        last = None
    chosen = sorted((o for o in book.orders.values() if query.selects(o)), key=query.key)
    if last is not None:
        chosen = [order for order in chosen if query.key(order) > last]
    page, rest = chosen[: query.page_size], chosen[query.page_size :]
    payload: JSON = {"Orders": [order_json(order) for order in page]}
    if rest:
        payload["NextToken"] = tokens.issue(OrdersPosition(query, query.key(page[-1])))
    bound = "CreatedBefore" if query.by == "created" else "LastUpdatedBefore"
    payload[bound] = amazon_time(query.before)
    return {"payload": payload}


def order_items_page(
    book: OrderBook,
    order_id: str,
    params: Mapping[str, Any],
    tokens: PageTokens[ItemsPosition],
    page_size: int,
) -> JSON:
    """The getOrderItems answer for ``order_id`` (its own NextToken paging)."""
    order = book.orders.get(order_id)
    if order is None:
        raise not_found(f"Order {order_id} was not found.")
    offset = 0
    token = params.get("NextToken")
    if token:
        position = tokens.get(str(token))
        if position is None or position.order_id != order_id:
            raise invalid_input("Invalid 'NextToken'.")
        offset = position.offset
    lines = order.lines[offset : offset + page_size]
    payload: JSON = {
        "AmazonOrderId": order_id,
        "OrderItems": [order_item_json(order, line) for line in lines],
    }
    if offset + page_size < len(order.lines):
        payload["NextToken"] = tokens.issue(ItemsPosition(order_id, offset + page_size))
    return {"payload": payload}


def order_payload(book: OrderBook, order_id: str) -> JSON:
    """The getOrder answer."""
    order = book.orders.get(order_id)
    if order is None:
        raise not_found(f"Order {order_id} was not found.")
    return {"payload": order_json(order)}
