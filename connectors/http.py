"""What every HTTP connector shares: one httpx client setup and one status mapping."""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable
from functools import cache
from typing import Any

import httpx

from omnisync.connectors.base import (
    AuthError,
    ConnectorError,
    PermanentError,
    RateLimited,
    TransientError,
)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
USER_AGENT = "omnisync/0.1"
DETAIL_LIMIT = 300
"""Characters of an error body that are not the channel's own error shape, in a message."""


@cache
def tls_context() -> ssl.SSLContext:
    """The TLS settings every channel's client shares (httpx's defaults: its CA bundle,
    SSL_CERT_FILE and SSL_CERT_DIR honoured). Each client making its own loads the CA bundle
    again, about 20 ms of CPU and a megabyte of memory: a process serving 1,000 channels
    did that 1,000 times, holding up every run meanwhile."""
    return httpx.create_ssl_context()


def make_client(
    base_url: str,
    *,
    headers: dict[str, str] | None = None,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
) -> httpx.Client:
    return httpx.Client(
        base_url=base_url,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        timeout=timeout,
        follow_redirects=False,
        verify=tls_context(),
    )


def retry_after_seconds(response: httpx.Response, default: float = 1.0) -> float:
    value = response.headers.get("Retry-After")
    try:
        return max(float(value), 0.0) if value is not None else default
    except ValueError:
        return default


def send(request: Callable[[], httpx.Response]) -> httpx.Response:
    """Make the request; transport failures become TransientError."""
    try:
        return request()
    except httpx.TimeoutException as error:
        raise TransientError(f"timed out: {type(error).__name__}") from None
    except httpx.TransportError as error:
        raise TransientError(f"connection failed: {type(error).__name__}: {error}") from None


def check_status(response: httpx.Response, what: str) -> None:
    """Map an HTTP error status to the connector error tree."""
    status = response.status_code
    if status < 400:
        return
    detail = _short_body(response)
    if status in (401, 403):
        raise AuthError(f"{what}: HTTP {status} {detail}".strip())
    if status == 429:
        raise RateLimited(f"{what}: throttled", retry_after_seconds(response))
    if status >= 500 or status in (408, 425):
        raise TransientError(f"{what}: HTTP {status} {detail}".strip())
    raise PermanentError(f"{what}: HTTP {status} {detail}".strip())


def error_for_status(
    what: str,
    response: httpx.Response,
    detail: str,
    *,
    throttled_by: str,
    throttled_wait: float,
    auth_hint: str,
) -> ConnectorError:
    """The connector error of a refused REST call (status 400 and above), told in the
    channel's words: `detail` is its error answer in one line, `throttled_by` who
    throttles ("eBay", "the shop"), `throttled_wait` the wait of a 429 without
    Retry-After, `auth_hint` what to do about a 401/403 (in parentheses)."""
    status = response.status_code
    if status in (401, 403):
        return AuthError(f"{what}: HTTP {status} {detail} ({auth_hint})")
    if status == 429:
        return RateLimited(
            f"{what}: throttled by {throttled_by} ({detail})",
            retry_after_seconds(response, throttled_wait),
        )
    if status >= 500 or status in (408, 425):
        return TransientError(f"{what}: HTTP {status} {detail}")
    return PermanentError(f"{what}: {detail} (HTTP {status})")


def error_detail(response: httpx.Response, channel_words: Callable[[Any], str]) -> str:
    """An error answer in one line: what `channel_words` makes of its JSON body (None
    when it is not JSON; "" when it is not the channel's error shape), else the start of
    the body, else "no details"."""
    try:
        body = response.json()
    except ValueError:
        body = None
    words = channel_words(body)
    if words:
        return words
    text = " ".join(response.text.split())
    if not text:
        return "no details"
    return text[:DETAIL_LIMIT] + ("..." if len(text) > DETAIL_LIMIT else "")


def json_body(response: httpx.Response, what: str) -> Any:
    """The decoded body; a body that is not JSON is a transient fault of the channel."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise TransientError(
            f"{what}: the response is not JSON ({_short_body(response)})"
        ) from None


def _short_body(response: httpx.Response, limit: int = 200) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:limit] + ("..." if len(text) > limit else "")
