"""Shipments to WooCommerce: an order note per shipment, which is also the hub's record
of what it reported.

Core WooCommerce has no shipment or tracking object. A shipment is an order note
(`Shipped with DHL Express: tracking 123 https://... [omnisync:<key>; lines 315x2,316x1]`)
whose bracketed marker names the fulfilment's idempotency key and the lines and
quantities it shipped. The marker makes the push idempotent (a note carrying the key
exists already: it is not added again) and lets the connector tell when every line of
the order has shipped, which is when the order is marked `completed` (WooCommerce then
emails the customer its Completed order email). With `shipment_tracking`, the shipment
is recorded with the Shipment Tracking extension as well (its REST API:
`tracking_provider` for a provider it knows, else `custom_tracking_provider` and
`custom_tracking_link`; `tracking_number`; `date_shipped` as YYYY-MM-DD).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Final

from omnisync.core.dto import Fulfilment

MARKER: Final = re.compile(r"\[omnisync:(?P<key>[^;\]\s]+); lines (?P<lines>[^\]]*)\]")
_LINE: Final = re.compile(r"^\s*(?P<line>[^x\s,]+)x(?P<quantity>\d+)\s*$")
UNSHIPPABLE: Final = frozenset({"cancelled", "refunded", "failed", "trash", "checkout-draft"})
"""Order statuses a shipment cannot be reported on."""


def note_text(fulfilment: Fulfilment) -> str:
    """The note recording `fulfilment`, marker last."""
    carrier = " ".join(part for part in (fulfilment.carrier, fulfilment.service) if part)
    tracking = " ".join(
        part for part in (fulfilment.tracking_number, fulfilment.tracking_url) if part
    )
    lines = ",".join(f"{line.external_line_id}x{line.quantity}" for line in fulfilment.lines)
    return (
        f"Shipped with {carrier}: tracking {tracking} "
        f"[omnisync:{fulfilment.idempotency_key}; lines {lines}]"
    )


def recorded_shipments(notes: Iterable[Any]) -> dict[str, dict[str, int]]:
    """{idempotency key: {line id: quantity}} of the shipments the notes record."""
    shipments: dict[str, dict[str, int]] = {}
    for note in notes:
        text = note.get("note") if isinstance(note, dict) else None
        if not isinstance(text, str):
            continue
        for marker in MARKER.finditer(text):
            lines: dict[str, int] = {}
            for part in marker["lines"].split(","):
                matched = _LINE.match(part)
                if matched:
                    lines[matched["line"]] = lines.get(matched["line"], 0) + int(
                        matched["quantity"]
                    )
            shipments.setdefault(marker["key"], lines)
    return shipments


def all_shipped(order: Mapping[str, Any], shipments: Iterable[Mapping[str, int]]) -> bool:
    """Whether the shipments cover every line item's quantity of `order`."""
    shipped: dict[str, int] = {}
    for lines in shipments:
        for line, quantity in lines.items():
            shipped[line] = shipped.get(line, 0) + quantity
    items = [item for item in order.get("line_items") or [] if isinstance(item, dict)]
    return bool(items) and all(
        shipped.get(str(item.get("id")), 0) >= int(item.get("quantity") or 0) for item in items
    )


def tracking_body(fulfilment: Fulfilment, shipped_on: date) -> dict[str, Any]:
    """A Shipment Tracking item: a custom provider when the hub has the tracking link
    (the extension builds none for a name it does not know), else the carrier's name as
    one of the extension's providers."""
    body: dict[str, Any] = {
        "tracking_number": fulfilment.tracking_number,
        "date_shipped": shipped_on.isoformat(),
    }
    if fulfilment.tracking_url:
        body["custom_tracking_provider"] = fulfilment.carrier
        body["custom_tracking_link"] = fulfilment.tracking_url
    else:
        body["tracking_provider"] = fulfilment.carrier
    return body


def has_tracking(trackings: Any, number: str) -> bool:
    """Whether the extension's list of the order's tracking items holds `number`."""
    return isinstance(trackings, list) and any(
        isinstance(item, dict) and str(item.get("tracking_number") or "") == number
        for item in trackings
    )
