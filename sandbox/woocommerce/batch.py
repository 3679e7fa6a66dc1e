"""``POST /products/batch`` and ``POST /products/{id}/variations/batch``.

The body is ``{"create": [...], "update": [...], "delete": [ids]}``; more than 100
objects in all is refused whole (413 ``woocommerce_rest_request_entity_too_large``, as
WooCommerce's ``check_batch_limit``). Otherwise each object is done on its own, in the
order create, update, delete, and answered in a list of the same name: the product's (or
variation's) JSON, or ``{"id", "error": {"code", "message", "data": {"status"}}}`` for
one refused (an unknown id, a value of the wrong type, a taken SKU). Only the lists the
request had are in the answer. Each product saved or deleted fires its webhook topic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from omnisync.sandbox.woocommerce.catalogue import StockItem, apply_update
from omnisync.sandbox.woocommerce.model import JSON, WooApiError, is_whole
from omnisync.sandbox.woocommerce.product_view import product_json, variation_json

if TYPE_CHECKING:
    from omnisync.sandbox.woocommerce.simulator import WooCommerceSimulator

BATCH_LIMIT: Final = 100
ACTIONS: Final = ("create", "update", "delete")


def run_batch(sim: WooCommerceSimulator, body: Any, parent: StockItem | None, base: str) -> JSON:
    """The batch's answer; ``parent``: the variable product of a variations batch."""
    if not isinstance(body, dict):
        raise WooApiError(400, "rest_invalid_json", "Invalid JSON body passed.")
    lists = {action: body[action] for action in ACTIONS if action in body}
    for action, items in lists.items():
        if not isinstance(items, list):
            raise WooApiError(
                400,
                "rest_invalid_param",
                f"Invalid parameter(s): {action}",
                {"params": {action: f"{action} is not of type array."}},
            )
    if sum(len(items) for items in lists.values()) > BATCH_LIMIT:
        raise WooApiError(
            413,
            "woocommerce_rest_request_entity_too_large",
            f"Unable to accept more than {BATCH_LIMIT} items for this request.",
        )
    batch = _Batch(sim, parent, base)
    answer: JSON = {}
    for action, items in lists.items():
        answer[action] = [batch.do(action, item) for item in items]
    return answer


class _Batch:
    def __init__(self, sim: WooCommerceSimulator, parent: StockItem | None, base: str) -> None:
        self.sim = sim
        self.parent = parent
        self.base = base
        self.noun = "product_variation" if parent is not None else "product"

    def do(self, action: str, item: Any) -> JSON:
        try:
            if action == "create":
                return self._create(item)
            if action == "update":
                return self._update(item)
            return self._delete(item)
        except WooApiError as error:
            given = item.get("id") if isinstance(item, dict) else item
            return {"id": given if is_whole(given) else 0, "error": error.body()}

    def _create(self, spec: Any) -> JSON:
        if not isinstance(spec, dict):
            raise WooApiError(400, "rest_invalid_json", "Invalid JSON body passed.")
        item = self.sim.catalogue.new_item(
            "variation" if self.parent is not None else "simple",
            str(spec.get("name") or "Product"),
            self.parent,
        )
        attributes = spec.get("attributes")
        if isinstance(attributes, list) and attributes and isinstance(attributes[0], dict):
            item.option = str(attributes[0].get("option") or item.option)
        try:
            apply_update(self.sim.catalogue, item, spec)
        except WooApiError:
            self.sim.catalogue.forget(item)
            raise
        self.sim.product_changed(item, "created")
        return self._json(item)

    def _update(self, spec: Any) -> JSON:
        item_id = spec.get("id") if isinstance(spec, dict) else None
        item = self._known(item_id, 400)
        apply_update(self.sim.catalogue, item, spec)
        self.sim.product_changed(item)
        return self._json(item)

    def _delete(self, item_id: Any) -> JSON:
        item = self._known(item_id, 404)
        shown = self._json(item)
        self.sim.catalogue.forget(item)
        self.sim.product_changed(item, "deleted")
        return shown

    def _known(self, item_id: Any, status: int) -> StockItem:
        item = self.sim.catalogue.get(item_id) if is_whole(item_id) else None
        fits = item is not None and (
            item.parent_id == self.parent.id and item.kind == "variation"
            if self.parent is not None
            else item.kind != "variation"
        )
        if item is None or not fits:
            raise WooApiError(status, f"woocommerce_rest_{self.noun}_invalid_id", "Invalid ID.")
        return item

    def _json(self, item: StockItem) -> JSON:
        view = variation_json if self.parent is not None else product_json
        return view(item, self.sim.catalogue, self.sim.site, self.base)
