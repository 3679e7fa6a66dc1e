"""Keep configured secrets out of everything the hub writes (invariant 9)."""

from __future__ import annotations

from collections.abc import Iterable

MASK = "***"
MIN_SECRET_LENGTH = 4
"""Shorter values would mask ordinary words; secrets are never that short."""


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= MIN_SECRET_LENGTH:
            text = text.replace(secret, MASK)
    return text
