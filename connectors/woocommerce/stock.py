"""Stock to WooCommerce: read what the shop holds, decide, then write in batches.

WooCommerce has no compare-and-set: a write sets `stock_quantity`, whatever happened
since. So every push reads the products (or a parent's variations) first, then decides
per update, and writes what it decided with the batch endpoint:

a. the product (or variation) is not in the read: gone (deleted or in the bin): failed,
   not retried;
b. `manage_stock` is not true: failed, not retried, "stock management is off"; it is
   never turned on silently (the seller chose not to count that product);
c. the shop holds the target already: nothing written, acknowledged at the target;
d. the shop holds less than it last acknowledged from us (`last_acknowledged`) and the
   target is more than it holds: the shop sold `last_acknowledged - current` units since
   our last push, which the hub may not have taken in yet; writing the target could
   give back units an order already took (libracore/WooCommerceConnector#41). So
   `max(current, target - (last_acknowledged - current))` is written instead and
   acknowledged as the figure written: the hub records what the shop holds. Were those
   sales already in the hub's target, the shop now holds less than the hub would offer;
   the next push (reconcile), with `last_acknowledged` that figure, writes the target
   and squares it;
e. otherwise the target is written.

The batch answers per item: an item with an `error` fails alone (retried when its
status is 5xx or 429), an item the answer omits fails as retriable. A whole call that
fails raises, and the engine retries the push.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from omnisync.connectors.woocommerce.client import woo_error
from omnisync.core.dto import PushResult, StockUpdate

BATCH_SIZE = 100
"""WooCommerce's batch endpoints take at most 100 objects by default."""


@dataclass(frozen=True)
class Target:
    """A stock update with the WooCommerce ids it names."""

    index: int
    update: StockUpdate
    product_id: int
    variation_id: int | None

    @property
    def item_id(self) -> int:
        """The id the read and the batch know it by."""
        return self.variation_id if self.variation_id is not None else self.product_id


def target_of(index: int, update: StockUpdate) -> Target | PushResult:
    """The update's ids, or the failed result of an update that names none."""
    ids = update.channel_ids
    try:
        product_id = int(ids["product_id"])
        variation = ids.get("variation_id")
        variation_id = int(variation) if variation not in (None, 0, "0", "") else None
    except (KeyError, TypeError, ValueError):
        return PushResult(
            key=update.channel_sku,
            ok=False,
            error="the listing has no WooCommerce product_id: read the listings again",
        )
    return Target(index, update, product_id, variation_id)


def decide(target: Target, current: Mapping[str, Any] | None) -> int | PushResult:
    """The quantity to write for `target`, or its result when nothing is written (rules a
    to e of this module's docstring); `current` is the product as the read gave it."""
    update = target.update
    what = "variation" if target.variation_id is not None else "product"
    if current is None:
        return PushResult(
            key=update.channel_sku,
            ok=False,
            error=f"WooCommerce has no {what} {target.item_id} (deleted or in the bin)",
        )
    if current.get("manage_stock") is not True:
        return PushResult(
            key=update.channel_sku,
            ok=False,
            error=(
                f"stock management is off for {what} {target.item_id} in WooCommerce: turn "
                "'Manage stock' on to have the hub push its quantity"
            ),
        )
    held = current.get("stock_quantity")
    wanted = update.quantity
    if held is None:
        return wanted
    held = int(held)
    if held == wanted:
        return PushResult(key=update.channel_sku, ok=True, quantity=wanted)
    acknowledged = update.last_acknowledged
    if acknowledged is not None and held < acknowledged and wanted > held:
        sold_since = acknowledged - held
        return max(held, wanted - sold_since)
    return wanted


def batch_body(writes: Sequence[tuple[Target, int]]) -> dict[str, Any]:
    return {
        "update": [
            {"id": target.item_id, "stock_quantity": quantity, "manage_stock": True}
            for target, quantity in writes
        ]
    }


def batch_results(writes: Sequence[tuple[Target, int]], answer: Any) -> dict[int, PushResult]:
    """{update index: result} from a batch answer's `update` list."""
    answered: dict[str, Mapping[str, Any]] = {}
    items = answer.get("update") if isinstance(answer, dict) else None
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("id") is not None:
            answered[str(item["id"])] = item
    results = {}
    for target, quantity in writes:
        key = target.update.channel_sku
        item = answered.get(str(target.item_id))
        if item is None:
            results[target.index] = PushResult(
                key=key,
                ok=False,
                error=f"WooCommerce's batch answer says nothing of {target.item_id}",
                retriable=True,
            )
            continue
        error = item.get("error")
        if isinstance(error, dict):
            results[target.index] = PushResult(
                key=key,
                ok=False,
                error=woo_error(error) or "refused",
                retriable=_retriable((error.get("data") or {}).get("status")),
            )
            continue
        results[target.index] = PushResult(key=key, ok=True, quantity=quantity)
    return results


def _retriable(status: Any) -> bool:
    """A 5xx or a throttled item is the shop's trouble, not the request's."""
    try:
        code = int(status)
    except (TypeError, ValueError):
        return False
    return code >= 500 or code == 429
