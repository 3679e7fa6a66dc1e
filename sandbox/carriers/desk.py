"""The carrier simulator's ``/_control`` desk (see :mod:`sandbox.control_api`).

Labels and parcel moves go through the simulator's control methods
(``create_shipment``, ``advance``, ``set_outcome``); "one step" is a parcel's own
``seconds_per_step``. ``labels`` lists the labels sold through the UPS and FedEx
shipping APIs (``GET /_control/labels``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omnisync.sandbox.carriers.state import CarrierSimulatorError
from omnisync.sandbox.control_api import ControlRefused, ParcelView, refused_as

if TYPE_CHECKING:
    from omnisync.sandbox.carriers.simulator import CarrierSimulator

DEFAULT_PROVIDER = "ups"


class CarrierDesk:
    kind = "carriers"

    def __init__(self, carriers: CarrierSimulator) -> None:
        self.carriers = carriers

    def create(self, provider: str | None, tracking_number: str | None) -> ParcelView:
        with refused_as(CarrierSimulatorError, 400, "refused"):
            number = self.carriers.create_shipment(tracking_number, provider or DEFAULT_PROVIDER)
        return self._parcel(number)

    def advance(self, tracking_number: str | None, seconds: float | None) -> list[ParcelView]:
        chosen = [
            parcel
            for parcel in self.carriers.parcels()
            if tracking_number is None or parcel["tracking_number"] == tracking_number
        ]
        if tracking_number is not None and not chosen:
            raise ControlRefused(404, "not_found", f"unknown tracking number {tracking_number!r}")
        with refused_as(CarrierSimulatorError, 400, "refused"):
            for parcel in chosen:
                step = parcel["seconds_per_step"] if seconds is None else seconds
                self.carriers.advance(step, parcel["tracking_number"])
        return [self._parcel(parcel["tracking_number"]) for parcel in chosen]

    def set_outcome(self, tracking_number: str, outcome: str) -> ParcelView:
        self._parcel(tracking_number)
        with refused_as(CarrierSimulatorError, 409, "refused"):
            self.carriers.set_outcome(tracking_number, outcome)
        return self._parcel(tracking_number)

    def parcels(self) -> list[ParcelView]:
        return [_view(parcel) for parcel in self.carriers.parcels()]

    def labels(self) -> list[dict[str, Any]]:
        return self.carriers.labels()

    def _parcel(self, tracking_number: str) -> ParcelView:
        for parcel in self.carriers.parcels():
            if parcel["tracking_number"] == tracking_number:
                return _view(parcel)
        raise ControlRefused(404, "not_found", f"unknown tracking number {tracking_number!r}")


def _view(parcel: dict[str, Any]) -> ParcelView:
    return ParcelView(parcel["tracking_number"], parcel["provider"], parcel["status"])
