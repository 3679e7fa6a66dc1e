"""Channel types by their YAML `type:` name (a connector class's `channel_type`).

A type name belongs to one class: registering a second class under a name taken
raises, so two modules can never silently decide which connector a channel gets."""

from __future__ import annotations

import importlib
from typing import TypeVar

from omnisync.connectors.base import Connector

C = TypeVar("C", bound=type[Connector])

_CONNECTORS: dict[str, type[Connector]] = {}
_BUILT_IN = (
    "omnisync.connectors.sandbox.connector",
    "omnisync.connectors.shopify.connector",
    "omnisync.connectors.amazon.connector",
    "omnisync.connectors.ebay.connector",
    "omnisync.connectors.carriers.connector",
    "omnisync.connectors.woocommerce.connector",
)
_loaded = False


def _load_built_in() -> None:
    """Import the built-in connector modules once; each registers itself."""
    global _loaded
    if not _loaded:
        _loaded = True
        for module in _BUILT_IN:
            importlib.import_module(module)


def register(connector: C) -> C:
    existing = _CONNECTORS.get(connector.channel_type)
    if existing is not None and existing is not connector:
        raise ValueError(f"channel type {connector.channel_type!r} is registered twice")
    _CONNECTORS[connector.channel_type] = connector
    return connector


def connector_for(type_name: str) -> type[Connector] | None:
    _load_built_in()
    return _CONNECTORS.get(type_name)


def known_types() -> list[str]:
    _load_built_in()
    return sorted(_CONNECTORS)
