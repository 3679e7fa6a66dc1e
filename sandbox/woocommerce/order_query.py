"""``GET /orders``'s filters and order, as WooCommerce's v3 orders controller reads them.

- ``after`` / ``before``: ``date_created`` after / before the date (exclusive);
  ``modified_after`` / ``modified_before``: the same on ``date_modified``. A date without
  a zone is the site's local time unless ``dates_are_gmt`` is true (then UTC).
- ``status``: ``any`` (the default: every status but ``trash`` and ``checkout-draft``),
  or one or more statuses, comma separated.
- ``include``: comma separated ids.
- ``orderby``: ``date`` (the default), ``modified``, ``id``; ``order``: ``desc`` (the
  default) or ``asc``. Ties fall back on the id, so pages never overlap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Final

from omnisync.sandbox.woocommerce.model import SiteClock, invalid_param
from omnisync.sandbox.woocommerce.orders import HIDDEN_FROM_ANY, STATUSES, Order

DATE_FILTERS: Final[dict[str, tuple[str, bool]]] = {
    # query parameter: (order attribute, keeps what is after it)
    "after": ("created", True),
    "before": ("created", False),
    "modified_after": ("modified", True),
    "modified_before": ("modified", False),
}
ORDERBY: Final[dict[str, Callable[[Order], tuple[datetime | int, int]]]] = {
    "date": lambda order: (order.created, order.id),
    "modified": lambda order: (order.modified, order.id),
    "id": lambda order: (order.id, order.id),
}
TRUE_WORDS: Final = frozenset({"1", "true", "yes"})
FALSE_WORDS: Final = frozenset({"0", "false", "no", ""})


def select_orders(
    orders: Iterable[Order], query: Mapping[str, str], site: SiteClock
) -> list[Order]:
    """The orders the query asks for, in the order it asks."""
    chosen = [order for order in orders if _status_matches(order, _statuses(query))]
    dates_are_gmt = _flag(query, "dates_are_gmt")
    for name, (attribute, keep_after) in DATE_FILTERS.items():
        text = query.get(name)
        if text is None:
            continue
        try:
            bound = site.parse(text, dates_are_gmt)
        except ValueError:
            raise invalid_param(name, "Invalid date.") from None
        chosen = [
            order
            for order in chosen
            if (
                getattr(order, attribute) > bound
                if keep_after
                else getattr(order, attribute) < bound
            )
        ]
    include = ids_of(query, "include")
    if include is not None:
        chosen = [order for order in chosen if order.id in include]
    orderby = query.get("orderby", "date")
    if orderby not in ORDERBY:
        raise invalid_param("orderby", f"orderby is not one of {', '.join(ORDERBY)}.")
    direction = query.get("order", "desc")
    if direction not in ("asc", "desc"):
        raise invalid_param("order", "order is not one of asc, desc.")
    return sorted(chosen, key=ORDERBY[orderby], reverse=direction == "desc")


def _statuses(query: Mapping[str, str]) -> frozenset[str] | None:
    """The statuses asked for; None for ``any``."""
    words = {word.strip() for word in query.get("status", "any").split(",") if word.strip()}
    if not words or "any" in words:
        return None
    unknown = sorted(words - STATUSES)
    if unknown:
        raise invalid_param("status", f"status[0] is not one of {', '.join(sorted(STATUSES))}.")
    return frozenset(words)


def _status_matches(order: Order, statuses: frozenset[str] | None) -> bool:
    if statuses is None:
        return order.status not in HIDDEN_FROM_ANY
    return order.status in statuses


def _flag(query: Mapping[str, str], name: str) -> bool:
    text = query.get(name, "false").strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise invalid_param(name, f"{name} is not of type boolean.")


def ids_of(query: Mapping[str, str], name: str) -> set[int] | None:
    """Comma separated ids (``include``), or None when absent."""
    text = query.get(name)
    if text is None or not text.strip():
        return None
    try:
        return {int(part) for part in text.split(",") if part.strip()}
    except ValueError:
        raise invalid_param(name, f"{name}[0] is not of type integer.") from None
