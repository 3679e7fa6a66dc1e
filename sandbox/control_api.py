"""The ``/_control`` routes of every simulator: drive it by hand over HTTP.

What ``python -m omnisync.sandbox control URL ...`` (:mod:`sandbox.control_client`) talks to.
Like ``/_sandbox`` and ``/_simulator``, these routes take no credentials, cost no rate
limit and suffer no faults: they are for whoever runs the simulator on loopback. Each
simulator serves them through a *desk*, its adapter onto its own in-process control
methods (``sandbox/<package>/desk.py``):

every simulator
    ``GET /_control/kind``: ``{"kind", "name", "type", "commands"}``

a marketplace (an :class:`OrderDesk`: ``marketplace``, ``shopify``, ``amazon``, ``ebay``)
    ``POST /_control/orders`` ``{"lines": [{"sku", "quantity"}]}``: a buyer orders;
    ``GET /_control/orders``; ``POST /_control/cancel`` ``{"order_id"}``;
    ``POST /_control/ship`` ``{"order_id", "tracking_number"?, "carrier"?}``: the
    merchant ships every unshipped unit; ``GET /_control/stock``: the quantity the
    channel offers, per SKU

the carriers (a :class:`ParcelDesk`)
    ``POST /_control/parcels`` ``{"provider"?, "tracking_number"?}``: a new label;
    ``GET /_control/parcels``; ``POST /_control/advance`` ``{"tracking_number"?,
    "seconds"?}``: parcels move on (one step by default); ``POST /_control/outcome``
    ``{"tracking_number", "outcome"}``

An order or a parcel is answered as ``{"order": {...}}`` / ``{"parcel": {...}}``, a
list as ``{"orders": [...]}``; a refusal as ``{"error": code, "message": ...}`` with a
4xx status.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

JSON = dict[str, Any]
Answer = tuple[int, JSON]

PREFIX: Final = "/_control"
ORDER_COMMANDS: Final = ("order", "orders", "cancel", "ship", "stock")
PARCEL_COMMANDS: Final = ("parcel", "parcels", "advance", "outcome")


class ControlRefused(Exception):
    """A control request the simulator refuses: the HTTP status, a code and why."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> JSON:
        return {"error": self.code, "message": self.message}


@contextmanager
def refused_as(
    errors: type[Exception] | tuple[type[Exception], ...], status: int, code: str
) -> Iterator[None]:
    """Turn a simulator's own refusal (``errors``) into a :class:`ControlRefused`."""
    try:
        yield
    except errors as error:
        raise ControlRefused(status, code, str(error)) from None


@dataclass(frozen=True)
class OrderView:
    """An order as every marketplace's desk shows it; ``details``: the simulator's own view."""

    order_id: str
    status: str
    lines: Sequence[tuple[str, int]]
    details: JSON = field(default_factory=dict)
    tracking_number: str | None = None

    def to_json(self) -> JSON:
        return {
            "order_id": self.order_id,
            "status": self.status,
            "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in self.lines],
            "tracking_number": self.tracking_number,
            "details": self.details,
        }


@dataclass(frozen=True)
class ParcelView:
    tracking_number: str
    provider: str
    status: str

    def to_json(self) -> JSON:
        return {
            "tracking_number": self.tracking_number,
            "provider": self.provider,
            "status": self.status,
        }


class OrderDesk(Protocol):
    """What a marketplace's buyers and merchant do, over its in-process controls."""

    kind: str

    def place(self, lines: Sequence[tuple[str, int]]) -> OrderView:
        """One order, all lines or none; out of stock: ControlRefused 409."""
        ...

    def cancel(self, order_id: str) -> OrderView: ...

    def ship(self, order_id: str, tracking_number: str | None, carrier: str | None) -> OrderView:
        """Ship every unit not shipped (nor cancelled) yet."""
        ...

    def orders(self) -> list[OrderView]: ...

    def stock(self) -> dict[str, int]:
        """The quantity the channel offers now, per SKU."""
        ...


class ParcelDesk(Protocol):
    """What the carriers' control does: labels, and parcels moving on."""

    kind: str

    def create(self, provider: str | None, tracking_number: str | None) -> ParcelView: ...

    def advance(self, tracking_number: str | None, seconds: float | None) -> list[ParcelView]:
        """Move one parcel (or all) ``seconds`` on; None: one step of their journey."""
        ...

    def set_outcome(self, tracking_number: str, outcome: str) -> ParcelView: ...

    def parcels(self) -> list[ParcelView]: ...


def order_control_routes(name: str, sim_type: str, desk: OrderDesk) -> list[Route]:
    """``/_control`` of a marketplace called ``name`` (of channel type ``sim_type``)."""

    def place(body: JSON) -> Answer:
        lines = order_lines(body.get("lines"))
        offered = desk.stock()
        unknown = sorted({sku for sku, _ in lines if sku not in offered})
        if unknown:
            raise ControlRefused(404, "unknown_sku", f"no listing for {', '.join(unknown)}")
        return 201, {"order": desk.place(lines).to_json()}

    def listed(body: JSON) -> Answer:
        return 200, {"orders": [view.to_json() for view in desk.orders()]}

    def cancel(body: JSON) -> Answer:
        return 200, {"order": desk.cancel(required_text(body, "order_id")).to_json()}

    def ship(body: JSON) -> Answer:
        shipped = desk.ship(
            required_text(body, "order_id"),
            optional_text(body, "tracking_number"),
            optional_text(body, "carrier"),
        )
        return 200, {"order": shipped.to_json()}

    def stock(body: JSON) -> Answer:
        return 200, {"stock": desk.stock()}

    return [
        _kind_route(desk.kind, name, sim_type, ORDER_COMMANDS),
        control_route("/orders", "POST", place),
        control_route("/orders", "GET", listed),
        control_route("/cancel", "POST", cancel),
        control_route("/ship", "POST", ship),
        control_route("/stock", "GET", stock),
    ]


def parcel_control_routes(name: str, sim_type: str, desk: ParcelDesk) -> list[Route]:
    """``/_control`` of the carriers' simulator."""

    def create(body: JSON) -> Answer:
        made = desk.create(optional_text(body, "provider"), optional_text(body, "tracking_number"))
        return 201, {"parcel": made.to_json()}

    def listed(body: JSON) -> Answer:
        return 200, {"parcels": [view.to_json() for view in desk.parcels()]}

    def advance(body: JSON) -> Answer:
        seconds = body.get("seconds")
        if seconds is not None and not _is_finite_number(seconds):
            raise ControlRefused(400, "invalid_request", "seconds must be a number")
        moved = desk.advance(optional_text(body, "tracking_number"), seconds)
        return 200, {"parcels": [view.to_json() for view in moved]}

    def outcome(body: JSON) -> Answer:
        view = desk.set_outcome(
            required_text(body, "tracking_number"), required_text(body, "outcome")
        )
        return 200, {"parcel": view.to_json()}

    return [
        _kind_route(desk.kind, name, sim_type, PARCEL_COMMANDS),
        control_route("/parcels", "POST", create),
        control_route("/parcels", "GET", listed),
        control_route("/advance", "POST", advance),
        control_route("/outcome", "POST", outcome),
    ]


def _kind_route(kind: str, name: str, sim_type: str, commands: Sequence[str]) -> Route:
    described = {"kind": kind, "name": name, "type": sim_type, "commands": list(commands)}
    return control_route("/kind", "GET", lambda body: (200, described))


def control_route(path: str, method: str, handle: Callable[[JSON], Answer]) -> Route:
    """``PREFIX + path``: ``handle`` given the request's JSON object (``{}`` for a GET or
    an empty body) answers ``(status, body)``; a :class:`ControlRefused` it raises is
    answered as the refusal."""

    async def endpoint(request: Request) -> Response:
        try:
            body = await _json_body(request) if method == "POST" else {}
            status, answer = handle(body)
        except ControlRefused as refusal:
            return JSONResponse(refusal.body(), status_code=refusal.status)
        return JSONResponse(answer, status_code=status)

    return Route(PREFIX + path, endpoint, methods=[method])


async def _json_body(request: Request) -> JSON:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ControlRefused(400, "invalid_json", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise ControlRefused(400, "invalid_request", "the body must be a JSON object")
    return body


def order_lines(raw: Any) -> list[tuple[str, int]]:
    """``[{"sku", "quantity"?}]`` (quantity 1 when left out) as ``(sku, quantity)``
    pairs; 400 for anything else."""
    if not isinstance(raw, list) or not raw:
        raise ControlRefused(400, "invalid_request", "lines must be a non-empty list")
    lines: list[tuple[str, int]] = []
    for item in raw:
        sku = item.get("sku") if isinstance(item, dict) else None
        quantity = item.get("quantity", 1) if isinstance(item, dict) else None
        if not isinstance(sku, str) or not sku:
            raise ControlRefused(400, "invalid_request", "each line needs a string sku")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise ControlRefused(400, "invalid_request", f"{sku}: quantity must be 1 or more")
        lines.append((sku, quantity))
    return lines


def required_text(body: JSON, name: str) -> str:
    """The body's ``name``, a non-empty string; 400 otherwise."""
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ControlRefused(400, "invalid_request", f"{name} must be a non-empty string")
    return value


def optional_text(body: JSON, name: str) -> str | None:
    """The body's ``name`` when given (then a non-empty string, 400 otherwise), else None."""
    return None if body.get(name) is None else required_text(body, name)


def _is_finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
