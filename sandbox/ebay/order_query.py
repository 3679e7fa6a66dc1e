"""getOrders: the filter, paging by offset, and the order-page faults.

``filter`` takes eBay's comma-separated criteria:

- ``creationdate:[START..]`` or ``creationdate:[START..END]`` and the same for
  ``lastmodifieddate`` (ISO 8601 UTC, bounds inclusive; with both, only creationdate
  counts, as eBay says). A bound is compared with the millisecond the order's date is
  rendered with. eBay also refuses dates in the future; the simulator does not, so a
  client on another clock than the simulator's :class:`~sandbox.clock.ManualClock` is
  not refused;
- ``orderfulfillmentstatus:{NOT_STARTED|IN_PROGRESS}`` or ``{FULFILLED|IN_PROGRESS}``.

Refusals are 400 with the Fulfillment API's ids (30700 unknown criterion, 30800 bad
value, 30810 bad date, 30820 no start date, 30840 start after end, 30900 more than 50
``orderIds``, 31000 bad offset, 31100 a limit not 1 to 200). ``orderIds`` (comma
separated, at most 50) overrides every other parameter. Orders come oldest
``lastModifiedDate`` first (then by id); ``offset`` counts orders skipped; ``limit``
defaults to 50. ``href``, ``next`` and ``prev`` are full URLs on the simulator.

Faults for endpoint ``getOrders`` (:mod:`sandbox.faults`): ``malformed_order`` breaks one
order of a non-empty page (``lastModifiedDate`` not a date, or ``lineItems`` not a list,
in turn), ``duplicate_across_pages`` starts a page after the first with the previous
page's last order, ``stale_update`` adds an older version of an order already served.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import urlencode

from omnisync.sandbox.ebay.errors import (
    FULFILLMENT,
    INVALID_DATE,
    INVALID_FILTER_NAME,
    INVALID_FILTER_VALUE,
    INVALID_LIMIT,
    INVALID_OFFSET,
    START_AFTER_END,
    START_DATE_MISSING,
    TOO_MANY_ORDER_IDS,
    EbayApiError,
)
from omnisync.sandbox.ebay.model import JSON, ebay_time, parse_ebay_time, query_int, to_millisecond
from omnisync.sandbox.ebay.order_view import order_json
from omnisync.sandbox.ebay.orders import (
    FULFILLED,
    FULFILLMENT_PATH,
    IN_PROGRESS,
    NONE_REQUESTED,
    NOT_STARTED,
    Order,
    OrderBook,
)
from omnisync.sandbox.faults import FaultKind, FaultQueue

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 200
MAX_ORDER_IDS: Final = 50
ORDERS_ENDPOINT: Final = "getOrders"
STATUS_CHOICES: Final = (
    frozenset({NOT_STARTED, IN_PROGRESS}),
    frozenset({FULFILLED, IN_PROGRESS}),
)


@dataclass(frozen=True)
class DateRange:
    start: datetime
    end: datetime | None

    def contains(self, moment: datetime) -> bool:
        rendered = to_millisecond(moment)
        return rendered >= self.start and (self.end is None or rendered <= self.end)


@dataclass(frozen=True)
class OrderFilter:
    created: DateRange | None = None
    modified: DateRange | None = None
    statuses: frozenset[str] | None = None

    def matches(self, order: Order) -> bool:
        if self.created is not None:
            if not self.created.contains(order.created_at):
                return False
        elif self.modified is not None and not self.modified.contains(order.modified_at):
            return False
        return self.statuses is None or order.fulfillment_status in self.statuses


@dataclass(frozen=True)
class OrderQuery:
    order_ids: list[str] | None
    filter: OrderFilter
    limit: int
    offset: int


def parse_query(query: Mapping[str, str]) -> OrderQuery:
    """getOrders' parameters, checked; EbayApiError (400) for what eBay refuses."""
    if query.get("orderIds") is not None:
        ids = [part.strip() for part in query["orderIds"].split(",") if part.strip()]
        if len(ids) > MAX_ORDER_IDS:
            raise _refused(
                TOO_MANY_ORDER_IDS,
                f"Exceeded maximum number of order IDs (the current limit is {MAX_ORDER_IDS})",
                ("orderIds", str(len(ids))),
            )
        return OrderQuery(ids, OrderFilter(), DEFAULT_LIMIT, 0)
    try:
        limit = query_int(query.get("limit"), DEFAULT_LIMIT)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise _refused(
            INVALID_LIMIT, f"Invalid limit: {query.get('limit')}", ("limit", query["limit"])
        )
    try:
        offset = query_int(query.get("offset"), 0)
    except ValueError:
        raise _refused(
            INVALID_OFFSET, f"Invalid offset: {query['offset']}", ("offset", query["offset"])
        ) from None
    return OrderQuery(None, parse_filter(query.get("filter")), limit, offset)


def parse_filter(text: str | None) -> OrderFilter:
    if text is None or not text.strip():
        return OrderFilter()
    found: dict[str, DateRange | frozenset[str]] = {}
    for criterion in _criteria(text):
        name, separator, value = criterion.partition(":")
        name = name.strip().lower()
        if not separator or name not in (
            "creationdate",
            "lastmodifieddate",
            "orderfulfillmentstatus",
        ):
            raise _refused(INVALID_FILTER_NAME, f"Invalid filter name: {name}", ("filter", name))
        value = value.strip()
        found[name] = _statuses(value) if name == "orderfulfillmentstatus" else _range(name, value)
    created, modified, statuses = (
        found.get("creationdate"),
        found.get("lastmodifieddate"),
        found.get("orderfulfillmentstatus"),
    )
    return OrderFilter(
        created if isinstance(created, DateRange) else None,
        modified if isinstance(modified, DateRange) else None,
        statuses if isinstance(statuses, frozenset) else None,
    )


def _criteria(text: str) -> list[str]:
    """Split on the commas outside ``[...]`` and ``{...}``."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth = max(0, depth - 1)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part for part in parts if part.strip()]


def _range(name: str, value: str) -> DateRange:
    if not (value.startswith("[") and value.endswith("]")) or ".." not in value:
        raise _refused(
            INVALID_FILTER_VALUE, f"Invalid filter value {value} for filter {name}", (name, value)
        )
    start_text, _, end_text = value[1:-1].partition("..")
    if not start_text.strip():
        raise _refused(START_DATE_MISSING, "Start date is missing", (name, value))
    try:
        start = parse_ebay_time(start_text)
        end = parse_ebay_time(end_text) if end_text.strip() else None
    except ValueError:
        raise _refused(INVALID_DATE, "Invalid date format", (name, value)) from None
    if end is not None and start > end:
        raise _refused(START_AFTER_END, "Start date should be before end date", (name, value))
    return DateRange(start, end)


def _statuses(value: str) -> frozenset[str]:
    chosen = frozenset(part.strip() for part in value.strip("{}").split("|"))
    if not (value.startswith("{") and value.endswith("}")) or chosen not in STATUS_CHOICES:
        raise _refused(
            INVALID_FILTER_VALUE,
            f"Invalid filter value {value} for filter orderfulfillmentstatus",
            ("orderfulfillmentstatus", value),
        )
    return chosen


def _refused(error_id: int, message: str, parameter: tuple[str, str]) -> EbayApiError:
    return EbayApiError(400, error_id, FULFILLMENT.domain, message, parameters=(parameter,))


class OrderFeed:
    """getOrders over an :class:`OrderBook`, remembering what it served (for the
    ``stale_update`` fault) and applying queued order-page faults."""

    def __init__(
        self, book: OrderBook, faults: FaultQueue, on_fault: Callable[[str], object]
    ) -> None:
        self.book = book
        self.faults = faults
        self.on_fault = on_fault
        self._served: OrderedDict[str, None] = OrderedDict()
        self._malformed = 0

    def page(self, query: Mapping[str, str], base_url: str) -> JSON:
        """The getOrders answer for ``query`` (EbayApiError for a refused one)."""
        asked = parse_query(query)
        if asked.order_ids is not None:
            chosen = [self.book.orders[i] for i in asked.order_ids if i in self.book.orders]
            matching, page = chosen, chosen
        else:
            matching = sorted(
                (order for order in self.book.orders.values() if asked.filter.matches(order)),
                key=lambda order: (order.modified_at, order.order_id),
            )
            page = matching[asked.offset : asked.offset + asked.limit]
        orders = [self._json(order, base_url) for order in page]
        previous = matching[asked.offset - 1] if 0 < asked.offset <= len(matching) else None
        self._apply_fault(orders, previous, base_url)
        for order in page:
            self._served.pop(order.order_id, None)
            self._served[order.order_id] = None
        body: JSON = {
            "href": _url(base_url, query, asked.limit, asked.offset),
            "limit": asked.limit,
            "offset": asked.offset,
            "total": len(matching),
            "orders": orders,
        }
        if asked.order_ids is None:
            if asked.offset + asked.limit < len(matching):
                body["next"] = _url(base_url, query, asked.limit, asked.offset + asked.limit)
            if asked.offset > 0:
                prev_offset = max(0, asked.offset - asked.limit)
                body["prev"] = _url(base_url, query, asked.limit, prev_offset)
        return body

    def _apply_fault(self, orders: list[JSON], previous: Order | None, base_url: str) -> None:
        kinds: set[FaultKind] = set()
        if orders:
            kinds.add("malformed_order")
        if previous is not None:
            kinds.add("duplicate_across_pages")
        if self._served:
            kinds.add("stale_update")
        fault = self.faults.take(ORDERS_ENDPOINT, kinds)
        if fault is None:
            return
        self.on_fault(fault.kind)
        if fault.kind == "malformed_order":
            if self._malformed % 2 == 0:
                orders[0]["lastModifiedDate"] = "not-a-date"
            else:
                orders[0]["lineItems"] = "broken: lineItems is not a list"
            self._malformed += 1
        elif fault.kind == "duplicate_across_pages" and previous is not None:
            orders.insert(0, self._json(previous, base_url))
        elif fault.kind == "stale_update":
            orders.append(self._stale(base_url))

    def _stale(self, base_url: str) -> JSON:
        """The order served last, as it was before anything happened to it."""
        order = self.book.orders[next(reversed(self._served))]
        stale = self._json(order, base_url)
        stale["lastModifiedDate"] = ebay_time(order.modified_at - timedelta(seconds=1))
        stale["orderFulfillmentStatus"] = NOT_STARTED
        stale["cancelStatus"] = {"cancelState": NONE_REQUESTED, "cancelRequests": []}
        stale["fulfillmentHrefs"] = []
        for line in stale["lineItems"]:
            line["lineItemFulfillmentStatus"] = NOT_STARTED
        return stale

    def _json(self, order: Order, base_url: str) -> JSON:
        return order_json(order, self.book.seller_id, base_url, detailed=False)

    def clear(self) -> None:
        self._served.clear()
        self._malformed = 0


def _url(base_url: str, query: Mapping[str, str], limit: int, offset: int) -> str:
    params = dict(query)
    if "orderIds" not in params:
        params["limit"] = str(limit)
        params["offset"] = str(offset)
    encoded = urlencode(params)
    return f"{base_url}{FULFILLMENT_PATH}" + (f"?{encoded}" if encoded else "")
