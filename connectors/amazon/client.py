"""python-amazon-sp-api's clients on our transport, and every call's failures mapped once.

What the library does and what is added here:

- It sends through httpx; each API client is given our own httpx client (its
  HttpxTransport takes `client=`), with the channel's timeouts and two hooks. The
  library turns only bodies carrying `errors` into exceptions and drops the status
  (a 401 becomes a bare SellingApiException, a 500 with an HTML page or a 429 with an
  empty body an empty, "successful" ApiResponse), so the response hook stops every
  status >= 400 and every 2xx body that is not JSON before the library reads it.
- Its `endpoint` attribute is the regional SP-API URL; a configured `endpoint`
  replaces it. It sets the Host header from `endpoint[8:]` (assuming https://), so
  the request hook sets Host from the URL actually requested.
- Its LWA client is replaced through `auth_token_client_class` (see lwa.py).
- Credentials come from code only (`credential_providers`): the library would
  otherwise also read environment variables, a config file (creating its folder)
  and AWS Secrets Manager.
- It logs request headers (the access token) and responses at DEBUG on the
  `sp_api.*` loggers; those are held at WARNING here.

`SpApi.call(operation, request)` runs one library call through the engine's
CallPolicy (throttling, retries), follows `x-amzn-RateLimit-Limit`, and maps
failures: 429/QuotaExceeded RateLimited, 401/403 AuthError (once retried with a
fresh token when a kept one was refused), 5xx, timeouts, transport failures and
non-JSON answers TransientError, other 4xx PermanentError with Amazon's words.
Known secrets are masked in every message.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from sp_api.api import (
    FeedsV20210630,
    ListingsItemsV20210801,
    Notifications,
    OrdersV0,
    OrdersV20260101,
    Reports,
)
from sp_api.base import ApiResponse, Marketplaces, SellingApiException
from sp_api.base._transport_httpx import HttpxTransport
from sp_api.base.credential_provider import FromCodeCredentialProvider

from omnisync.connectors.amazon.lwa import AccessTokens, ChannelTokenClient, token_url
from omnisync.connectors.amazon.settings import AmazonSettings
from omnisync.connectors.base import (
    AuthError,
    CallPolicy,
    ConnectorError,
    PermanentError,
    RateLimit,
    RateLimited,
    TransientError,
    redacted,
)
from omnisync.connectors.http import tls_context

T = TypeVar("T")

for _name in ("sp_api", "sp_api.base.client", "sp_api.auth.access_token_client"):
    logging.getLogger(_name).setLevel(logging.WARNING)

RATE_LIMIT_HEADER = "x-amzn-RateLimit-Limit"
THROTTLED_CODES = frozenset({"QuotaExceeded", "RequestThrottled"})
DETAIL_LIMIT = 300


class BadAnswer(Exception):
    """An SP-API answer the library must not see: an error status or a body that is not JSON."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.status = response.status_code
        self.headers = response.headers
        self.errors = amazon_errors(response)
        self.text = response.text


def amazon_errors(response: httpx.Response) -> list[dict[str, Any]]:
    """Amazon's `errors` list of an answer ([] when there is none)."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return (
        [error for error in errors if isinstance(error, dict)] if isinstance(errors, list) else []
    )


def _address_host(request: httpx.Request) -> None:
    request.headers["Host"] = request.url.netloc.decode("ascii")


def _stop_bad_answers(response: httpx.Response) -> None:
    response.read()
    if response.status_code >= 400:
        raise BadAnswer(response)
    if response.content.strip():
        try:
            json.loads(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BadAnswer(response) from None


class SpApi:
    """One channel's SP-API clients: Orders 2026-01-01 (reading orders), Orders v0 (only
    confirmShipment, which 2026-01-01 does not have), Listings Items 2021-08-01, Feeds
    2021-06-30, Reports 2021-06-30 and Notifications v1 (its destination calls are
    grantless); and `plain_http` (no hooks, no Amazon headers) for LWA and for the
    presigned URLs of report documents."""

    def __init__(
        self,
        settings: AmazonSettings,
        calls: CallPolicy,
        rate_limits: Mapping[str, RateLimit],
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.calls = calls
        self.rate_limits = rate_limits
        marketplace = Marketplaces[settings.marketplace]
        self.marketplace_id: str = marketplace.marketplace_id
        self.endpoint: str = (
            str(settings.endpoint).rstrip("/") if settings.endpoint else marketplace.endpoint
        )
        timeout = httpx.Timeout(
            settings.timeout_seconds, connect=min(5.0, settings.timeout_seconds)
        )
        self.http = httpx.Client(
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            verify=tls_context(),
            event_hooks={"request": [_address_host], "response": [_stop_bad_answers]},
        )
        # No hooks: LWA answers are read by the library's token client, errors included,
        # and a report document's bytes are neither JSON nor Amazon's errors.
        self.plain_http = httpx.Client(
            timeout=timeout, transport=transport, follow_redirects=False, verify=tls_context()
        )
        self.tokens = AccessTokens()
        credentials = settings.credentials
        self._secrets = [
            credentials.refresh_token.get_secret_value(),
            credentials.lwa_app_id.get_secret_value(),
            credentials.lwa_client_secret.get_secret_value(),
        ]
        options: dict[str, Any] = {
            "marketplace": marketplace,
            "refresh_token": credentials.refresh_token.get_secret_value(),
            "credentials": {
                "refresh_token": credentials.refresh_token.get_secret_value(),
                "lwa_app_id": credentials.lwa_app_id.get_secret_value(),
                "lwa_client_secret": credentials.lwa_client_secret.get_secret_value(),
            },
            "credential_providers": (FromCodeCredentialProvider,),
            "auth_token_client_class": functools.partial(
                ChannelTokenClient,
                tokens=self.tokens,
                token_url=token_url(settings.lwa_endpoint),
                http=self.plain_http,
            ),
            "timeout": timeout,
        }
        self.orders: Any = self._on_our_transport(OrdersV20260101(**options))
        self.shipments: Any = self._on_our_transport(OrdersV0(**options))
        self.listings: Any = self._on_our_transport(ListingsItemsV20210801(**options))
        self.feeds: Any = self._on_our_transport(FeedsV20210630(**options))
        self.notifications: Any = self._on_our_transport(Notifications(**options))
        self._options = options

    @functools.cached_property
    def reports(self) -> Any:
        """Reports 2021-06-30, made when first used: a library client costs the making of
        an httpx client, and only the returns job asks for reports."""
        return self._on_our_transport(Reports(**self._options))

    def _on_our_transport(self, client: Any) -> Any:
        client._transport.close()  # the library's own httpx client, never used
        client._transport = HttpxTransport(client=self.http)
        client.endpoint = self.endpoint
        # The library lets SP_API_DEFAULT_MARKETPLACE override the marketplace given.
        client.marketplace_id = self.marketplace_id
        return client

    def close(self) -> None:
        self.http.close()
        self.plain_http.close()

    def access_token(self) -> str:
        """A valid LWA access token (fetched if none is kept): what check() tries first."""
        return self.call("lwaToken", lambda: str(self.orders.auth.access_token))

    def call(self, operation: str, request: Callable[[], T]) -> T:
        """Run one library call through the call policy; failures become connector errors."""
        return self.calls.call(operation, lambda: self._attempt(operation, request))

    def _attempt(self, operation: str, request: Callable[[], T]) -> T:
        renewed = False
        while True:
            fetches_before = self.tokens.fetches
            try:
                result = request()
            except BadAnswer as answer:
                self._observe(operation, answer.headers)
                used_kept_token = self.tokens.fetches == fetches_before
                if answer.status in (401, 403) and used_kept_token and not renewed:
                    # A kept token Amazon no longer takes (revoked, rotated): one fresh try.
                    self.tokens.forget()
                    renewed = True
                    continue
                if answer.status in (401, 403):
                    self.tokens.forget()
                raise self._scrubbed(self.error_for(operation, answer)) from None
            except ConnectorError as error:
                raise self._scrubbed(error) from None
            except SellingApiException as error:
                raise self._scrubbed(library_error(operation, error)) from None
            except httpx.TimeoutException:
                raise TransientError(f"{operation}: timed out") from None
            except httpx.TransportError as error:
                raise self._scrubbed(
                    TransientError(f"{operation}: connection failed ({type(error).__name__})")
                ) from None
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise TransientError(f"{operation}: an answer is not JSON") from None
            if isinstance(result, ApiResponse):
                self._observe(operation, result.headers)
            return result

    def _observe(self, operation: str, headers: Any) -> None:
        limit = _positive_float((headers or {}).get(RATE_LIMIT_HEADER))
        if limit is not None:
            self.calls.observe_limit(operation, limit)

    def error_for(self, operation: str, answer: BadAnswer) -> ConnectorError:
        detail = _detail(answer)
        codes = {str(error.get("code")) for error in answer.errors}
        if answer.status == 429 or codes & THROTTLED_CODES:
            return RateLimited(
                f"{operation}: throttled by Amazon ({detail})",
                self.retry_after(operation, answer.headers),
            )
        if answer.status in (401, 403):
            return AuthError(f"{operation}: HTTP {answer.status} {detail}")
        if answer.status >= 500 or answer.status == 408:
            return TransientError(f"{operation}: HTTP {answer.status} {detail}")
        if answer.status < 400:
            return TransientError(f"{operation}: the answer is not JSON ({detail})")
        return PermanentError(f"{operation}: {detail} (HTTP {answer.status})")

    def retry_after(self, operation: str, headers: Any) -> float:
        """Retry-After if Amazon sent one, else the time one request takes at the known rate."""
        told = _positive_float(headers.get("Retry-After")) if headers is not None else None
        if told is not None:
            return told
        rate = _positive_float(headers.get(RATE_LIMIT_HEADER)) if headers is not None else None
        if rate is None and operation in self.rate_limits:
            rate = self.rate_limits[operation].per_second
        return 1.0 / rate if rate else 1.0

    def _scrubbed(self, error: ConnectorError) -> ConnectorError:
        return redacted(error, [*self._secrets, *self.tokens.secrets()])


def sp_api_time(moment: datetime) -> str:
    """ISO 8601 in UTC to the second, as SP-API takes times (`2026-11-22T10:00:00Z`)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def payload_of(answer: Any) -> dict[str, Any]:
    """The JSON object of a library answer ({} when it carries none)."""
    payload = getattr(answer, "payload", None)
    return payload if isinstance(payload, dict) else {}


def required_text(payload: Mapping[str, Any], key: str, operation: str) -> str:
    """`payload[key]` as text; TransientError when the answer lacks it."""
    value = payload.get(key)
    if not value:
        raise TransientError(f"{operation}: the answer has no {key}")
    return str(value)


def library_error(operation: str, error: SellingApiException) -> ConnectorError:
    """A SellingApiException (an `errors` body the hooks let through, or a failed upload)."""
    code = int(getattr(error, "code", 999) or 999)
    said = "; ".join(_error_text(item) for item in (getattr(error, "error", None) or []))
    detail = said or type(error).__name__
    if code == 429:
        return RateLimited(f"{operation}: throttled by Amazon ({detail})", 1.0)
    if code in (401, 403):
        return AuthError(f"{operation}: {detail}")
    if code in (400, 404, 409, 413, 415):
        return PermanentError(f"{operation}: {detail} (HTTP {code})")
    return TransientError(f"{operation}: {detail}")


def _detail(answer: BadAnswer) -> str:
    if answer.errors:
        return "; ".join(_error_text(error) for error in answer.errors)
    text = " ".join(answer.text.split())
    if not text:
        return "no details"
    return text[:DETAIL_LIMIT] + ("..." if len(text) > DETAIL_LIMIT else "")


def _error_text(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    code, message = error.get("code"), error.get("message")
    details = error.get("details")
    text = f"{code}: {message}" if code and message else str(message or code or error)
    return f"{text} ({details})" if details and details != message else text


def _positive_float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None
