"""``/_control/returns``: the Amazon simulator's buyers asking for returns, and the
returns moving on, by hand (the in-process side is
:class:`sandbox.amazon.returns.ReturnControls`).

Like every ``/_control`` route (:mod:`sandbox.control_api`, whose request handling these
share) they take no credentials, cost no rate limit and suffer no faults; a refusal is
``{"error": code, "message": ...}`` with a 4xx status:

- ``GET /_control/returns``: ``{"returns": [...]}``;
- ``POST /_control/returns`` ``{"order_id", "sku", "quantity"?, "reason"?, "status"?,
  "resolution"?, "tracking_number"?}`` (or ``"lines": [{"sku", "quantity"}]`` for
  several SKUs): the buyer asks to return shipped units; the RMA id is made up
  (201 ``{"return": {...}}``; 404 for an unknown order, 409 when the order cannot
  take it);
- ``POST /_control/returns/status`` ``{"rma_id", "status"?}``: the return moves to
  ``status``, or one step on without it (200 ``{"return": {...}}``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from starlette.routing import Route

from omnisync.sandbox.amazon.http import AmazonSimulatorError
from omnisync.sandbox.control_api import (
    JSON,
    Answer,
    control_route,
    optional_text,
    order_lines,
    refused_as,
    required_text,
)

if TYPE_CHECKING:
    from omnisync.sandbox.amazon.simulator import AmazonSimulator

PATH: Final = "/returns"


def return_control_routes(seller: AmazonSimulator) -> list[Route]:
    def listed(body: JSON) -> Answer:
        return 200, {"returns": seller.returns()}

    def create(body: JSON) -> Answer:
        order_id = required_text(body, "order_id")
        with refused_as(AmazonSimulatorError, 404, "not_found"):
            seller.get_order(order_id)
        options: dict[str, Any] = {
            name: value
            for name, value in (
                ("reason", optional_text(body, "reason")),
                ("status", optional_text(body, "status")),
                ("resolution", optional_text(body, "resolution")),
                ("tracking_id", optional_text(body, "tracking_number")),
            )
            if value is not None
        }
        with refused_as(AmazonSimulatorError, 409, "refused"):
            made = seller.create_return(order_id, _lines(body), **options)
        return 201, {"return": made}

    def move(body: JSON) -> Answer:
        rma_id = required_text(body, "rma_id")
        with refused_as(AmazonSimulatorError, 404, "not_found"):
            seller.return_of(rma_id)
        status = optional_text(body, "status")
        with refused_as(AmazonSimulatorError, 409, "refused"):
            moved = (
                seller.advance_return(rma_id)
                if status is None
                else seller.set_return_status(rma_id, status)
            )
        return 200, {"return": moved}

    return [
        control_route(PATH, "GET", listed),
        control_route(PATH, "POST", create),
        control_route(PATH + "/status", "POST", move),
    ]


def _lines(body: JSON) -> list[tuple[str, int]]:
    if "lines" in body:
        return order_lines(body["lines"])
    return order_lines([{"sku": body.get("sku"), "quantity": body.get("quantity", 1)}])
