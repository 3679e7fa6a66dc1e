"""Shared vocabulary of the WooCommerce simulator: the shop's clock and ids, money, the
REST error body, refusals.

WooCommerce writes each date twice, without a zone: ``date_created`` in the site's time
zone and ``date_created_gmt`` in UTC (``2017-03-22T16:28:02``, whole seconds). Money is a
decimal string with two places (``"29.35"``), except a line item's ``price``, which PHP's
``json_encode`` prints as a number (``3``, ``12.5``). Every refusal of the REST API is
``{"code", "message", "data": {"status"}}`` (WordPress's ``WP_Error`` as JSON).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from omnisync.sandbox.money import CENT

JSON = dict[str, Any]

WC_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%S"


class WooCommerceSimulatorError(ValueError):
    """A control call the simulated shop refuses (unknown SKU, too few units, ...)."""


@dataclass
class WooApiError(Exception):
    """A refusal of the REST API: WordPress's error body, with its HTTP status."""

    status: int
    code: str
    message: str
    extra: JSON = field(default_factory=dict)
    """More of ``data`` (``params`` of a rest_invalid_param)."""

    def body(self) -> JSON:
        return {"code": self.code, "message": self.message, "data": self.data()}

    def data(self) -> JSON:
        return {"status": self.status, **self.extra}


def invalid_param(name: str, why: str) -> WooApiError:
    """WordPress's answer to a query or body value its schema refuses."""
    return WooApiError(
        400, "rest_invalid_param", f"Invalid parameter(s): {name}", {"params": {name: why}}
    )


class SiteClock:
    """The shop's dates: UTC from the simulator's clock, shown also in the site's zone
    (a fixed ``utc_offset``, as a WordPress site set to ``UTC+N`` has)."""

    def __init__(self, utc_offset: timedelta) -> None:
        self.utc_offset = utc_offset

    def local(self, moment: datetime | None) -> str | None:
        if moment is None:
            return None
        return (moment.astimezone(UTC) + self.utc_offset).strftime(WC_TIME_FORMAT)

    @staticmethod
    def gmt(moment: datetime | None) -> str | None:
        if moment is None:
            return None
        return moment.astimezone(UTC).strftime(WC_TIME_FORMAT)

    def pair(self, name: str, moment: datetime | None) -> JSON:
        """``{name: local, name_gmt: utc}``."""
        return {name: self.local(moment), f"{name}_gmt": self.gmt(moment)}

    def parse(self, text: str, dates_are_gmt: bool) -> datetime:
        """A query date (ISO 8601); without a zone it is the site's time, or UTC when
        ``dates_are_gmt``. ValueError for anything else."""
        value = text.strip()
        if value.endswith(("Z", "z")):
            value = value[:-1] + "+00:00"
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            return moment.astimezone(UTC)
        moment = moment.replace(tzinfo=UTC)
        return moment if dates_are_gmt else moment - self.utc_offset


class IdSequence:
    """Increasing ids from one counter (thread-safe): WordPress numbers posts (products,
    variations, orders) in one sequence, comments (notes) in another."""

    def __init__(self, start: int) -> None:
        self._counter = itertools.count(start)
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            return next(self._counter)


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, ROUND_HALF_UP))


def php_number(value: Decimal) -> int | float:
    """A number as PHP's ``json_encode`` prints a float: ``3`` when whole, ``12.5`` if not."""
    return int(value) if value == value.to_integral_value() else float(value)


def is_whole(value: Any) -> bool:
    """A JSON integer (a bool is not one)."""
    return isinstance(value, int) and not isinstance(value, bool)
