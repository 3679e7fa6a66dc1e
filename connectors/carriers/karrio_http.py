"""Every HTTP request karrio makes: with a timeout, verified TLS, and a note of how it ended.

karrio sends all its requests with urllib through one name, ``urlopen`` in
``karrio.core.utils.helpers``, without a timeout (a carrier that hangs would hang the
hub). It also turns every answer into message text, so a 500, a refused token and an
unknown tracking number all come back as "messages". The connector must tell those
apart (retry, stop the channel, report the number), so that one name is pointed at
:func:`observed_urlopen`, which applies the call's timeout, verifies certificates, and
notes each exchange (method, path, status or transport failure, Retry-After) in the
:class:`ExchangeLog` of the call in progress. Bodies and headers are not kept: they
carry credentials and tokens.

Calls into karrio run one at a time in the process (:func:`observe`): karrio fans a
call out to worker threads of its own (UPS: a thread pool, which carries no context
across), so the log of the call in progress can only be found as the one current log.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from typing import Any, Final
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request
from urllib.request import urlopen as stdlib_urlopen

DEFAULT_TIMEOUT_S: Final = 30.0
"""For a request made outside :func:`observe` (karrio used directly, not by a connector)."""

_VERIFIED_TLS: Final = ssl.create_default_context()


@dataclass(frozen=True)
class Exchange:
    """One request karrio made and how it ended."""

    method: str
    path: str
    status: int | None
    """The HTTP status; None when no answer came (timeout, refused connection, ...)."""
    failure: str | None = None
    retry_after: float | None = None


class ExchangeLog:
    """The exchanges of one call into karrio (appended from karrio's worker threads)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._exchanges: list[Exchange] = []
        self._lock = threading.Lock()

    def add(self, exchange: Exchange) -> None:
        with self._lock:
            self._exchanges.append(exchange)

    @property
    def exchanges(self) -> tuple[Exchange, ...]:
        with self._lock:
            return tuple(self._exchanges)


_one_call_at_a_time = threading.Lock()
_current: ExchangeLog | None = None


@contextmanager
def observe(timeout: float) -> Iterator[ExchangeLog]:
    """Run one call into karrio: its requests time out after ``timeout`` seconds and are
    noted in the log yielded."""
    global _current
    with _one_call_at_a_time:
        log = ExchangeLog(timeout)
        _current = log
        try:
            yield log
        finally:
            _current = None


def observed_urlopen(request: Request | str, timeout: float | None = None, **options: Any) -> Any:
    """What karrio calls instead of urllib's urlopen."""
    log = _current
    if timeout is None:
        timeout = log.timeout if log is not None else DEFAULT_TIMEOUT_S
    options.setdefault("context", _VERIFIED_TLS)
    method, path = _described(request)
    try:
        # karrio's own requests: the carrier's https URL, or the channel's endpoint.
        response = stdlib_urlopen(request, timeout=timeout, **options)  # noqa: S310
    except HTTPError as error:
        _note(log, Exchange(method, path, error.code, retry_after=_retry_after(error.headers)))
        raise
    except (URLError, OSError) as error:
        _note(log, Exchange(method, path, None, failure=_failure(error)))
        raise
    _note(log, Exchange(method, path, response.status))
    return response


def _note(log: ExchangeLog | None, exchange: Exchange) -> None:
    if log is not None:
        log.add(exchange)


def _described(request: Request | str) -> tuple[str, str]:
    if isinstance(request, Request):
        return request.get_method(), urlsplit(request.full_url).path
    return "GET", urlsplit(request).path


def _failure(error: BaseException) -> str:
    reason = error.reason if isinstance(error, URLError) else error
    if isinstance(reason, socket.timeout | TimeoutError):
        return "timed out"
    return (
        f"{type(reason).__name__}: {reason}" if isinstance(reason, BaseException) else str(reason)
    )


def _retry_after(headers: Message | None) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None
