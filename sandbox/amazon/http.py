"""Shared vocabulary of the Amazon simulator: SP-API errors, dates and money.

Every SP-API error body is ``{"errors": [{"code", "message", "details"}]}``; state
code raises :class:`SpApiError` and the HTTP layer turns it into that body.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final, Generic, TypeVar

JSON = dict[str, Any]

INVALID_INPUT: Final = "InvalidInput"
NOT_FOUND: Final = "NotFound"
UNAUTHORIZED: Final = "Unauthorized"
QUOTA_EXCEEDED: Final = "QuotaExceeded"
CANNOT_PARSE: Final = "Request has missing or invalid parameters and cannot be parsed."
ACCESS_DENIED: Final = "Access to requested resource is denied."
TOKEN_EXPIRED: Final = "The access token you provided has expired."  # noqa: S105 (a message)
QUOTA_MESSAGE: Final = "You exceeded your quota for the requested resource."
CENT: Final = Decimal("0.01")
MAX_TOKENS: Final = 10_000
T = TypeVar("T")


class AmazonSimulatorError(ValueError):
    """A control call the simulated marketplace refuses (unknown SKU, bad status...)."""


@dataclass
class SpApiError(Exception):
    """An SP-API error answer: HTTP status and one entry of the ``errors`` list."""

    status: int
    code: str
    message: str
    details: str = ""

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    def body(self) -> JSON:
        return error_body(self.code, self.message, self.details)


def error_body(code: str, message: str, details: str = "") -> JSON:
    return {"errors": [{"code": code, "message": message, "details": details}]}


def invalid_input(message: str, details: str = "") -> SpApiError:
    return SpApiError(400, INVALID_INPUT, message, details)


def not_found(message: str) -> SpApiError:
    return SpApiError(404, NOT_FOUND, message)


def amazon_time(moment: datetime) -> str:
    """``2026-11-22T10:00:00Z``: UTC, whole seconds, as the Orders API writes dates.

    Truncating (never rounding up) keeps a cursor taken from a rendered date at or
    before the real instant, so a client restarting from it misses nothing.
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def amazon_time_ms(moment: datetime) -> str:
    """``2026-11-22T10:00:00.123Z``: the millisecond form of the Feeds API."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_amazon_time(text: str) -> datetime:
    """An ISO 8601 date-time (``Z`` or an offset, optional fraction; a date alone is
    midnight UTC). Raises ValueError for anything else."""
    value = text.strip()
    if not value or len(value) < 10 or value[4] != "-":
        raise ValueError(f"not an ISO 8601 date: {text!r}")
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def money(amount: Decimal, currency: str) -> JSON:
    return {"CurrencyCode": currency, "Amount": str(amount.quantize(CENT, ROUND_HALF_UP))}


def parse_price(value: Any) -> Decimal:
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        raise AmazonSimulatorError(f"not a price: {value!r}") from None
    if not price.is_finite() or price < 0:
        raise AmazonSimulatorError(f"not a price: {value!r}")
    return price


class PageTokens(Generic[T]):
    """Opaque page tokens and what each one continues (the newest ``MAX_TOKENS``)."""

    def __init__(self) -> None:
        self._tokens: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()

    def issue(self, state: T) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = state
            while len(self._tokens) > MAX_TOKENS:
                self._tokens.popitem(last=False)
        return token

    def get(self, token: str) -> T | None:
        with self._lock:
            return self._tokens.get(token)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()
