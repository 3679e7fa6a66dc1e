"""What UPS's and FedEx's shipping APIs share in the carrier simulator: the services it
sells with their prices, the labels it sold, and how a label reads.

Prices are the simulator's own tariff: a base price per service plus a price per
kilogram, in the shipper's currency. A service is sold on some lanes: within the United
States (``us``), within another country (``domestic``), or between two countries
(``international``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final

from omnisync.sandbox.carriers.state import Provider

JSON = dict[str, Any]
CENT: Final = Decimal("0.01")
POUND_IN_KG: Final = Decimal("0.45359237")
WEIGHT_UNITS: Final = {"KGS": Decimal(1), "KG": Decimal(1), "LBS": POUND_IN_KG, "LB": POUND_IN_KG}
"""UPS says KGS and LBS, FedEx KG and LB."""
POSTAL_COUNTRIES: Final = frozenset({"US", "CA"})
"""Countries whose addresses need a postal code, and a state or province code.

The carriers want the state of a US or Canadian recipient too; the simulator asks it of
the shipper only (the hub's own address, from hub.yaml), so that the orders of the
sandbox marketplace, whose addresses have none, can be labelled."""
CURRENCIES: Final = {"US": "USD", "CA": "CAD", "GB": "GBP", "CH": "CHF", "AU": "AUD"}
EURO_COUNTRIES: Final = frozenset(
    {"AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR"}
    | {"IE", "IT", "LT", "LU", "LV", "MT", "NL", "PT", "SI", "SK"}
)


@dataclass(frozen=True)
class Service:
    """A service the simulator sells, in one carrier's words."""

    code: str
    """The carrier's code: UPS's "03", FedEx's "FEDEX_GROUND"."""
    name: str
    base: Decimal
    per_kg: Decimal
    transit_days: int
    lanes: frozenset[str]
    """Where it is sold: ``us``, ``domestic``, ``international`` (see :func:`lane_of`)."""

    def price(self, weight_kg: Decimal) -> Decimal:
        return (self.base + self.per_kg * weight_kg).quantize(CENT, ROUND_HALF_UP)


def lane_of(origin: str, destination: str) -> str:
    if origin.upper() != destination.upper():
        return "international"
    return "us" if origin.upper() == "US" else "domestic"


def services_between(
    services: tuple[Service, ...], origin: str, destination: str
) -> tuple[Service, ...]:
    lane = lane_of(origin, destination)
    return tuple(service for service in services if lane in service.lanes)


def currency_of(country: str) -> str:
    country = country.upper()
    return "EUR" if country in EURO_COUNTRIES else CURRENCIES.get(country, "USD")


def weight_in_kg(value: Any, unit: Any) -> Decimal | None:
    """A package weight as a carrier sends it (a number or its text, and a unit), in kg;
    None when it is missing, not a positive number, or in a unit the carrier does not take."""
    factor = WEIGHT_UNITS.get(str(unit or "").upper())
    if factor is None or isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        weight = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return weight * factor if weight.is_finite() and weight > 0 else None


def obj(value: Any) -> JSON:
    """``value`` when it is a JSON object, else an empty one (reads of a request's nested
    objects never fail on a missing or odd part)."""
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str:
    """A text field of a request, stripped; "" when absent or not text."""
    return value.strip() if isinstance(value, str) else ""


def first_line(lines: Any) -> str:
    """The first non-blank address line of a list of lines ("" when there is none)."""
    if not isinstance(lines, list):
        return ""
    return next((text(line) for line in lines if text(line)), "")


@dataclass(frozen=True)
class Party:
    """A shipper or a recipient as the label prints it."""

    name: str
    street: str
    city: str
    state: str
    postal_code: str
    country: str

    def line(self) -> str:
        place = " ".join(part for part in (self.state, self.postal_code, self.country) if part)
        return f"{self.name}, {self.street}, {self.city} {place}"


@dataclass(frozen=True)
class BoughtLabel:
    """A label the simulator sold: what tests read back (``CarrierSimulator.labels``)."""

    provider: Provider
    tracking_number: str
    service: str
    label_format: str
    """As the request asked: PNG or ZPL (UPS), PDF or ZPLII (FedEx)."""
    reference: str
    shipper: Party
    recipient: Party
    weight_kg: Decimal
    price: Decimal
    currency: str
    bought_at: datetime

    def to_json(self) -> JSON:
        return {
            "provider": self.provider,
            "tracking_number": self.tracking_number,
            "service": self.service,
            "label_format": self.label_format,
            "reference": self.reference,
            "shipper": self.shipper.line(),
            "recipient": self.recipient.line(),
            "weight_kg": str(self.weight_kg.quantize(Decimal("0.001"))),
            "price": str(self.price),
            "currency": self.currency,
            "bought_at": self.bought_at.isoformat(),
        }

    def printed_lines(self, service_name: str) -> list[str]:
        """What the label shows, top to bottom."""
        return [
            service_name,
            f"FROM: {self.shipper.line()}",
            f"TO: {self.recipient.line()}",
            f"WEIGHT: {self.weight_kg.quantize(Decimal('0.01'))} KG",
            f"REF: {self.reference}",
            f"TRACKING #: {self.tracking_number}",
        ]


Answer = tuple[int, JSON]


class Refused(Exception):
    """A shipping or rating request the carrier turns down, with its answer."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer[1])
        self.answer = answer


@dataclass(frozen=True)
class LabelOrder:
    """A shipping request the carrier accepted, in neutral words: one label per package."""

    service: Service
    shipper: Party
    recipient: Party
    weights_kg: tuple[Decimal, ...]
    label_format: str
    reference: str

    @property
    def currency(self) -> str:
        return currency_of(self.shipper.country)
