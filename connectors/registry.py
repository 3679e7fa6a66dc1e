"""Channel types by their YAML `type:` name."""

from __future__ import annotations

from typing import TypeVar

from connectors.base import Connector

C = TypeVar("C", bound=type[Connector])

_CONNECTORS: dict[str, type[Connector]] = {}


def register(connector: C) -> C:
    existing = _CONNECTORS.get(connector.type)
    if existing is not None and existing is not connector:
        raise ValueError(f"channel type {connector.type!r} is registered twice")
    _CONNECTORS[connector.type] = connector
    return connector


def connector_for(type_name: str) -> type[Connector] | None:
    return _CONNECTORS.get(type_name)


def known_types() -> list[str]:
    return sorted(_CONNECTORS)
