"""A connector type for tests of pausing and quarantine, without a simulator: "keyed"
takes one API key and serves the orders its channel file lists, in a small JSON shape.

A wrong `api_key` makes every call an AuthError (the channel pauses); an order
without `created_at` does not map (it is quarantined), and neither does it when
map_quarantined is asked to map it again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar

from pydantic import SecretStr

from omnisync.connectors.base import AuthError, Capability, Connector, ConnectorSettings
from omnisync.connectors.parsing import (
    MAPPING_ERRORS,
    kept_json,
    mapping_failure,
    order_page,
    timestamp,
)
from omnisync.connectors.registry import register
from omnisync.core.dto import NormalisedOrder, NormalisedOrderLine, OrderPage, WebhookEvents
from omnisync.core.types import OrderStatus

GOOD_KEY = "keyed-good-key-4c2e91"
WRONG_KEY = "keyed-wrong-key-0d7a33"


class KeyedSettings(ConnectorSettings):
    api_key: SecretStr
    orders: list[dict[str, Any]] = []


@register
class KeyedConnector(Connector[KeyedSettings]):
    channel_type: ClassVar[str] = "keyed"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.ORDERS})

    def fetch_orders(self, since: datetime | None) -> Iterator[OrderPage]:
        if self.settings.api_key.get_secret_value() != GOOD_KEY:
            raise AuthError("401: the API key is not valid")
        yield order_page(self.settings.orders, order_from_item)

    def map_quarantined(self, kind: str, raw: str) -> WebhookEvents:
        return WebhookEvents(orders=(order_from_item(kept_json(raw)),))


def order_from_item(item: Any) -> NormalisedOrder:
    try:
        return NormalisedOrder(
            external_id=str(item["id"]),
            status=OrderStatus.ACCEPTED,
            placed_at=timestamp(item["created_at"]),
            updated_at=timestamp(item.get("updated_at") or item["created_at"]),
            lines=tuple(
                NormalisedOrderLine(
                    external_line_id=f"{item['id']}-{index}",
                    channel_sku=line["sku"],
                    quantity=int(line["quantity"]),
                )
                for index, line in enumerate(item["lines"])
            ),
            raw=item,
        )
    except MAPPING_ERRORS as error:
        external_id = item.get("id") if isinstance(item, dict) else None
        raise mapping_failure(item, error, external_id) from None


def channel_file(api_key_variable: str = "KEYED_API_KEY", orders: list[Any] | None = None) -> str:
    """A channel file of type keyed (orders as one line of JSON, which YAML reads too)."""
    return f"type: keyed\napi_key: ${{{api_key_variable}}}\norders: {json.dumps(orders or [])}\n"
