"""One carrier channel's karrio gateway, and karrio's Tracking, Rating and Shipment APIs
run through it (one batch of numbers, one parcel quoted, one label bought).

The gateway is karrio's own (``karrio.gateway[provider].create(...)``), with three
things of the channel's: its settings class answers ``server_url`` with the channel's
``endpoint`` when there is one (karrio reads the carrier's URL from that property);
its token cache is the channel's alone (karrio caches OAuth tokens in the cache the
gateway is given, keyed by the credentials, and keeps one it was refused until it
expires: :meth:`CarrierGateway.forget_tokens` drops them); and its tracer records
nothing (karrio's keeps every request, headers included, for the life of the gateway).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from omnisync.connectors.carriers.karrio_http import observe
from omnisync.connectors.carriers.karrio_runtime import karrio
from omnisync.connectors.carriers.mapping import KarrioAnswer
from omnisync.connectors.carriers.settings import CarrierSettings


class CarrierGateway:
    def __init__(self, settings: CarrierSettings) -> None:
        self.settings = settings
        self._gateway: Any = None

    def track(self, numbers: Sequence[str]) -> KarrioAnswer:
        api = karrio()
        request = api.models.TrackingRequest(tracking_numbers=list(numbers))
        return self._ask(lambda gateway: api.sdk.Tracking.fetch(request).from_(gateway))

    def rates(self, request: Any) -> KarrioAnswer:
        """karrio's Rating API for a karrio RateRequest: details are RateDetails."""
        return self._ask(lambda gateway: karrio().sdk.Rating.fetch(request).from_(gateway))

    def ship(self, request: Any) -> KarrioAnswer:
        """karrio's Shipment API for a karrio ShipmentRequest: the details are the one
        ShipmentDetails, when the carrier sold the label."""
        return self._ask(lambda gateway: karrio().sdk.Shipment.create(request).from_(gateway))

    def _ask(self, call: Callable[[Any], Any]) -> KarrioAnswer:
        """``call(gateway)`` gives karrio's lazy answer; parsed here, with the requests made."""
        with observe(self.settings.timeout_seconds) as log:
            try:
                details, messages = call(self._karrio()).parse()
            except Exception as error:
                return KarrioAnswer(
                    exchanges=log.exchanges, fault=f"{type(error).__name__}: {error}"
                )
        if details is not None and not isinstance(details, list | tuple):
            details = [details]  # a shipment: one ShipmentDetails
        return KarrioAnswer(tuple(details or ()), tuple(messages or ()), log.exchanges)

    def forget_tokens(self) -> None:
        self._gateway = None

    def _karrio(self) -> Any:
        if self._gateway is None:
            api = karrio()
            self._gateway = api.sdk.gateway[self.settings.provider].create(
                connection_settings(self.settings), tracer=_silent_tracer(), cache=api.lib.Cache()
            )
        return self._gateway


def connection_settings(settings: CarrierSettings) -> Any:
    """The provider's karrio settings object for the channel."""
    settings_class = karrio().providers[settings.provider].Settings
    if settings.endpoint is not None:
        settings_class = _served_at(settings_class, str(settings.endpoint).rstrip("/"))
    credentials = {name: secret.get_secret_value() for name, secret in settings.credentials.items()}
    return settings_class(**credentials, test_mode=settings.test_mode)


@functools.cache
def _served_at(settings_class: type, endpoint: str) -> type:
    """The provider's settings class, answering ``endpoint`` as the carrier's server URL."""
    return type(
        f"{settings_class.__name__}AtEndpoint",
        (settings_class,),
        {"server_url": property(lambda _: endpoint)},
    )


@functools.cache
def _silent_tracer_class() -> type:
    class SilentTracer(karrio().lib.Tracer):  # type: ignore[misc]
        def trace(self, data: Any, key: str, metadata: Any = None, format: Any = None) -> Any:
            return data

    return SilentTracer


def _silent_tracer() -> Any:
    return _silent_tracer_class()()
