"""searchOrders and getOrder of the Orders API 2026-01-01 over the order book.

The rules are getOrders' (:mod:`sandbox.amazon.order_query`) under the new model's
names, as its parameter notes state them: exactly one of ``createdAfter`` and
``lastUpdatedAfter``; ``createdBefore`` only with ``createdAfter``,
``lastUpdatedBefore`` only with ``lastUpdatedAfter``; a ``*Before`` not before its
``*After`` and at least two minutes (``lag``) before now, that bound when none is given,
and the answer says which bound was used (``createdBefore`` / ``lastUpdatedBefore``).
``marketplaceIds`` is optional (the seller's marketplace), ``fulfillmentStatuses`` and
``fulfilledBy`` filter, ``maxResultsPerPage`` is 1-100 (default 100) and
``includedData`` names the sections each order carries
(:func:`sandbox.amazon.orders_2026.order_2026_json`). Orders come oldest first by the
date filtered on, then by id, as getOrders gives them.

Paging: the answer's ``pagination.nextToken``, passed back as ``paginationToken``,
stands for the query it continues (datasets included; the request's other parameters
are ignored, as on Amazon); the last page has no ``pagination``. A token names a
position (date, id), so an order that changes between pages is neither lost nor served
twice by the paging itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from omnisync.sandbox.amazon.http import JSON, PageTokens, amazon_time, invalid_input, not_found
from omnisync.sandbox.amazon.order_query import (
    OrderQuery,
    WindowNames,
    choice_param,
    dated_window,
)
from omnisync.sandbox.amazon.orders import OrderBook
from omnisync.sandbox.amazon.orders_2026 import (
    FULFILLED_BY,
    FULFILLMENT_STATUS,
    SECTIONS,
    order_2026_json,
)

MAX_RESULTS_PER_PAGE: Final = 100
MAX_MARKETPLACES: Final = 50
WINDOW: Final = WindowNames(
    created_after="createdAfter",
    created_before="createdBefore",
    updated_after="lastUpdatedAfter",
    updated_before="lastUpdatedBefore",
    neither="Exactly one of 'createdAfter' and 'lastUpdatedAfter' must be given.",
)


@dataclass(frozen=True)
class OrderSearchPosition:
    """Where a searchOrders page ended, and the query and datasets it belongs to."""

    query: OrderQuery
    included: frozenset[str]
    last: tuple[datetime, str]


def included_data(params: Mapping[str, Any]) -> frozenset[str]:
    """The request's ``includedData``; raises 400 for a value the model does not know."""
    return choice_param(params, "includedData", SECTIONS) or frozenset()


def parse_search(
    params: Mapping[str, Any], now: datetime, lag: timedelta, marketplace_id: str
) -> OrderQuery:
    """Validate a searchOrders request without ``paginationToken``; raises the 400 it earns."""
    by, after, before = dated_window(params, WINDOW, now, lag)
    return OrderQuery(
        by=by,
        after=after,
        before=before,
        marketplaces=_marketplaces(params, marketplace_id),
        statuses=_v0_words(params, "fulfillmentStatuses", FULFILLMENT_STATUS),
        channels=_v0_words(params, "fulfilledBy", FULFILLED_BY),
        order_ids=None,
        page_size=_page_size(params),
    )


def _marketplaces(params: Mapping[str, Any], known: str) -> frozenset[str]:
    given = params.get("marketplaceIds")
    if not given:
        return frozenset({known})
    values = given if isinstance(given, list) else [given]
    if len(values) > MAX_MARKETPLACES:
        raise invalid_input(f"At most {MAX_MARKETPLACES} 'marketplaceIds' may be specified.")
    unknown = sorted(set(values) - {known})
    if unknown:
        raise invalid_input(f"Invalid marketplaceIds: {', '.join(unknown)}.")
    return frozenset(values)


def _v0_words(
    params: Mapping[str, Any], name: str, v0_to_new: Mapping[str, str]
) -> frozenset[str] | None:
    """A filter in the new model's words, as the v0 words the order book keeps."""
    chosen = choice_param(params, name, set(v0_to_new.values()))
    if chosen is None:
        return None
    return frozenset(old for old, new in v0_to_new.items() if new in chosen)


def _page_size(params: Mapping[str, Any]) -> int:
    given = params.get("maxResultsPerPage", MAX_RESULTS_PER_PAGE)
    if not isinstance(given, int) or not 1 <= given <= MAX_RESULTS_PER_PAGE:
        raise invalid_input("'maxResultsPerPage' must be an integer from 1 to 100.")
    return given


def search_orders(
    book: OrderBook,
    params: Mapping[str, Any],
    tokens: PageTokens[OrderSearchPosition],
    now: datetime,
    lag: timedelta,
) -> JSON:
    """The searchOrders answer (``SearchOrdersResponse``) for ``params``."""
    token = params.get("paginationToken")
    if token:
        position = tokens.get(str(token))
        if position is None:
            raise invalid_input("Invalid 'paginationToken'.")
        query, included, last = position.query, position.included, position.last
    else:
        query = parse_search(params, now, lag, book.marketplace_id)
        included, last = included_data(params), None
    page, more = query.page(book.orders.values(), last)
    answer: JSON = {"orders": [order_2026_json(order, included) for order in page]}
    if more:
        next_position = OrderSearchPosition(query, included, query.key(page[-1]))
        answer["pagination"] = {"nextToken": tokens.issue(next_position)}
    answer[WINDOW.before(query.by)] = amazon_time(query.before)
    return answer


def get_order(book: OrderBook, order_id: str, params: Mapping[str, Any]) -> JSON:
    """The getOrder answer (``GetOrderResponse``); 404 NotFound for an unknown order."""
    included = included_data(params)
    order = book.orders.get(order_id)
    if order is None:
        raise not_found(f"Order {order_id} was not found.")
    return {"order": order_2026_json(order, included)}
