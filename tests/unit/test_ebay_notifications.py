"""eBay notifications: the endpoint challenge, deliveries signed with a key made here
(ECDSA over SHA-1, as eBay signs), refused when tampered with, unsigned or signed with a
key eBay does not know, the public key kept an hour, and what each topic brings."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from omnisync.connectors.base import InvalidSignature, PayloadError, TransientError
from omnisync.connectors.ebay.connector import EbayConnector
from omnisync.connectors.ebay.settings import EbaySettings
from omnisync.core.dto import QUARANTINED_ORDER, QUARANTINED_WEBHOOK
from omnisync.sandbox.clock import ManualTimer
from tests.contract.kits import KITS, recorded

KIT = KITS["ebay"]
KEY_ID = "8f3c1f2e-49b5-4a57-9a3d-0c5e0bd1a7a1"
KEYS = "/commerce/notification/v1/public_key/"
VERIFICATION_TOKEN = "omnisync_kit-verification_token_0123456789"
ENDPOINT_URL = "https://hub.example.com/webhooks/ebay/my-ebay"
PRIVATE_KEY = ec.generate_private_key(ec.SECP256R1())


def public_pem(key: ec.EllipticCurvePrivateKey, *, line_breaks: bool) -> str:
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return pem if line_breaks else pem.replace("\n", "")


def key_answer(key: ec.EllipticCurvePrivateKey = PRIVATE_KEY, line_breaks: bool = False) -> Any:
    return {"algorithm": "ECDSA", "digest": "SHA1", "key": public_pem(key, line_breaks=line_breaks)}


def signed(
    body: bytes, key: ec.EllipticCurvePrivateKey = PRIVATE_KEY, kid: str = KEY_ID
) -> dict[str, str]:
    signature = key.sign(body, ec.ECDSA(hashes.SHA1()))  # noqa: S303 (eBay's choice)
    header = {
        "alg": "ecdsa",
        "kid": kid,
        "signature": base64.b64encode(signature).decode(),
        "digest": "SHA1",
    }
    return {"X-EBAY-SIGNATURE": base64.b64encode(json.dumps(header).encode()).decode()}


def notification(topic: str, data: dict[str, Any], notification_id: str = "n-1") -> bytes:
    envelope = {
        "metadata": {"topic": topic, "schemaVersion": "1.0", "deprecated": False},
        "notification": {
            "notificationId": notification_id,
            "eventDate": "2026-03-02T13:06:00.000Z",
            "publishDate": "2026-03-02T13:06:01.000Z",
            "publishAttemptCount": 1,
            "data": data,
        },
    }
    return json.dumps(envelope).encode()


DELETION = notification(
    "MARKETPLACE_ACCOUNT_DELETION",
    {
        "username": "kit_buyer_one",
        "userId": "ma8vp1jySJC",
        "eiasToken": "nY+sHZ2PrBmdj6wVnY+sEZ2PrA2dj6wJnY+gAZGEpwmdj6x9nY+seQ==",
    },
)


@pytest.fixture
def timer() -> ManualTimer:
    return ManualTimer()


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=KIT.base_url, assert_all_called=False) as mock:
        mock.post("/identity/v1/oauth2/token").respond(json=recorded("ebay", "token.json"))
        yield mock


def connector(timer: ManualTimer, **settings: Any) -> EbayConnector:
    return EbayConnector(EbaySettings.model_validate({**KIT.settings, **settings}), clock=timer)


def with_notification(timer: ManualTimer, endpoint_url: str | None = ENDPOINT_URL) -> EbayConnector:
    block = {"verification_token": VERIFICATION_TOKEN, "endpoint_url": endpoint_url}
    return connector(timer, notification=block)


# the challenge ------------------------------------------------------------------------


def test_the_challenge_is_answered_with_the_hash_of_code_token_and_endpoint(
    timer: ManualTimer,
) -> None:
    code = "a8628072-3d33-45ee-9004-bee86830a22d"
    expected = hashlib.sha256((code + VERIFICATION_TOKEN + ENDPOINT_URL).encode()).hexdigest()
    assert with_notification(timer).webhook_challenge({"challenge_code": code}) == {
        "challengeResponse": expected
    }


def test_no_challenge_is_answered_without_a_code_a_token_or_an_endpoint(
    timer: ManualTimer,
) -> None:
    assert with_notification(timer).webhook_challenge({}) is None
    assert connector(timer).webhook_challenge({"challenge_code": "c"}) is None
    assert with_notification(timer, None).webhook_challenge({"challenge_code": "c"}) is None


# signatures ---------------------------------------------------------------------------


def test_ebay_answers_deliveries_with_204_and_refusals_with_412() -> None:
    assert (EbayConnector.webhook_accepted_status, EbayConnector.webhook_rejected_status) == (
        204,
        412,
    )


@pytest.mark.parametrize("line_breaks", [False, True])
def test_a_signed_account_deletion_erases_the_buyer(
    router: respx.MockRouter, timer: ManualTimer, line_breaks: bool
) -> None:
    keys = router.get(KEYS + KEY_ID).respond(json=key_answer(line_breaks=line_breaks))
    events = connector(timer).parse_webhook(signed(DELETION), DELETION)
    assert events.erased_buyers == ("kit_buyer_one",)
    assert not events.orders
    # the key is read with the app's own token
    assert keys.calls[0].request.headers["Authorization"].startswith("Bearer ")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-EBAY-SIGNATURE": "not base64 at all!"},
        {"X-EBAY-SIGNATURE": base64.b64encode(b'{"alg": "ecdsa"}').decode()},
        {
            "X-EBAY-SIGNATURE": base64.b64encode(
                json.dumps({"alg": "rsa", "kid": KEY_ID, "signature": "AA=="}).encode()
            ).decode()
        },
    ],
    ids=["missing", "not base64", "no kid", "not ecdsa"],
)
def test_a_delivery_without_a_readable_signature_is_refused(
    router: respx.MockRouter, timer: ManualTimer, headers: dict[str, str]
) -> None:
    keys = router.get(KEYS + KEY_ID).respond(json=key_answer())
    with pytest.raises(InvalidSignature):
        connector(timer).parse_webhook(headers, DELETION)
    assert not keys.called


def test_a_tampered_body_is_refused(router: respx.MockRouter, timer: ManualTimer) -> None:
    router.get(KEYS + KEY_ID).respond(json=key_answer())
    tampered = DELETION.replace(b"kit_buyer_one", b"kit_buyer_two")
    with pytest.raises(InvalidSignature, match="does not verify"):
        connector(timer).parse_webhook(signed(DELETION), tampered)


def test_a_signature_by_another_key_is_refused(
    router: respx.MockRouter, timer: ManualTimer
) -> None:
    router.get(KEYS + KEY_ID).respond(json=key_answer())
    stranger = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(InvalidSignature):
        connector(timer).parse_webhook(signed(DELETION, stranger), DELETION)


def test_a_key_ebay_does_not_know_is_refused(router: respx.MockRouter, timer: ManualTimer) -> None:
    router.get(KEYS + "unknown-kid").respond(
        404, json={"errors": [{"errorId": 195001, "message": "The specified key id is invalid."}]}
    )
    with pytest.raises(InvalidSignature, match="does not know"):
        connector(timer).parse_webhook(signed(DELETION, kid="unknown-kid"), DELETION)


def test_the_key_is_kept_an_hour(router: respx.MockRouter, timer: ManualTimer) -> None:
    keys = router.get(KEYS + KEY_ID).respond(json=key_answer())
    ebay = connector(timer)
    ebay.parse_webhook(signed(DELETION), DELETION)
    timer.advance(3599)
    ebay.parse_webhook(signed(DELETION), DELETION)
    assert keys.call_count == 1
    timer.advance(1)
    ebay.parse_webhook(signed(DELETION), DELETION)
    assert keys.call_count == 2


# topics -------------------------------------------------------------------------------


def test_an_order_topic_brings_the_order_as_get_order_says(
    router: respx.MockRouter, timer: ManualTimer
) -> None:
    router.get(KEYS + KEY_ID).respond(json=key_answer())
    get_order = router.get("/sell/fulfillment/v1/order/14-11111-00003").respond(
        json=recorded("ebay", "get_order_cancel_requested.json")
    )
    for topic in ("ORDER_CONFIRMATION", "ITEM_MARKED_SHIPPED"):
        body = notification(topic, {"orderId": "14-11111-00003"})
        (order,) = connector(timer).parse_webhook(signed(body), body).orders
        assert order.external_id == "14-11111-00003"
        assert order.lines[0].buyer_cancel_requested
    assert get_order.call_count == 2


def test_an_order_ebay_cannot_find_keeps_the_notification_to_ask_again(
    router: respx.MockRouter, timer: ManualTimer
) -> None:
    router.get(KEYS + KEY_ID).respond(json=key_answer())
    router.get("/sell/fulfillment/v1/order/14-11111-00009").respond(404)
    body = notification("ORDER_CONFIRMATION", {"orderId": "14-11111-00009"})
    ebay = connector(timer)
    with pytest.raises(PayloadError) as raised:
        ebay.parse_webhook(signed(body), body)
    assert raised.value.raw == body.decode()
    assert raised.value.external_id == "14-11111-00009"
    router.get("/sell/fulfillment/v1/order/14-11111-00009").respond(
        json={**recorded("ebay", "get_order_cancel_requested.json"), "orderId": "14-11111-00009"}
    )
    (order,) = ebay.map_quarantined(QUARANTINED_WEBHOOK, raised.value.raw).orders
    assert order.external_id == "14-11111-00009"


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"<html>not json</html>", "not JSON"),
        (json.dumps({"metadata": {}}).encode(), "no metadata or notification"),
        (notification("ORDER_CONFIRMATION", {}), "without data.orderId"),
        (notification("MARKETPLACE_ACCOUNT_DELETION", {"userId": "x"}), "without data.username"),
    ],
)
def test_a_signed_body_that_cannot_be_read_is_a_payload_error_with_its_text(
    router: respx.MockRouter, timer: ManualTimer, body: bytes, said: str
) -> None:
    router.get(KEYS + KEY_ID).respond(json=key_answer())
    with pytest.raises(PayloadError, match=said) as raised:
        connector(timer).parse_webhook(signed(body), body)
    assert raised.value.raw == body.decode()


def test_other_topics_bring_nothing(router: respx.MockRouter, timer: ManualTimer) -> None:
    router.get(KEYS + KEY_ID).respond(json=key_answer())
    body = notification("ITEM_AVAILABILITY", {"itemId": "110000000001"})
    events = connector(timer).parse_webhook(signed(body), body)
    assert (events.orders, events.erased_buyers, events.quantities) == ((), (), ())


def test_a_delivery_is_named_by_its_notification_id_and_topic(timer: ManualTimer) -> None:
    ebay = connector(timer)
    assert ebay.webhook_delivery({}, DELETION) == ("n-1", "MARKETPLACE_ACCOUNT_DELETION")
    assert ebay.webhook_delivery({}, b"{not json") == (None, "")


def test_kept_payloads_map_again_without_a_signature(timer: ManualTimer) -> None:
    ebay = connector(timer)
    assert ebay.map_quarantined(QUARANTINED_WEBHOOK, DELETION.decode()).erased_buyers == (
        "kit_buyer_one",
    )
    order = recorded("ebay", "orders_page.json")["orders"][0]
    (mapped,) = ebay.map_quarantined(QUARANTINED_ORDER, json.dumps(order)).orders
    assert mapped.external_id == "14-11111-00001"
    (again,) = ebay.map_quarantined(QUARANTINED_WEBHOOK, json.dumps(order)).orders
    assert again.external_id == "14-11111-00001"
    with pytest.raises(PayloadError):
        ebay.map_quarantined(QUARANTINED_WEBHOOK, "not json")


def test_a_key_that_is_not_an_ec_key_is_refused(
    router: respx.MockRouter, timer: ManualTimer
) -> None:
    router.get(KEYS + KEY_ID).respond(
        json={
            "algorithm": "ECDSA",
            "digest": "SHA1",
            "key": "-----BEGIN PUBLIC KEY-----AAAA-----END PUBLIC KEY-----",
        }
    )
    with pytest.raises(InvalidSignature, match="does not decode"):
        connector(timer).parse_webhook(signed(DELETION), DELETION)


def test_a_key_fetch_that_fails_is_not_a_refusal(
    router: respx.MockRouter, timer: ManualTimer
) -> None:
    """eBay sends the delivery again when it is not answered 204 or 412: a 5xx of ours."""
    router.get(KEYS + KEY_ID).mock(return_value=httpx.Response(503))
    with pytest.raises(TransientError):
        connector(timer).parse_webhook(signed(DELETION), DELETION)
