"""A carrier connector type ("fake_carrier") whose answers a test sets, for the tracking
job without a carrier server. `FakeCarrier.answers` maps tracking numbers to what the
carrier knows; `FakeCarrier.failure` makes every call raise; `FakeCarrier.asked`
records the numbers of each call. Calls go through the engine's call policy, so
its retries apply."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from omnisync.connectors.base import Capability, Connector, ConnectorError, ConnectorSettings
from omnisync.connectors.registry import register
from omnisync.core.dto import TrackingInfo


class FakeCarrierSettings(ConnectorSettings):
    label: str = "FakeCarrier"
    batch_size: int = 25


@register
class FakeCarrier(Connector[FakeCarrierSettings]):
    channel_type: ClassVar[str] = "fake_carrier"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.TRACKING})
    answers: ClassVar[dict[str, TrackingInfo]] = {}
    failure: ClassVar[ConnectorError | None] = None
    asked: ClassVar[list[list[str]]] = []

    @classmethod
    def reset(cls) -> None:
        cls.answers.clear()
        cls.asked.clear()
        cls.failure = None

    @staticmethod
    def carrier_label(settings: FakeCarrierSettings) -> str:
        return settings.label

    @property
    def tracking_batch_size(self) -> int:
        return self.settings.batch_size

    def track(self, numbers: Sequence[str]) -> list[TrackingInfo]:
        def ask() -> list[TrackingInfo]:
            FakeCarrier.asked.append(list(numbers))
            if FakeCarrier.failure is not None:
                raise FakeCarrier.failure
            return [
                FakeCarrier.answers.get(number)
                or TrackingInfo(tracking_number=number, found=False, message="not found")
                for number in numbers
            ]

        return self.calls.call("track", ask)
