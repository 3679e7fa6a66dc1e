"""What every connector's mapping shares: reading channel values, and turning an item
that does not fit into a PayloadError (quarantined) instead of a failed page."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import ValidationError

from omnisync.connectors.base import PayloadError
from omnisync.core.dto import NormalisedOrder, OrderPage, RejectedPayload

T = TypeVar("T")

MAPPING_ERRORS = (
    KeyError,
    TypeError,
    ValueError,
    AttributeError,
    InvalidOperation,
    ValidationError,
)
"""What a payload of the wrong shape raises while it is mapped."""


def timestamp(value: Any) -> datetime:
    """An ISO 8601 time with an offset ("Z" included); anything else is refused."""
    if not isinstance(value, str):
        raise TypeError("timestamps must be ISO 8601 strings")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no offset")
    return moment


def decimal_or_none(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def kept_json(raw: str) -> Any:
    """The JSON of a quarantined payload; PayloadError if it is not JSON."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise PayloadError(f"the kept payload is not JSON: {error}", raw) from None


def mapping_failure(item: Any, error: Exception, external_id: Any) -> PayloadError:
    """The PayloadError for an order that could not be mapped, with its raw JSON."""
    reason = f"{type(error).__name__}: {error}".splitlines()[0]
    raw = json.dumps(item, sort_keys=True, default=str)
    shown = None if external_id is None else str(external_id)
    return PayloadError(f"order {shown}: {reason}", raw, shown)


def order_page(items: Iterable[T], map_order: Callable[[T], NormalisedOrder]) -> OrderPage:
    """Map every item; those that raise PayloadError are rejected, the rest go on."""
    orders: list[NormalisedOrder] = []
    rejected: list[RejectedPayload] = []
    for item in items:
        try:
            orders.append(map_order(item))
        except PayloadError as error:
            rejected.append(
                RejectedPayload(raw=error.raw, reason=str(error), external_id=error.external_id)
            )
    cursor = max((order.updated_at for order in orders), default=None)
    return OrderPage(orders=tuple(orders), rejected=tuple(rejected), cursor=cursor)
