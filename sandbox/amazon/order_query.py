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

The Orders API 2026-01-01's searchOrders has the same rules under other names; it reads
its window with :func:`dated_window` (its spelling in a :class:`WindowNames`), its
filters with :func:`choice_param` and pages with :meth:`OrderQuery.page`
(:mod:`sandbox.amazon.order_search`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
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

DatedBy = Literal["created", "updated"]
"""The date a query filters on: the purchase date or the last update."""


@dataclass(frozen=True)
class WindowNames:
    """One API's names of a dated query's parameters (``CreatedAfter`` in v0,
    ``createdAfter`` in 2026-01-01), and its 400 message when neither ``*After`` is given."""

    created_after: str
    created_before: str
    updated_after: str
    updated_before: str
    neither: str

    def before(self, by: DatedBy) -> str:
        """The ``*Before`` parameter of the date ``by``; the answer names the bound used."""
        return self.created_before if by == "created" else self.updated_before


V0_WINDOW: Final = WindowNames(
    created_after="CreatedAfter",
    created_before="CreatedBefore",
    updated_after="LastUpdatedAfter",
    updated_before="LastUpdatedBefore",
    neither="Either 'CreatedAfter' or 'LastUpdatedAfter' must be specified.",
)


@dataclass(frozen=True)
class OrderQuery:
    by: DatedBy
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

    def page(
        self, orders: Iterable[AmazonOrder], last: tuple[datetime, str] | None
    ) -> tuple[list[AmazonOrder], bool]:
        """The page of the orders this query selects that follows ``last`` (the position
        a token names; None: the first page), and whether more follow it."""
        chosen = sorted((order for order in orders if self.selects(order)), key=self.key)
        if last is not None:
            chosen = [order for order in chosen if self.key(order) > last]
        return chosen[: self.page_size], len(chosen) > self.page_size


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
    by, after, before = dated_window(params, V0_WINDOW, now, lag)
    return OrderQuery(
        by=by,
        after=after,
        before=before,
        marketplaces=wanted,
        statuses=choice_param(params, "OrderStatuses", ORDER_STATUSES),
        channels=choice_param(params, "FulfillmentChannels", FULFILLMENT_CHANNELS),
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


def dated_window(
    params: Mapping[str, Any], names: WindowNames, now: datetime, lag: timedelta
) -> tuple[DatedBy, datetime, datetime]:
    """``(by, after, before)`` of a dated query spelt as ``names`` says: exactly one of the
    two ``*After``, a ``*Before`` only with its own ``*After``, the bounds as
    :func:`time_window` reads them. Raises the 400 the request earns."""
    created_after, updated_after = params.get(names.created_after), params.get(names.updated_after)
    if created_after and updated_after:
        raise invalid_input(
            f"Only one of '{names.created_after}' and '{names.updated_after}' may be specified."
        )
    if not created_after and not updated_after:
        raise invalid_input(names.neither)
    if created_after and params.get(names.updated_before):
        raise invalid_input(
            f"'{names.updated_before}' cannot be set when '{names.created_after}' is set."
        )
    if updated_after and params.get(names.created_before):
        raise invalid_input(
            f"'{names.created_before}' cannot be set when '{names.updated_after}' is set."
        )
    if created_after:
        after, before = time_window(params, names.created_after, names.created_before, now, lag)
        return "created", after, before
    after, before = time_window(params, names.updated_after, names.updated_before, now, lag)
    return "updated", after, before


def time_window(
    params: Mapping[str, Any], after_name: str, before_name: str, now: datetime, lag: timedelta
) -> tuple[datetime, datetime]:
    """``(after, before)`` of a query on ``after_name`` / ``before_name``: the before bound
    at least ``lag`` before ``now`` (that bound when not given); one before its after is
    a 400 when given, an empty window when not. Raises the 400 a bad date earns."""
    after = date_param(params, after_name)
    latest = now - lag
    before = date_param(params, before_name) if params.get(before_name) else latest
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
    return after, before


def date_param(params: Mapping[str, Any], name: str) -> datetime:
    try:
        return parse_amazon_time(str(params[name]))
    except ValueError:
        raise invalid_input(f"'{name}' is not a valid ISO 8601 date: {params[name]!r}.") from None


def choice_param(
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
    page, more = query.page(book.orders.values(), last)
    payload: JSON = {"Orders": [order_json(order) for order in page]}
    if more:
        payload["NextToken"] = tokens.issue(OrdersPosition(query, query.key(page[-1])))
    payload[V0_WINDOW.before(query.by)] = amazon_time(query.before)
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
