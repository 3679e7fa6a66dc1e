"""Shared vocabulary of the eBay simulator: dates, money, query numbers, refusals.

eBay writes every timestamp as ISO 8601 in UTC with milliseconds and a ``Z``
(``2026-01-01T10:00:00.000Z``) and every amount as ``{"value": "12.50", "currency":
"USD"}``: the value a decimal string. Times are kept with the microseconds the
simulator's stamper gives them and rendered truncated to the millisecond, never rounded
up, so a client that restarts from a rendered date misses nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from omnisync.sandbox.money import CENT
from omnisync.sandbox.money import parse_price as parse_price

JSON = dict[str, Any]


class EbaySimulatorError(ValueError):
    """A control call the simulated eBay account refuses (unknown SKU, out of stock...)."""


def ebay_time(moment: datetime) -> str:
    """``2026-01-01T10:00:00.123Z``: UTC, milliseconds (truncated)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def to_millisecond(moment: datetime) -> datetime:
    """``moment`` truncated to the millisecond: the instant its rendering names."""
    utc = moment.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def parse_ebay_time(text: str) -> datetime:
    """An ISO 8601 date-time with a ``Z`` or an offset (fraction optional); ValueError for
    anything else, a naive time included."""
    value = text.strip()
    if len(value) < 19 or value[4] != "-" or value[10] not in "Tt":
        raise ValueError(f"not an ISO 8601 date-time: {text!r}")
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"no time zone in {text!r}")
    return moment.astimezone(UTC)


def amount(value: Decimal, currency: str) -> JSON:
    """eBay's Amount: ``{"value": "12.50", "currency": "USD"}``."""
    return {"value": str(value.quantize(CENT, ROUND_HALF_UP)), "currency": currency}


def query_int(text: str | None, default: int) -> int:
    """A whole number from a query string (eBay sends them as strings); ValueError."""
    if text is None:
        return default
    value = text.strip()
    if not value.isdigit():
        raise ValueError(f"not a whole number: {text!r}")
    return int(value)


def is_count(value: Any) -> bool:
    """A JSON whole number, 0 or more (a bool is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
