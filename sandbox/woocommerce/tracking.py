"""The Shipment Tracking extension's tracking items (``/wp-json/wc-shipment-tracking/v3``).

Core WooCommerce keeps no tracking numbers; the official Shipment Tracking extension
adds them per order. ``POST /orders/{id}/shipment-trackings`` takes
``tracking_number`` (required), and either ``tracking_provider`` (a provider name
from its list) or ``custom_tracking_provider`` + ``custom_tracking_link`` (a URL with
``%1$s`` for the number), and ``date_shipped`` (``YYYY-MM-DD``, today by default); it
answers 201 with the item and a ``Location``. An item is answered as
``{"tracking_id", "tracking_provider", "tracking_link", "tracking_number",
"date_shipped", "_links"}``: the provider's display name (or the custom name) and the
link with the number filled in (WooCommerce's Shipment Tracking REST API documents).
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any, Final

from omnisync.sandbox.woocommerce.model import JSON, WooApiError, invalid_param
from omnisync.sandbox.woocommerce.product_view import links

TRACKING_PREFIX: Final = "/wp-json/wc-shipment-tracking/v3"
PROVIDERS: Final[dict[str, str]] = {
    # display name: link format (a few of the extension's built-in providers)
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels=%1$s",
    "UPS": "https://www.ups.com/track?tracknum=%1$s",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr=%1$s",
    "DHL": "https://www.dhl.com/en/express/tracking.html?AWB=%1$s",
    "DHL eCommerce": "https://webtrack.dhlglobalmail.com/?trackingnumber=%1$s",
}


def new_tracking(body: Any, today: date) -> JSON:
    """A tracking item from a create request (WooApiError for a refused one)."""
    if not isinstance(body, dict):
        raise WooApiError(400, "rest_invalid_json", "Invalid JSON body passed.")
    number = body.get("tracking_number")
    if not isinstance(number, str) or not number.strip():
        raise WooApiError(
            400,
            "rest_missing_callback_param",
            "Missing parameter(s): tracking_number",
            {"params": ["tracking_number"]},
        )
    provider, link = _provider(body, number.strip())
    shipped = body.get("date_shipped") or today.isoformat()
    try:
        shipped = date.fromisoformat(str(shipped)).isoformat()
    except ValueError:
        raise invalid_param("date_shipped", "Invalid date.") from None
    return {
        "tracking_id": secrets.token_hex(16),
        "tracking_provider": provider,
        "tracking_link": link,
        "tracking_number": number.strip(),
        "date_shipped": shipped,
    }


def tracking_json(item: JSON, base: str, order_id: int) -> JSON:
    collection = f"{base}{TRACKING_PREFIX}/orders/{order_id}/shipment-trackings"
    return {
        **item,
        "_links": links(
            f"{collection}/{item['tracking_id']}",
            collection,
            f"{base}/wp-json/wc/v3/orders/{order_id}",
        ),
    }


def _provider(body: JSON, number: str) -> tuple[str, str]:
    custom = body.get("custom_tracking_provider")
    if isinstance(custom, str) and custom.strip():
        template = body.get("custom_tracking_link") or ""
        return custom.strip(), str(template).replace("%1$s", number)
    given = body.get("tracking_provider")
    if not isinstance(given, str) or not given.strip():
        raise WooApiError(
            400,
            "rest_missing_callback_param",
            "Missing parameter(s): tracking_provider",
            {"params": ["tracking_provider"]},
        )
    for name, template in PROVIDERS.items():
        if name.lower() == given.strip().lower():
            return name, template.replace("%1$s", number)
    return given.strip(), ""
