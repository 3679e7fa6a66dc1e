"""The carrier connector: TRACKING for any carrier karrio supports.

A carrier channel has no locations, orders or stock: it answers ``track(numbers)``.
Numbers go to the carrier in batches it accepts (UPS and DHL one per request, FedEx
30), each batch through the engine's call policy (operation ``track``), so throttling
and retries happen there. A refused token is fetched again once, in case the carrier
revoked the one karrio had cached; refused again, it is the credentials (AuthError).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import ClassVar, Final, Unpack

from omnisync.connectors.base import (
    AuthError,
    Capability,
    Connector,
    ConnectorError,
    ConnectorOptions,
)
from omnisync.connectors.carriers.gateway import CarrierGateway
from omnisync.connectors.carriers.karrio_runtime import karrio
from omnisync.connectors.carriers.mapping import KarrioAnswer, call_failure, tracking_infos
from omnisync.connectors.carriers.profiles import TRACK_OPERATION, profile_for
from omnisync.connectors.carriers.settings import CarrierSettings
from omnisync.connectors.registry import register
from omnisync.core.dto import TrackingInfo

PROBE_NUMBER: Final = "1ZOMNISYNCPROBE0001"
"""Asked by check(): a number no carrier knows, in a shape every carrier accepts (UPS
wants 7 to 34 characters); an answer of any kind means the credentials work."""


@register
class CarrierConnector(Connector[CarrierSettings]):
    channel_type: ClassVar[str] = "carrier"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.TRACKING})

    def __init__(self, settings: CarrierSettings, **options: Unpack[ConnectorOptions]) -> None:
        super().__init__(settings, **options)
        self.profile = profile_for(settings.provider)
        self.gateway = CarrierGateway(settings)

    @staticmethod
    def carrier_label(settings: CarrierSettings) -> str:
        """The carrier's name as marketplaces know it ("UPS", "FedEx"): what fulfilments say."""
        return str(karrio().providers[settings.provider].label or settings.provider)

    @property
    def numbers_per_request(self) -> int:
        wanted = self.settings.numbers_per_request or self.profile.numbers_per_request
        return min(wanted, self.profile.numbers_per_request)

    def check(self) -> list[str]:
        try:
            self._track_batch([PROBE_NUMBER])
        except ConnectorError as error:
            return [f"{type(error).__name__}: {error}"]
        return []

    def track(self, numbers: Sequence[str]) -> list[TrackingInfo]:
        distinct = list(dict.fromkeys(numbers))
        answers: dict[str, TrackingInfo] = {}
        size = self.numbers_per_request
        for start in range(0, len(distinct), size):
            batch = distinct[start : start + size]
            for info in self.calls.call(
                TRACK_OPERATION, functools.partial(self._track_batch, batch)
            ):
                answers[info.tracking_number] = info
        return [answers[number] for number in numbers]

    def _track_batch(self, numbers: list[str]) -> list[TrackingInfo]:
        answer = self.gateway.track(numbers)
        try:
            return self._read(numbers, answer)
        except AuthError:
            if self._fetched_token(answer):
                raise
        # Refused with a token karrio had cached: the carrier may have revoked it.
        self.gateway.forget_tokens()
        return self._read(numbers, self.gateway.track(numbers))

    def _read(self, numbers: list[str], answer: KarrioAnswer) -> list[TrackingInfo]:
        failure = call_failure(self.settings.provider, self.profile, answer)
        if failure is not None:
            raise failure
        return tracking_infos(self.settings.provider, self.profile, numbers, answer)

    def _fetched_token(self, answer: KarrioAnswer) -> bool:
        if self.profile.token_path is None:
            return True  # no tokens: nothing cached to renew
        return any(self.profile.is_token_request(e.path) for e in answer.exchanges)
