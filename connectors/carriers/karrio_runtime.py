"""karrio, imported once, with what it does to the whole process undone.

Importing karrio (2026.1) has three effects beyond its own modules, and each is
answered here, before any other code of ours touches it:

- it replaces every loguru sink with its own, on stderr at INFO: its records go to
  the hub's logging instead (:mod:`connectors.carriers.karrio_logging`);
- it sets ``ssl._create_default_https_context`` to ``ssl._create_unverified_context``,
  which turns certificate checks off for every urllib request in the process (its
  own included): the standard default is put back;
- it sends its requests through urllib without a timeout: its ``urlopen`` is pointed
  at :func:`connectors.carriers.karrio_http.observed_urlopen`.

The import costs about a second (karrio scans its plugins on first use), so it
happens on first use, not when the connector registers itself.
"""

from __future__ import annotations

import importlib
import ssl
import threading
import warnings
from dataclasses import dataclass
from typing import Any

import attr

from omnisync.connectors.carriers.karrio_http import observed_urlopen
from omnisync.connectors.carriers.karrio_logging import route_karrio_logs

MANAGED_FIELDS = frozenset({"id", "carrier_id", "test_mode", "metadata", "config"})
"""Fields of a karrio settings class the connector sets itself (not credentials)."""


@dataclass(frozen=True)
class Karrio:
    """The parts of karrio the connector uses."""

    sdk: Any
    lib: Any
    models: Any
    providers: dict[str, Any]
    """Installed carrier providers by karrio name (ups, fedex, dhl_universal, ...)."""


_loading = threading.Lock()
_loaded: Karrio | None = None


def karrio() -> Karrio:
    """karrio, loaded on first use (once, even when two channels start together)."""
    global _loaded
    if _loaded is None:
        with _loading:
            if _loaded is None:
                _loaded = _load()
    return _loaded


def _load() -> Karrio:
    with warnings.catch_warnings():
        # karrio's PDF library announces its own deprecation when karrio loads it.
        warnings.filterwarnings(
            "ignore", message="PyPDF2 is deprecated", category=DeprecationWarning
        )
        # karrio's logger module sets its stderr sink up when imported; nothing has been
        # logged yet at that point (the first line comes with karrio.api.gateway).
        route_karrio_logs(importlib.import_module("karrio.core.utils.logger").logger)
        sdk = importlib.import_module("karrio.sdk")
    helpers: Any = importlib.import_module("karrio.core.utils.helpers")
    ssl._create_default_https_context = ssl.create_default_context
    helpers.urlopen = observed_urlopen
    references = importlib.import_module("karrio.references")
    return Karrio(
        sdk=sdk,
        lib=importlib.import_module("karrio.lib"),
        models=importlib.import_module("karrio.core.models"),
        providers={
            name: provider
            for name, provider in references.collect_providers_data().items()
            if provider.Settings is not None
        },
    )


def installed_providers() -> list[str]:
    return sorted(karrio().providers)


def tracks_parcels(provider: str) -> bool:
    """Whether karrio's proxy for the provider implements tracking."""
    return "get_tracking" in _proxy_methods(provider)


def sells_labels(provider: str) -> bool:
    """Whether karrio's proxy for the provider quotes rates and buys labels (dhl_universal
    only tracks)."""
    return {"get_rates", "create_shipment"} <= _proxy_methods(provider)


def _proxy_methods(provider: str) -> set[str]:
    references = importlib.import_module("karrio.references")
    return set(references.detect_proxy_methods(karrio().providers[provider].Proxy))


@dataclass(frozen=True)
class CredentialFields:
    """What a provider's karrio settings class takes as credentials."""

    required: tuple[str, ...]
    optional: tuple[str, ...]

    @property
    def all(self) -> tuple[str, ...]:
        return self.required + self.optional


def credential_fields(provider: str) -> CredentialFields:
    """The text fields of the provider's karrio settings class, beyond the ones managed here."""
    fields = [
        field
        for field in attr.fields(karrio().providers[provider].Settings)
        if field.name not in MANAGED_FIELDS and field.type in (str, "str")
    ]
    return CredentialFields(
        required=tuple(field.name for field in fields if field.default is attr.NOTHING),
        optional=tuple(field.name for field in fields if field.default is not attr.NOTHING),
    )
