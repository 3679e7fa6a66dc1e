"""Money as the simulators take it in: a price a request or a control call gives."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final

CENT: Final = Decimal("0.01")


def parse_price(value: Any) -> Decimal:
    """A price (a decimal string or a number, not negative), to the cent; ValueError.

    eBay and WooCommerce both take either form; a bool is not a number here."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError(f"not a price: {value!r}")
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a price: {value!r}") from None
    if not price.is_finite() or price < 0:
        raise ValueError(f"not a price: {value!r}")
    return price.quantize(CENT, ROUND_HALF_UP)
