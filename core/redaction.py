"""Keep configured secrets out of everything the hub writes (invariant 9).

One masking rule for every layer: connectors scrub the errors they raise, sync/ the run
errors, log lines and alert texts it records, hub/ the CLI output and API bodies. It
lives in core/ because core is the one layer all of them may import; two copies of it
would drift, and the first secret one of them missed would be in a log. Secrets are
masked longest first, so a secret that contains another is masked whole, and values
shorter than MIN_SECRET_LENGTH are ignored (they would mask ordinary words).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MASK = "***"
MIN_SECRET_LENGTH = 4
"""Shorter values would mask ordinary words; secrets are never that short."""


def redact(text: str, secrets: Iterable[str]) -> str:
    return _redact(text, _longest_first(secrets))


def redact_data(value: Any, secrets: Iterable[str]) -> Any:
    """`redact` applied to every string (keys included) of JSON-like data; numbers and
    the structure are left alone, so the result is still the same shape."""
    return _redact_data(value, _longest_first(secrets))


def _longest_first(secrets: Iterable[str]) -> list[str]:
    return sorted(
        {secret for secret in secrets if len(secret) >= MIN_SECRET_LENGTH}, key=len, reverse=True
    )


def _redact(text: str, ordered: list[str]) -> str:
    for secret in ordered:
        text = text.replace(secret, MASK)
    return text


def _redact_data(value: Any, ordered: list[str]) -> Any:
    if isinstance(value, str):
        return _redact(value, ordered)
    if isinstance(value, dict):
        return {_redact(str(k), ordered): _redact_data(v, ordered) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_data(item, ordered) for item in value]
    return value
