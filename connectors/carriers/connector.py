"""The carrier connector: TRACKING and LABELS for any carrier karrio supports.

A carrier channel has no locations, orders or stock: it answers ``track(numbers)``,
``rates(request)`` and ``buy_label(request)``. Numbers go to the carrier in batches it
accepts (UPS and DHL one per request, FedEx 30); each batch, each quote and each label
goes through the engine's call policy (operations ``track``, ``rate``, ``label``), so
throttling and retries happen there. A refused token is fetched again once, in case the
carrier revoked the one karrio had cached; refused again, it is the credentials
(AuthError).

Labels: a provider whose karrio plugin has no shipping API (dhl_universal) refuses them,
and so does a channel without the credentials labels need (profiles.py). A label asked
without a service is the cheapest one quoted. A label request that may have reached the
carrier unanswered is never retried (labels.py :class:`LabelUncertain`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import ClassVar, Final, Unpack

from omnisync.connectors.base import (
    AuthError,
    Capability,
    Connector,
    ConnectorError,
    ConnectorOptions,
    PermanentError,
    RateLimited,
    TransientError,
)
from omnisync.connectors.carriers.gateway import CarrierGateway
from omnisync.connectors.carriers.karrio_runtime import karrio, sells_labels
from omnisync.connectors.carriers.labels import (
    CHECK_ACCOUNT,
    LabelUncertain,
    cheapest,
    purchased_label,
    rate_request,
    shipment_request,
    shipping_rates,
    uncertain_label,
)
from omnisync.connectors.carriers.mapping import KarrioAnswer, call_failure, tracking_infos
from omnisync.connectors.carriers.profiles import (
    LABEL_OPERATION,
    RATE_OPERATION,
    TRACK_OPERATION,
    profile_for,
)
from omnisync.connectors.carriers.settings import CarrierSettings
from omnisync.connectors.registry import register
from omnisync.core.dto import LabelRequest, PurchasedLabel, ShippingRate, TrackingInfo

PROBE_NUMBER: Final = "1ZOMNISYNCPROBE0001"
"""Asked by check(): a number no carrier knows, in a shape every carrier accepts (UPS
wants 7 to 34 characters); an answer of any kind means the credentials work."""


@register
class CarrierConnector(Connector[CarrierSettings]):
    channel_type: ClassVar[str] = "carrier"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.TRACKING, Capability.LABELS}
    )
    """LABELS where the provider sells them (UPS, FedEx): buy_label and rates refuse the
    others with a PermanentError."""

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
        answer = self._answered(lambda: self.gateway.track(numbers))
        return tracking_infos(self.settings.provider, self.profile, numbers, answer)

    # labels ------------------------------------------------------------------------------

    def rates(self, request: LabelRequest) -> list[ShippingRate]:
        self._sells_labels()
        return self.calls.call(RATE_OPERATION, functools.partial(self._quote, request))

    def buy_label(self, request: LabelRequest) -> PurchasedLabel:
        self._sells_labels()
        chosen = None
        if request.service is None:
            chosen = cheapest(self.rates(request))
            request = request.model_copy(update={"service": chosen.service})
        label = self.calls.call(LABEL_OPERATION, functools.partial(self._buy, request))
        if chosen is None:
            return label  # a service named: nothing was quoted, the price is not known
        return label.model_copy(update={"price": chosen.price, "currency": chosen.currency})

    def _sells_labels(self) -> None:
        provider = self.settings.provider
        if not sells_labels(provider):
            raise PermanentError(
                f"{provider} labels are not supported: karrio's {provider} plugin only tracks"
            )
        missing = [
            name
            for name in self.profile.label_credentials
            if name not in self.settings.credentials
            or not self.settings.credentials[name].get_secret_value().strip()
        ]
        if missing:
            raise PermanentError(
                f"{provider} labels need the channel's credentials {', '.join(missing)} "
                "(see config/channels/*.yaml.example)"
            )

    def _quote(self, request: LabelRequest) -> list[ShippingRate]:
        asked = rate_request(karrio().models, request)
        answer = self._answered(lambda: self.gateway.rates(asked))
        return shipping_rates(self.settings.provider, self.profile, request, answer)

    def _buy(self, request: LabelRequest) -> PurchasedLabel:
        asked = shipment_request(karrio().models, request)
        answer = self._answered(lambda: self.gateway.ship(asked), may_have_sold=True)
        return purchased_label(self.settings.provider, self.profile, request, answer)

    # every call --------------------------------------------------------------------------

    def _answered(
        self, ask: Callable[[], KarrioAnswer], *, may_have_sold: bool = False
    ) -> KarrioAnswer:
        """karrio's answer to ``ask()``, or the call's failure raised. ``may_have_sold``: a
        label request, whose lost answer is :class:`LabelUncertain`, not retried."""
        answer = ask()
        failure = self._failure(answer, may_have_sold)
        if isinstance(failure, AuthError) and not self._fetched_token(answer):
            # Refused with a token karrio had cached: the carrier may have revoked it.
            self.gateway.forget_tokens()
            answer = ask()
            failure = self._failure(answer, may_have_sold)
        if failure is not None:
            raise failure
        return answer

    def _failure(self, answer: KarrioAnswer, may_have_sold: bool) -> ConnectorError | None:
        failure = call_failure(self.settings.provider, self.profile, answer)
        if may_have_sold and isinstance(failure, TransientError | RateLimited):
            lost = uncertain_label(self.profile, answer)
            if lost is not None:
                return LabelUncertain(
                    f"{self.settings.provider}: the label request got no answer ({lost}): "
                    f"{CHECK_ACCOUNT}"
                )
        return failure

    def _fetched_token(self, answer: KarrioAnswer) -> bool:
        if self.profile.token_path is None:
            return True  # no tokens: nothing cached to renew
        return any(self.profile.is_token_request(e.path) for e in answer.exchanges)
