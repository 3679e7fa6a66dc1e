"""The carrier simulator's shipping side, spoken to directly: the label documents it
writes by hand are valid files, UPS bills the shipper number, FedEx's shipping APIs
refuse a Track API token, and what was sold is read back over `/_control/labels`."""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from omnisync.sandbox.carriers import CarrierSimulator
from omnisync.sandbox.carriers.documents import label_pdf, label_png, label_zpl


@pytest.fixture(scope="module")
def simulator() -> Iterator[CarrierSimulator]:
    with CarrierSimulator() as served:
        yield served


@pytest.fixture
def http(simulator: CarrierSimulator) -> Iterator[httpx.Client]:
    simulator.reset()
    with httpx.Client(base_url=simulator.url, timeout=5.0) as client:
        yield client


def test_the_pdf_is_one_page_a_pdf_reader_reads() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from PyPDF2 import PdfReader

    document = label_pdf(["UPS Ground", "TO: Ada (Lovelace), 12 Market St", "TRACKING #: 1Z1"])
    assert document.startswith(b"%PDF-1.4")
    (page,) = PdfReader(io.BytesIO(document)).pages
    text = page.extract_text()
    assert "TO: Ada (Lovelace), 12 Market St" in text
    assert "TRACKING #: 1Z1" in text


def test_the_png_is_an_image_that_differs_per_number() -> None:
    first, second = label_png("1ZSIM0010300000001"), label_png("1ZSIM0010300000002")
    image = Image.open(io.BytesIO(first))
    assert (image.format, image.size, image.mode) == ("PNG", (400, 600), "L")
    assert image.getpixel((0, 0)) == 0  # the border
    assert first != second


def test_zpl_fields_hold_no_command_characters() -> None:
    zpl = label_zpl(["50% ^off ~today"], "794600000001")
    assert zpl.startswith("^XA\n")
    assert zpl.endswith("^XZ\n")
    assert "^FD50% ?off ?today^FS" in zpl
    assert "^FD794600000001^FS" in zpl


def ups_token(http: httpx.Client, simulator: CarrierSimulator) -> str:
    account = simulator.credentials("ups")
    pair = base64.b64encode(f"{account['client_id']}:{account['client_secret']}".encode())
    answer = http.post(
        "/security/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {pair.decode()}"},
    )
    return str(answer.json()["access_token"])


def ups_ship_body(shipper_number: str) -> dict[str, Any]:
    address = {"AddressLine": ["1 Main St"], "City": "Louisville", "CountryCode": "US"}
    return {
        "ShipmentRequest": {
            "Request": {"TransactionReference": {"CustomerContext": "#7"}},
            "Shipment": {
                "Shipper": {
                    "Name": "Shipping desk",
                    "ShipperNumber": shipper_number,
                    "Address": {**address, "StateProvinceCode": "KY", "PostalCode": "40213"},
                },
                "ShipTo": {"Name": "Ada", "Address": {**address, "PostalCode": "60607"}},
                "Service": {"Code": "03"},
                "Package": {
                    "PackageWeight": {"UnitOfMeasurement": {"Code": "LBS"}, "Weight": "2.2"}
                },
            },
            "LabelSpecification": {"LabelImageFormat": {"Code": "PNG"}},
        }
    }


def test_ups_sells_to_its_shipper_number_only(
    simulator: CarrierSimulator, http: httpx.Client
) -> None:
    headers = {"Authorization": f"Bearer {ups_token(http, simulator)}"}
    path = "/api/shipments/v2409/ship"
    refused = http.post(path, json=ups_ship_body("NOT-OURS"), headers=headers)
    assert refused.status_code == 400
    assert refused.json() == {
        "response": {"errors": [{"code": "120100", "message": "Missing or invalid shipper number"}]}
    }
    number = simulator.label_credentials("ups")["account_number"]
    sold = http.post(path, json=ups_ship_body(number), headers=headers)
    assert sold.status_code == 200, sold.text
    results = sold.json()["ShipmentResponse"]["ShipmentResults"]
    (package,) = results["PackageResults"]
    assert package["TrackingNumber"] == results["ShipmentIdentificationNumber"]
    image = base64.b64decode(package["ShippingLabel"]["GraphicImage"])
    assert Image.open(io.BytesIO(image)).format == "PNG"

    (label,) = http.get("/_control/labels").json()["labels"]
    assert label["tracking_number"] == package["TrackingNumber"]
    assert (label["provider"], label["service"], label["reference"]) == ("ups", "03", "#7")
    assert label["weight_kg"] == "0.998"  # 2.2 lb
    assert simulator.status_of(package["TrackingNumber"]) == "label_created"
    simulator.reset()
    assert simulator.labels() == []


def test_fedex_shipping_refuses_a_track_api_token(
    simulator: CarrierSimulator, http: httpx.Client
) -> None:
    def token(pair: tuple[str, str]) -> str:
        form = {"grant_type": "client_credentials", "client_id": pair[0], "client_secret": pair[1]}
        return str(http.post("/oauth/token", data=form).json()["access_token"])

    track = simulator.credentials("fedex")
    ship = simulator.label_credentials("fedex")
    body = {"accountNumber": {"value": ship["account_number"]}, "requestedShipment": {}}
    with_track_token = http.post(
        "/rate/v1/rates/quotes",
        json=body,
        headers={
            "Authorization": f"Bearer {token((track['track_api_key'], track['track_secret_key']))}"
        },
    )
    assert with_track_token.status_code == 403
    assert with_track_token.json()["errors"][0]["code"] == "FORBIDDEN.ERROR"
    with_ship_token = http.post(
        "/rate/v1/rates/quotes",
        json=body,
        headers={"Authorization": f"Bearer {token((ship['api_key'], ship['secret_key']))}"},
    )
    assert with_ship_token.status_code == 400  # let in: the empty shipment is refused
    assert with_ship_token.json()["errors"][0]["code"] == "SHIPPER.ADDRESS.REQUIRED"
