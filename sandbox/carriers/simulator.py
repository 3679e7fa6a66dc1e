"""The ``carrier`` simulator: UPS, FedEx and DHL tracking, and UPS's and FedEx's labels,
on one loopback server.

One server speaks the three carriers' own APIs, at the paths karrio calls, so any
carrier channel points its ``endpoint`` at the same URL::

    from omnisync.sandbox.carriers import CarrierSimulator

    simulator = CarrierSimulator(seconds_per_step=60.0)   # clock=ManualClock(...) optional
    url = simulator.start()                                # http://127.0.0.1:PORT
    number = simulator.create_shipment(provider="ups")     # a fresh label: "1ZSIM0010300000001"
    simulator.advance(60.0)               # every parcel one step further (or number=...)
    simulator.set_outcome(number, "exception")           # or "returned_to_sender"
    simulator.status_of(number)                           # "label_created", "in_transit", ...
    simulator.inject("ups.track", 500, count=3)           # faults, see below
    simulator.expire_tokens()                             # every issued token is refused now
    simulator.revoke_credentials("ups")                   # the account stops working
    simulator.labels()                    # every label sold: [{"tracking_number", ...}]
    simulator.stop()

A channel file for it (``provider`` is ups, fedex or dhl_universal)::

    type: carrier
    provider: ups
    endpoint: http://127.0.0.1:PORT
    credentials: {client_id: fake-ups-client-id, client_secret: fake-ups-client-secret}

``simulator.credentials(provider)`` gives that mapping for each provider:

    ups            client_id fake-ups-client-id, client_secret fake-ups-client-secret
    fedex          track_api_key fake-fedex-track-api-key,
                   track_secret_key fake-fedex-track-secret-key
    dhl_universal  consumer_key fake-dhl-api-key, consumer_secret fake-dhl-api-secret

Buying labels takes more: ``simulator.label_credentials(provider)`` (UPS: the
shipper's ``account_number``; FedEx: the Ship API project's ``api_key`` and
``secret_key``, and ``account_number``), added to the same ``credentials:``.

Anything else is refused the way the carrier refuses it (UPS and FedEx at their OAuth
token endpoints, DHL on every call).

Endpoints (the names faults are injected for, ``"*"`` for all):

    ups.token    POST /security/v1/oauth/token     (client credentials, HTTP Basic)
    ups.track    GET  /api/track/v1/details/{number}
    fedex.token  POST /oauth/token                 (client credentials, form)
    fedex.track  POST /track/v1/trackingnumbers    (up to 30 numbers)
    fedex.pod    POST /track/v1/trackingdocuments  (proof of delivery: needs a token)
    dhl.track    GET  /track/shipments?trackingNumber=...   (DHL-API-Key header)
    ups.rate     POST /api/rating/{version}/{option}  (Shop or Rate; ups_shipping.py)
    ups.ship     POST /api/shipments/{version}/ship    (a label per package)
    fedex.rate   POST /rate/v1/rates/quotes            (a ship-scope token; fedex_shipping.py)
    fedex.ship   POST /ship/v1/shipments

A label sold is a fresh tracking number in the carrier's format (UPS ``1Z...``, FedEx
12 digits) that the tracking endpoints know at once, as a parcel whose label was
created; its document is a PDF (FedEx), a PNG that karrio turns into a PDF (UPS), or
ZPL text, as asked (documents.py). ``labels()`` (and ``GET /_control/labels``) lists
what was sold.

Shipments move from label_created to in_transit, out_for_delivery and delivered, one
step every ``seconds_per_step`` of the simulator's clock (per shipment if given to
``create_shipment``); ``set_outcome`` stops a parcel where it is with an exception
scan, or sends it back to the shipper. Unknown numbers get each carrier's own "not
found" answer. Faults (:mod:`sandbox.faults`: 429, 500, 503, slow, timeout,
malformed_json) answer in the dialect of the endpoint they hit.

``/_control`` (:mod:`sandbox.control_api`, :mod:`sandbox.carriers.desk`) makes labels
and moves parcels over HTTP, for ``python -m omnisync.sandbox control``; ``GET
/_control/labels`` answers ``{"labels": [...]}``, the labels sold through the APIs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp

from omnisync.hub.http_server import DEFAULT_HOST
from omnisync.sandbox.base import JSON, SimulatedMarketplace
from omnisync.sandbox.carriers import dhl, fedex, fedex_shipping, ups, ups_shipping
from omnisync.sandbox.carriers.auth import (
    CHANNEL_CREDENTIALS,
    LABEL_CREDENTIALS,
    SHIP_SCOPE,
    Gatekeeper,
    bearer_token,
)
from omnisync.sandbox.carriers.desk import CarrierDesk
from omnisync.sandbox.carriers.shipping import BoughtLabel, LabelOrder, Refused
from omnisync.sandbox.carriers.state import (
    CarrierSimulatorError,
    Outcome,
    ShipmentBook,
    Stage,
    provider_named,
)
from omnisync.sandbox.clock import Clock
from omnisync.sandbox.control_api import control_route, parcel_control_routes
from omnisync.sandbox.oauth import token_form
from omnisync.sandbox.ratelimit import format_retry_after

__all__ = ["CarrierSimulator", "CarrierSimulatorError", "Outcome", "Stage"]

Answer = tuple[int, dict[str, Any]]

DEFAULT_SECONDS_PER_STEP: Final = 60.0


@dataclass(frozen=True)
class _Dialect:
    """How one endpoint's carrier lets requests in and words the answers of the pipeline."""

    authorised: Callable[[Request], bool]
    unauthorised: Callable[[], Answer]
    server_error: Callable[[], Answer]
    unavailable: Callable[[], Answer]
    throttled: Callable[[], Answer]


_speaking: ContextVar[_Dialect] = ContextVar("carrier_dialect")


def _always(request: Request) -> bool:
    # Token endpoints check the client credentials themselves and answer in their own words.
    return True


class CarrierSimulator(SimulatedMarketplace):
    """UPS, FedEx and DHL tracking, UPS's and FedEx's rates and labels (and the OAuth
    endpoints in front of them) on loopback."""

    type: ClassVar[str] = "carrier"

    def __init__(
        self,
        *,
        name: str = "carriers",
        seconds_per_step: float = DEFAULT_SECONDS_PER_STEP,
        rate: float = 50.0,
        burst: int = 100,
        rate_scale: float = 1.0,
        clock: Clock | None = None,
        host: str = DEFAULT_HOST,
        port: int = 0,
    ) -> None:
        super().__init__(
            name=name,
            rate=rate,
            burst=burst,
            rate_scale=rate_scale,
            clock=clock,
            host=host,
            port=port,
        )
        self.shipments = ShipmentBook(seconds_per_step)
        self.gate = Gatekeeper()
        self._labels: list[BoughtLabel] = []
        ups_dialect = _Dialect(
            self._ups_authorised,
            lambda: ups.BAD_TOKEN,
            lambda: ups.SERVER_ERROR,
            lambda: ups.UNAVAILABLE,
            lambda: ups.THROTTLED,
        )
        fedex_dialect = _Dialect(
            self._fedex_authorised,
            fedex.bad_token,
            fedex.server_error,
            fedex.unavailable,
            fedex.throttled,
        )
        self._dialects: dict[str, _Dialect] = {
            "ups.token": replace(ups_dialect, authorised=_always),
            "ups.track": ups_dialect,
            "ups.rate": ups_dialect,
            "ups.ship": ups_dialect,
            "fedex.token": replace(fedex_dialect, authorised=_always),
            "fedex.track": fedex_dialect,
            "fedex.pod": fedex_dialect,
            "fedex.rate": fedex_dialect,
            "fedex.ship": fedex_dialect,
            "dhl.track": _Dialect(
                self._dhl_authorised,
                lambda: dhl.BAD_KEY,
                lambda: dhl.SERVER_ERROR,
                lambda: dhl.UNAVAILABLE,
                lambda: dhl.THROTTLED,
            ),
        }

    # control ----------------------------------------------------------------------------

    def create_shipment(
        self,
        tracking_number: str | None = None,
        provider: str = "ups",
        seconds_per_step: float | None = None,
    ) -> str:
        """A fresh label with ``provider``; its tracking number (made up when not given)."""
        with self._lock:
            shipment = self.shipments.create(
                provider, self.clock.now(), tracking_number, seconds_per_step
            )
            return shipment.number

    def advance(self, seconds: float, number: str | None = None) -> None:
        """Move every parcel (or one) on as if ``seconds`` had passed: its scans move back
        in time, the clock stays where it is."""
        with self._lock:
            self.shipments.advance(seconds, number)

    def set_outcome(self, number: str, outcome: str) -> None:
        """Stop the parcel with an exception scan, or send it back (``returned_to_sender``)."""
        with self._lock:
            self.shipments.set_outcome(number, outcome, self.clock.now())

    def status_of(self, number: str) -> Stage:
        with self._lock:
            return self.shipments.get(number).stage(self.clock.now())

    def parcels(self) -> list[JSON]:
        """Every parcel: ``tracking_number``, ``provider``, ``status`` (its stage now) and
        ``seconds_per_step``."""
        with self._lock:
            now = self.clock.now()
            return [
                {
                    "tracking_number": shipment.number,
                    "provider": shipment.provider,
                    "status": shipment.stage(now),
                    "seconds_per_step": shipment.seconds_per_step,
                }
                for shipment in self.shipments.shipments.values()
            ]

    def credentials(self, provider: str) -> dict[str, str]:
        """The ``credentials:`` of a channel the simulator lets in, for ``provider``."""
        return dict(CHANNEL_CREDENTIALS[provider_named(provider)])

    def label_credentials(self, provider: str) -> dict[str, str]:
        """What a channel's ``credentials:`` adds to :meth:`credentials` to buy labels
        (empty for DHL: the simulator sells no DHL labels)."""
        return dict(LABEL_CREDENTIALS.get(provider_named(provider), {}))

    def labels(self) -> list[JSON]:
        """Every label sold through the APIs, oldest first: ``provider``,
        ``tracking_number``, ``service`` (the carrier's code), ``label_format``,
        ``reference``, ``shipper``, ``recipient``, ``weight_kg``, ``price``, ``currency``,
        ``bought_at``."""
        with self._lock:
            return [label.to_json() for label in self._labels]

    def expire_tokens(self) -> None:
        """Every token issued so far is refused from now on."""
        self.gate.expire_tokens()

    def revoke_credentials(self, provider: str) -> None:
        """The carrier stops accepting ``provider``'s fake account (tokens included)."""
        self.gate.revoke(provider_named(provider))

    def tokens_issued(self, provider: str) -> int:
        return self.gate.issued.get(provider_named(provider), 0)

    def _reset_state(self) -> None:
        self.shipments = ShipmentBook(self.shipments.seconds_per_step)
        self.gate = Gatekeeper()
        self._labels = []

    # pipeline ---------------------------------------------------------------------------

    def build_app(self) -> ASGIApp:
        desk = CarrierDesk(self)
        return Router(
            routes=[
                Route(ups.TOKEN_PATH, self._ups_token, methods=["POST"]),
                Route(ups.TRACK_PATH, self._ups_track, methods=["GET"]),
                Route(fedex.TOKEN_PATH, self._fedex_token, methods=["POST"]),
                Route(fedex.TRACK_PATH, self._fedex_track, methods=["POST"]),
                Route(fedex.PROOF_OF_DELIVERY_PATH, self._fedex_pod, methods=["POST"]),
                Route(dhl.TRACK_PATH, self._dhl_track, methods=["GET"]),
                Route(ups_shipping.RATE_PATH, self._ups_rate, methods=["POST"]),
                Route(ups_shipping.SHIP_PATH, self._ups_ship, methods=["POST"]),
                Route(fedex_shipping.RATE_PATH, self._fedex_rate, methods=["POST"]),
                Route(fedex_shipping.SHIP_PATH, self._fedex_ship, methods=["POST"]),
                *parcel_control_routes(self.name, self.type, desk),
                control_route("/labels", "GET", lambda body: (200, {"labels": desk.labels()})),
            ]
        )

    async def _admitted(self, request: Request, endpoint: str) -> Response | None:
        marker = _speaking.set(self._dialects[endpoint])
        try:
            return await self.admit(request, endpoint)
        finally:
            _speaking.reset(marker)

    def is_authorised(self, request: Request) -> bool:
        return _speaking.get().authorised(request)

    def unauthorised_response(self) -> Response:
        return self._answer(_speaking.get().unauthorised())

    def server_error_response(self) -> Response:
        return self._answer(_speaking.get().server_error())

    def service_unavailable_response(self) -> Response:
        return self._answer(_speaking.get().unavailable())

    def rate_limited_response(self, wait_s: float) -> Response:
        return self._answer(
            _speaking.get().throttled(), {"Retry-After": format_retry_after(wait_s)}
        )

    def _answer(self, answer: Answer, headers: dict[str, str] | None = None) -> Response:
        status, body = answer
        return self.json_response(body, status, headers)

    def _ups_authorised(self, request: Request) -> bool:
        return self.gate.valid(bearer_token(request.headers.get("authorization")), "ups")

    def _fedex_authorised(self, request: Request) -> bool:
        return self.gate.valid(bearer_token(request.headers.get("authorization")), "fedex")

    def _dhl_authorised(self, request: Request) -> bool:
        return self.gate.admits_key("dhl_universal", request.headers.get("dhl-api-key") or "")

    # endpoints ----------------------------------------------------------------------------

    # Bodies are read before admission: a slow or timeout fault waits first, and the
    # client may be gone by then.

    async def _ups_token(self, request: Request) -> Response:
        form = token_form(await request.body(), request.headers.get("content-type", ""))
        refusal = await self._admitted(request, "ups.token")
        if refusal is not None:
            return refusal
        return self._answer(ups.token_answer(request.headers.get("authorization"), form, self.gate))

    async def _ups_track(self, request: Request) -> Response:
        refusal = await self._admitted(request, "ups.track")
        if refusal is not None:
            return refusal
        number = request.path_params["number"]
        with self._lock:
            answer = ups.track_answer(
                number, request.headers, self.shipments.find(number, "ups"), self.clock.now()
            )
        return self._answer(answer)

    async def _fedex_token(self, request: Request) -> Response:
        form = token_form(await request.body(), request.headers.get("content-type", ""))
        refusal = await self._admitted(request, "fedex.token")
        if refusal is not None:
            return refusal
        return self._answer(fedex.token_answer(form, self.gate))

    async def _fedex_track(self, request: Request) -> Response:
        body = _json_or_none(await request.body())
        refusal = await self._admitted(request, "fedex.track")
        if refusal is not None:
            return refusal
        with self._lock:
            now = self.clock.now()
            answer = fedex.track_answer(
                body, lambda number: self.shipments.find(number, "fedex"), now
            )
        return self._answer(answer)

    async def _fedex_pod(self, request: Request) -> Response:
        refusal = await self._admitted(request, "fedex.pod")
        return refusal if refusal is not None else self._answer(fedex.proof_of_delivery_answer())

    async def _dhl_track(self, request: Request) -> Response:
        refusal = await self._admitted(request, "dhl.track")
        if refusal is not None:
            return refusal
        number = request.query_params.get("trackingNumber")
        with self._lock:
            shipment = self.shipments.find(number, "dhl_universal") if number else None
            answer = dhl.track_answer(number, shipment, self.clock.now())
        return self._answer(answer)

    async def _ups_rate(self, request: Request) -> Response:
        body = _json_or_none(await request.body())
        refusal = await self._admitted(request, "ups.rate")
        if refusal is not None:
            return refusal
        option = request.path_params["option"]
        if request.query_params.get("additionalinfo") == "timeintransit":
            option += "timeintransit"
        return self._answer(ups_shipping.rate_answer(body, option, self.clock.now()))

    async def _ups_ship(self, request: Request) -> Response:
        body = _json_or_none(await request.body())
        refusal = await self._admitted(request, "ups.ship")
        if refusal is not None:
            return refusal
        try:
            order = ups_shipping.read_shipment(body)
        except Refused as refused:
            return self._answer(refused.answer)
        return self._answer(ups_shipping.ship_answer(order, self._sell("ups", order)))

    async def _fedex_rate(self, request: Request) -> Response:
        body = _json_or_none(await request.body())
        refusal = await self._admitted(request, "fedex.rate") or self._fedex_shipping(request)
        if refusal is not None:
            return refusal
        return self._answer(fedex_shipping.rate_answer(body, self.clock.now()))

    async def _fedex_ship(self, request: Request) -> Response:
        body = _json_or_none(await request.body())
        refusal = await self._admitted(request, "fedex.ship") or self._fedex_shipping(request)
        if refusal is not None:
            return refusal
        try:
            order = fedex_shipping.read_shipment(body)
        except Refused as refused:
            return self._answer(refused.answer)
        labels = self._sell("fedex", order)
        return self._answer(fedex_shipping.ship_answer(order, labels, self.clock.now()))

    def _fedex_shipping(self, request: Request) -> Response | None:
        """FedEx's Rate and Ship APIs belong to the Ship API project: a Track API token
        is refused."""
        token = bearer_token(request.headers.get("authorization"))
        if self.gate.scope_of(token) != SHIP_SCOPE:
            return self._answer(fedex_shipping.forbidden())
        return None

    def _sell(self, provider: str, order: LabelOrder) -> list[BoughtLabel]:
        """One label per package: a fresh parcel each, known to tracking at once."""
        with self._lock:
            now = self.clock.now()
            sold = [
                BoughtLabel(
                    provider=provider_named(provider),
                    tracking_number=self.shipments.create(provider, now).number,
                    service=order.service.code,
                    label_format=order.label_format,
                    reference=order.reference,
                    shipper=order.shipper,
                    recipient=order.recipient,
                    weight_kg=weight,
                    price=order.service.price(weight),
                    currency=order.currency,
                    bought_at=now,
                )
                for weight in order.weights_kg
            ]
            self._labels.extend(sold)
            return sold


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None
