"""What every connector's settings check of a URL shares.

A URL that carries a secret or a token on the wire (an API base, a token endpoint) must
be https; plain http is allowed only to a loopback host, where a simulator or a test
server runs on this machine and nothing crosses a network."""

from __future__ import annotations

import ipaddress

from pydantic import AnyHttpUrl


def is_loopback(host: str | None) -> bool:
    """Whether `host` names this machine (localhost, 127.0.0.0/8, ::1)."""
    if not host:
        return False
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def https_or_loopback(url: AnyHttpUrl | None) -> AnyHttpUrl | None:
    """`url` when it is https, or http to a loopback host; ValueError otherwise."""
    if url is not None and url.scheme != "https" and not is_loopback(url.host):
        raise ValueError("must be an https URL (plain http only for a loopback host)")
    return url
