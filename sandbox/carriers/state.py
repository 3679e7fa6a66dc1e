"""Parcels of the carrier simulator, and how they move over time.

A parcel reaches one stage per ``seconds_per_step`` from its label: label_created,
in_transit, out_for_delivery, delivered. An outcome set on the way stops it there
(``exception``: a scan saying why it did not go on) or sends it back to the shipper
(``returned_to_sender``). Scans are computed from the clock on each read, so a test
moves parcels by moving the clock (or with :meth:`ShipmentBook.advance`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Literal, get_args

Stage = Literal[
    "label_created",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "exception",
    "returned_to_sender",
]
Outcome = Literal["exception", "returned_to_sender"]
Provider = Literal["ups", "fedex", "dhl_universal"]

JOURNEY: Final[tuple[Stage, ...]] = ("label_created", "in_transit", "out_for_delivery", "delivered")
OUTCOMES: Final[tuple[Outcome, ...]] = get_args(Outcome)
PROVIDERS: Final[tuple[Provider, ...]] = get_args(Provider)


class CarrierSimulatorError(ValueError):
    """A control call the simulator refuses (unknown parcel, bad outcome, ...)."""


@dataclass(frozen=True)
class Place:
    city: str
    state: str
    postal_code: str
    country: str


ORIGIN: Final = Place("LOUISVILLE", "KY", "40213", "US")
SORT_HUB: Final = Place("HODGKINS", "IL", "60525", "US")
DESTINATION: Final = Place("CHICAGO", "IL", "60607", "US")
STAGE_PLACES: Final[dict[Stage, Place]] = {
    "label_created": ORIGIN,
    "in_transit": SORT_HUB,
    "out_for_delivery": DESTINATION,
    "delivered": DESTINATION,
    "exception": DESTINATION,
    "returned_to_sender": SORT_HUB,
}


@dataclass(frozen=True)
class Scan:
    stage: Stage
    at: datetime
    place: Place


@dataclass
class SimulatedShipment:
    number: str
    provider: Provider
    labelled_at: datetime
    seconds_per_step: float
    outcome: Outcome | None = None
    outcome_at: datetime | None = None

    def scans(self, now: datetime) -> list[Scan]:
        """What the carrier has scanned so far, oldest first."""
        cutoff = self.outcome_at if self.outcome_at is not None else now
        reached = [
            Scan(stage, at, STAGE_PLACES[stage])
            for stage, at in zip(JOURNEY, self._journey_times(), strict=True)
            if at <= cutoff
        ]
        if self.outcome is not None and self.outcome_at is not None:
            reached.append(Scan(self.outcome, self.outcome_at, STAGE_PLACES[self.outcome]))
        return reached

    def stage(self, now: datetime) -> Stage:
        return self.scans(now)[-1].stage

    def estimated_delivery(self) -> datetime:
        return self._journey_times()[-1]

    def _journey_times(self) -> list[datetime]:
        step = timedelta(seconds=self.seconds_per_step)
        return [self.labelled_at + step * index for index in range(len(JOURNEY))]


@dataclass
class ShipmentBook:
    """Every parcel the simulator knows, by tracking number."""

    seconds_per_step: float
    shipments: dict[str, SimulatedShipment] = field(default_factory=dict)
    _issued: int = 0

    def create(
        self,
        provider: str,
        now: datetime,
        tracking_number: str | None = None,
        seconds_per_step: float | None = None,
    ) -> SimulatedShipment:
        carrier = provider_named(provider)
        step = self.seconds_per_step if seconds_per_step is None else seconds_per_step
        if not math.isfinite(step) or step <= 0:
            raise CarrierSimulatorError("seconds_per_step must be a positive number")
        if tracking_number is not None and not tracking_number.strip():
            raise CarrierSimulatorError("tracking_number must not be empty")
        number = tracking_number or self._next_number(carrier)
        if number in self.shipments:
            raise CarrierSimulatorError(f"tracking number {number!r} already exists")
        shipment = SimulatedShipment(number, carrier, now, step)
        self.shipments[number] = shipment
        return shipment

    def get(self, number: str) -> SimulatedShipment:
        try:
            return self.shipments[number]
        except KeyError:
            raise CarrierSimulatorError(f"unknown tracking number {number!r}") from None

    def find(self, number: str, provider: Provider) -> SimulatedShipment | None:
        """The parcel as that carrier knows it: another carrier's parcel is unknown to it."""
        shipment = self.shipments.get(number)
        return shipment if shipment is not None and shipment.provider == provider else None

    def set_outcome(self, number: str, outcome: str, now: datetime) -> None:
        if outcome not in OUTCOMES:
            raise CarrierSimulatorError(
                f"unknown outcome {outcome!r} (one of {', '.join(OUTCOMES)})"
            )
        shipment = self.get(number)
        if shipment.stage(now) in ("delivered", *OUTCOMES):
            raise CarrierSimulatorError(f"{number} is {shipment.stage(now)} already")
        shipment.outcome = outcome
        shipment.outcome_at = now

    def advance(self, seconds: float, number: str | None = None) -> None:
        """Move parcels ``seconds`` further along, whatever the clock says."""
        if not math.isfinite(seconds) or seconds < 0:
            raise CarrierSimulatorError("seconds must be a non-negative number")
        shift = timedelta(seconds=seconds)
        for shipment in [self.get(number)] if number is not None else self.shipments.values():
            shipment.labelled_at -= shift
            if shipment.outcome_at is not None:
                shipment.outcome_at -= shift

    def _next_number(self, provider: Provider) -> str:
        # Numbers in each carrier's own format (UPS 1Z + 16, FedEx 12 digits, DHL 10).
        formats = {"ups": "1ZSIM00103{:08d}", "fedex": "7946{:08d}", "dhl_universal": "10{:08d}"}
        while True:
            self._issued += 1
            number = formats[provider].format(self._issued)
            if number not in self.shipments:
                return number


def provider_named(name: str) -> Provider:
    if name not in PROVIDERS:
        raise CarrierSimulatorError(f"unknown provider {name!r} (one of {', '.join(PROVIDERS)})")
    return name
