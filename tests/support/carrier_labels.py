"""A hub that buys labels from the carrier simulator: hub.yaml with a ship-from address
and a data folder, a carrier channel with the simulator's label credentials, and the
addresses the tests ship between."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from omnisync.core.dto import Address
from omnisync.sandbox.carriers import CarrierSimulator
from tests.support.hub_setup import credentials_block, write_config

SHIP_FROM: Final[Mapping[str, str]] = {
    "name": "Shipping desk",
    "company": "Omnisync Test Co",
    "street1": "1 Main St",
    "city": "Louisville",
    "state_code": "KY",
    "postal_code": "40213",
    "country_code": "US",
    "phone": "5025550100",
}
"""The address of the location `main` in label_hub_yaml."""

BUYER: Final[Mapping[str, Any]] = {
    "name": "Jane Buyer",
    "address1": "2 Elm St",
    "address2": "Apt 5",
    "city": "Chicago",
    "provinceCode": "IL",
    "zip": "60607",
    "countryCodeV2": "US",
    "phone": "3125550199",
}
"""A ship-to as Shopify's GraphQL gives it."""


def ship_from() -> Address:
    return Address(**SHIP_FROM)


def buyer() -> Address:
    return Address(
        name="Jane Buyer",
        street1="2 Elm St",
        street2="Apt 5",
        city="Chicago",
        state_code="IL",
        postal_code="60607",
        country_code="US",
        phone="3125550199",
    )


def label_hub_yaml(data_dir: Path, *, api_token_variable: str | None = None) -> str:
    """Locations `main` (with SHIP_FROM as its address) and `backup` (no address), the
    data folder, and the API token from `api_token_variable` when given."""
    address = "".join(f"      {key}: {value!r}\n" for key, value in SHIP_FROM.items())
    token = f"  api_token: ${{{api_token_variable}}}\n" if api_token_variable else ""
    return (
        f"data_dir: {str(data_dir)!r}\n"
        "http:\n  port: 0\n" + token + "locations:\n"
        "  - code: main\n    address:\n" + address + "  - code: backup\n"
    )


def write_label_config(
    folder: Path,
    channels: dict[str, str],
    data_dir: Path,
    *,
    api_token_variable: str | None = None,
) -> Path:
    """write_config with label_hub_yaml's hub.yaml."""
    config = write_config(folder, channels)
    (config / "hub.yaml").write_text(
        label_hub_yaml(data_dir, api_token_variable=api_token_variable)
    )
    return config


def label_carrier_channel(
    simulator: CarrierSimulator, provider: str, prefix: str
) -> tuple[str, dict[str, str]]:
    """A carrier channel file for `simulator` whose credentials (tracking's and labels')
    come from `${PREFIX_<FIELD>}` variables, and those variables' values."""
    credentials = {**simulator.credentials(provider), **simulator.label_credentials(provider)}
    variables = {field: f"{prefix}_{field.upper()}" for field in credentials}
    text = (
        f"type: carrier\nprovider: {provider}\nendpoint: {simulator.url}\n"
        + credentials_block(variables)
        + "timeout_seconds: 5\n"
    )
    return text, {variables[field]: value for field, value in credentials.items()}
