"""Tests against the eBay simulator: an API client signed in as the seller, the token
endpoint called as an app does, and a loopback receiver of signed notifications that
checks each signature the way eBay's SDKs do (and answers the endpoint challenge)."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from omnisync.sandbox.clock import ManualClock
from omnisync.sandbox.ebay import EbaySimulator
from omnisync.sandbox.ebay.auth import basic_authorization
from tests.support.loopback import LoopbackEndpoint

INVENTORY = "/sell/inventory/v1"
FULFILLMENT = "/sell/fulfillment/v1"
TOKEN = "/identity/v1/oauth2/token"
APP_SCOPE = "https://api.ebay.com/oauth/api_scope"


def clock_of(simulator: EbaySimulator) -> ManualClock:
    """The simulator's clock, which the tests make a ManualClock."""
    clock = simulator.clock
    assert isinstance(clock, ManualClock)
    return clock


def api(simulator: EbaySimulator, token: str | None = None) -> httpx.Client:
    """An HTTP client on the simulator, with a bearer token (a fresh User token unless
    ``token`` is given)."""
    bearer = token if token is not None else simulator.user_token()
    return httpx.Client(
        base_url=simulator.url, headers={"Authorization": f"Bearer {bearer}"}, timeout=10
    )


def token_call(
    simulator: EbaySimulator,
    form: dict[str, str],
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
) -> httpx.Response:
    """``POST /identity/v1/oauth2/token`` with the app's Basic credentials (or others)."""
    credentials = simulator.credentials
    authorization = basic_authorization(
        client_id if client_id is not None else credentials.client_id,
        client_secret if client_secret is not None else credentials.client_secret,
    )
    return httpx.post(
        simulator.url + TOKEN, data=form, headers={"Authorization": authorization}, timeout=10
    )


def signature_verifies(header: str, body: bytes, public_key_pem: str) -> bool:
    """Whether ``X-EBAY-SIGNATURE`` signs ``body`` with the key (ECDSA, SHA-1)."""
    document = json.loads(base64.b64decode(header))
    key = load_pem_public_key(public_key_pem.encode())
    assert isinstance(key, ec.EllipticCurvePublicKey)
    try:
        key.verify(
            base64.b64decode(document["signature"]),
            body,
            ec.ECDSA(hashes.SHA1()),  # noqa: S303 (eBay's digest)
        )
    except InvalidSignature:
        return False
    return True


def signature_document(header: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.b64decode(header))
    return decoded


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded


class NotificationReceiver(LoopbackEndpoint):
    """A loopback endpoint as the hub's: POSTs are kept and answered 204 when the
    signature verifies with ``public_key_pem`` (412 when not); GET answers eBay's
    challenge for ``verification_token`` and ``endpoint_url`` (its own URL by default)."""

    def __init__(self, public_key_pem: str, verification_token: str = "") -> None:
        super().__init__(
            "/ebay",
            [
                Route("/ebay", self._delivery, methods=["POST"]),
                Route("/ebay", self._challenge, methods=["GET"]),
            ],
        )
        self.public_key_pem = public_key_pem
        self.verification_token = verification_token
        self.endpoint_url = ""
        self.received: list[Delivery] = []
        self._lock = threading.Lock()

    async def _delivery(self, request: Request) -> Response:
        body = await request.body()
        delivery = Delivery(dict(request.headers), body)
        with self._lock:
            self.received.append(delivery)
        header = request.headers.get("x-ebay-signature", "")
        good = bool(header) and signature_verifies(header, body, self.public_key_pem)
        return Response(status_code=204 if good else 412)

    async def _challenge(self, request: Request) -> Response:
        code = request.query_params.get("challenge_code", "")
        material = code + self.verification_token + (self.endpoint_url or self.url)
        return JSONResponse({"challengeResponse": hashlib.sha256(material.encode()).hexdigest()})

    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self.received)
