"""The contract every connector keeps.

A connector is a class with `channel_type` (the YAML `type:` value), `Settings` (a
pydantic model of the channel file's own keys; secrets as SecretStr),
`capabilities`, `check()`, and the methods of the capabilities it declares:

    ORDERS     fetch_orders(since) -> Iterator[OrderPage]
    LISTINGS   fetch_listings() -> Iterator[ChannelListing]
    STOCK      push_stock(updates) -> list[PushResult]        (one result per update)
    FULFILMENT push_fulfilment(fulfilment) -> PushResult
    ORDER_CANCEL cancel_order(external_id, reason) -> PushResult (the channel cancels it)
    TRACKING   track(numbers) -> list[TrackingInfo]
    WEBHOOKS   parse_webhook(headers, body) -> WebhookEvents (orders, observed quantities)
    RETURNS    fetch_returns(since) -> Iterator[ReturnPage], and push_return(update) ->
               PushResult for the `return_actions` the type declares (approve, decline,
               process, refund); a type that cannot refund says where the seller does
               (`refund_hint`)
    ORDER_EVENTS receive_order_events(wait) -> list[OrderEvent], with
               acknowledge_order_events(receipts), fetch_order(external_id),
               event_queue() and event_audience(): a queue the hub long-polls
               (Amazon ORDER_CHANGE over SQS); a channel whose file names no queue
               (event_queue() is None) is only polled

and, for the payloads they quarantine, map_quarantined(kind, raw) -> WebhookEvents:
the same mapping again, e.g. after a fix to it (`omnisync quarantine retry`).

Connectors speak only in core's DTOs and raise only these errors::

    ConnectorError
    ├── AuthError          credentials refused or missing a permission; the channel
    │                      stops until an operator fixes it (never retried)
    ├── RateLimited        the channel throttled us; retry after `retry_after` seconds
    ├── TransientError     timeouts, connection failures, 5xx, a body that is not the
    │                      channel's format: retry with backoff
    ├── PermanentError     the channel refused this request for good (bad value,
    │                      unknown listing); recorded on the item, never retried as is
    ├── InvalidSignature   a webhook whose signature does not verify: 401, nothing kept
    └── PayloadError       one item the channel sent cannot be mapped; the raw payload
                           is quarantined and the rest of the page goes on

Pagination stays in the connector (through connectors/pagination.py); cursors, lag
windows, retries, rate limiting and binding stay in sync/. Every request goes through
the `CallPolicy` the engine hands over, which is where throttling and retries happen.

A connector is built complete: `Connector[SomeSettings]` receives its own settings
class (typed, so no connector checks what it was given), and the call policy, the hub
locations and the clock are constructor arguments, never attributes set afterwards, so
a connector can build its clients at once and nothing sees one half made. The rate
limits the engine throttles it to are known before it exists (`limits_for`), because
the engine's call policy is built from them first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import (
    Any,
    ClassVar,
    Final,
    Generic,
    Protocol,
    TypeAlias,
    TypedDict,
    get_args,
    get_origin,
)

from pydantic import AnyHttpUrl, BaseModel, ConfigDict
from typing_extensions import TypeVar

from omnisync.core.dto import (
    ChannelListing,
    Fulfilment,
    LabelRequest,
    NormalisedOrder,
    OrderEvent,
    OrderPage,
    PurchasedLabel,
    PushResult,
    ReturnPage,
    ReturnUpdate,
    ShippingRate,
    StockUpdate,
    TrackingInfo,
    WebhookEvents,
)
from omnisync.core.redaction import redact
from omnisync.core.types import ReturnAction

T = TypeVar("T")

MonotonicClock: TypeAlias = Callable[[], float]
"""Seconds on a clock that never goes back (time.monotonic): how connectors measure
waits. Tests pass one they move by hand."""


class Capability(StrEnum):
    ORDERS = "orders"
    LISTINGS = "listings"
    STOCK = "stock"
    FULFILMENT = "fulfilment"
    ORDER_CANCEL = "order_cancel"
    TRACKING = "tracking"
    WEBHOOKS = "webhooks"
    ORDER_EVENTS = "order_events"
    RETURNS = "returns"
    LABELS = "labels"
    """A carrier that quotes rates and sells labels (connectors/carriers)."""


MARKETPLACE: frozenset[Capability] = frozenset(
    {Capability.ORDERS, Capability.LISTINGS, Capability.STOCK, Capability.FULFILMENT}
)
"""What every marketplace connector does: orders in, listings read, stock out, shipments
reported. A type declares these and the capabilities of its own (`MARKETPLACE | {...}`)."""

CAPABILITY_METHODS: Mapping[Capability, str] = {
    Capability.ORDERS: "fetch_orders",
    Capability.LISTINGS: "fetch_listings",
    Capability.STOCK: "push_stock",
    Capability.FULFILMENT: "push_fulfilment",
    Capability.ORDER_CANCEL: "cancel_order",
    Capability.TRACKING: "track",
    Capability.WEBHOOKS: "parse_webhook",
    Capability.ORDER_EVENTS: "receive_order_events",
    Capability.RETURNS: "fetch_returns",
    Capability.LABELS: "buy_label",
}


class ConnectorError(Exception):
    """Base of the errors a connector raises."""


class AuthError(ConnectorError):
    pass


class RateLimited(ConnectorError):
    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(retry_after, 0.0)


class TransientError(ConnectorError):
    pass


class PermanentError(ConnectorError):
    pass


def redacted(error: ConnectorError, secrets: Sequence[str]) -> ConnectorError:
    """`error` with every secret masked in its words: the same class (and retry_after),
    or `error` itself when no secret shows."""
    message = redact(str(error), secrets)
    if message == str(error):
        return error
    if isinstance(error, RateLimited):
        return RateLimited(message, error.retry_after)
    return type(error)(message)


class InvalidSignature(ConnectorError):
    """A webhook whose signature does not verify: answered 401, nothing stored."""


class PayloadError(ConnectorError):
    def __init__(self, message: str, raw: str = "", external_id: str | None = None) -> None:
        super().__init__(message)
        self.raw = raw
        self.external_id = external_id


@dataclass(frozen=True)
class RateLimit:
    """A channel's published limit for one operation: sustained rate and burst."""

    per_second: float
    burst: int


class CallPolicy(Protocol):
    """How a connector's requests are made: the engine throttles and retries here."""

    def call(self, operation: str, request: Callable[[], T]) -> T: ...

    def observe_limit(self, operation: str, per_second: float) -> None:
        """The channel said what its limit is now (e.g. a rate-limit header)."""

    def pause(self, seconds: float) -> None:
        """Wait before a call that would not fit the channel's limit (ends early on shutdown)."""


class DirectCalls:
    """No throttling, no retries: for tests and one-off tools."""

    def call(self, operation: str, request: Callable[[], T]) -> T:
        return request()

    def observe_limit(self, operation: str, per_second: float) -> None:
        return None

    def pause(self, seconds: float) -> None:
        time.sleep(max(seconds, 0.0))


class ConnectorOptions(TypedDict, total=False):
    """What every connector is built with besides its settings (Connector.__init__'s
    keywords), for subclasses to pass on: `**options: Unpack[ConnectorOptions]`."""

    calls: CallPolicy | None
    hub_locations: Mapping[str, str] | None
    clock: MonotonicClock


class ConnectorSettings(BaseModel):
    """Base of a connector's settings: the keys of a channel file beyond the common ones.

    Secrets are `SecretStr`; `endpoint` points a connector at a sandbox or test server.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: AnyHttpUrl | None = None

    def rate_limits(self, published: Mapping[str, RateLimit]) -> dict[str, RateLimit]:
        """The limits this channel is throttled to: its type's `published` ones, which a
        type whose settings name a rate of their own refines here."""
        return dict(published)


S = TypeVar("S", bound=ConnectorSettings, default=ConnectorSettings, covariant=True)
"""A connector's settings class. Covariant, and `settings` read-only, so that a
`Connector[ShopifySettings]` is a `Connector` wherever any connector will do."""


class Connector(Generic[S]):
    """Base class of connectors; subclasses set the class attributes and the methods
    of the capabilities they declare. `class XConnector(Connector[XSettings])` also
    makes `XSettings` the class's `Settings`."""

    channel_type: ClassVar[str]
    Settings: ClassVar[type[ConnectorSettings]] = ConnectorSettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    published_limits: ClassVar[Mapping[str, RateLimit]] = {}
    """Published limits per operation name; operations not listed are not throttled.
    A channel's settings may refine them (`limits_for`)."""
    stock_batch_size: ClassVar[int] = 50
    """How many stock updates one push_stock call may carry."""
    order_event_name: ClassVar[str] = "order event"
    """ORDER_EVENTS: what the channel calls its order events, in words for alerts and logs."""
    daily_revision_limit: ClassVar[int | None] = None
    """How many times a day the channel lets one listing be revised (eBay: 250); None:
    no such limit. The stock job counts acknowledged pushes per listing and day and
    coalesces a listing's pushes as it nears the limit (sync/jobs/revision_budget.py)."""
    webhook_accepted_status: ClassVar[int] = 200
    """The HTTP status a verified webhook delivery is answered with (eBay wants 204)."""
    webhook_rejected_status: ClassVar[int] = 401
    """The HTTP status of a delivery whose signature does not verify (eBay wants 412)."""
    manual_cancel_hint: ClassVar[str] = ""
    """For a channel type without ORDER_CANCEL: where an operator cancels an order
    instead, in words (shown when the hub cancelled an order the channel still shows)."""

    return_actions: ClassVar[frozenset[ReturnAction]] = frozenset()
    """RETURNS: what the channel can be told of its returns (push_return); the hub
    records the rest itself."""
    refund_hint: ClassVar[str] = ""
    """For a channel type that takes no refund (no ReturnAction.REFUND): where the seller
    issues one instead, in words (kept on the return, shown by `returns show`)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in cls.__dict__.get("__orig_bases__", ()):
            if get_origin(base) is Connector:
                (settings,) = get_args(base)
                if isinstance(settings, type) and issubclass(settings, ConnectorSettings):
                    cls.Settings = settings

    @classmethod
    def limits_for(cls, settings: ConnectorSettings) -> dict[str, RateLimit]:
        """The rate limits a channel of this type with these settings is throttled to."""
        return settings.rate_limits(cls.published_limits)

    def __init__(
        self,
        settings: S,
        *,
        calls: CallPolicy | None = None,
        hub_locations: Mapping[str, str] | None = None,
        clock: MonotonicClock = time.monotonic,
    ) -> None:
        self._settings = settings
        self.calls: Final[CallPolicy] = calls or DirectCalls()
        """How requests are made: the engine's throttling and retries (none by default)."""
        self.hub_locations: Final[Mapping[str, str]] = dict(hub_locations or {})
        """Code -> name of the hub locations the channel sells from, in config order
        (for channels with locations of their own to map to)."""
        self.clock: Final = clock
        """Measures waits (a feed's outcome, a cost bucket's refill)."""
        self.rate_limits: Final[Mapping[str, RateLimit]] = self.limits_for(settings)

    @property
    def settings(self) -> S:
        return self._settings

    def check(self) -> list[str]:
        """Problems found talking to the channel (credentials, permissions, locations that
        map to nothing on the channel); [] when fine."""
        return []

    def close(self) -> None:
        """Release connections."""

    def fetch_orders(self, since: datetime | None) -> Iterator[OrderPage]:
        raise PermanentError(f"{self.channel_type} does not read orders")

    def fetch_listings(self) -> Iterator[ChannelListing]:
        raise PermanentError(f"{self.channel_type} does not read listings")

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[PushResult]:
        raise PermanentError(f"{self.channel_type} does not take stock")

    def push_fulfilment(self, fulfilment: Fulfilment) -> PushResult:
        raise PermanentError(f"{self.channel_type} does not take fulfilments")

    def cancel_order(self, external_id: str, reason: str | None) -> PushResult:
        """Ask the channel to cancel the order (what has not shipped of it); `reason` is
        the operator's words. A refusal comes back as ok=False with the channel's words;
        cancelling an order the channel cancelled already is ok."""
        raise PermanentError(f"{self.channel_type} cannot cancel orders")

    def track(self, numbers: Sequence[str]) -> list[TrackingInfo]:
        """One TrackingInfo per number asked (found=False for numbers the carrier does not
        know); raises only when the whole call failed."""
        raise PermanentError(f"{self.channel_type} does not track parcels")

    def rates(self, request: LabelRequest) -> list[ShippingRate]:
        """LABELS: what the carrier would charge for the parcel, per service (only
        `request.service` when it names one)."""
        raise PermanentError(f"{self.channel_type} quotes no rates")

    def buy_label(self, request: LabelRequest) -> PurchasedLabel:
        """LABELS: buy a label for the parcel; raises ConnectorError when the carrier
        refuses (its words in the message)."""
        raise PermanentError(f"{self.channel_type} sells no labels")

    def fetch_returns(self, since: datetime | None) -> Iterator[ReturnPage]:
        """RETURNS: returns changed since `since` (None: every one the channel keeps), in
        pages whose `cursor` is the change time the page completes."""
        raise PermanentError(f"{self.channel_type} does not read returns")

    def push_return(self, update: ReturnUpdate) -> PushResult:
        """RETURNS: tell the channel what became of one of its returns (an action among
        `return_actions`). Idempotent by `update.idempotency_key`: a retry after a lost
        answer changes nothing more. A refusal comes back as ok=False with the channel's
        words (retriable when it may pass)."""
        raise PermanentError(f"{self.channel_type} takes no return updates")

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvents:
        """Verify the signature (InvalidSignature if it does not match), then map."""
        raise PermanentError(f"{self.channel_type} does not take webhooks")

    def webhook_delivery(self, headers: Mapping[str, str], body: bytes) -> tuple[str | None, str]:
        """(the channel's id of this delivery, for deduplication; the topic), from the
        headers (Shopify) or the body (eBay's notificationId); read before the signature
        is checked, used only once it is."""
        return None, ""

    def webhook_challenge(self, query: Mapping[str, str]) -> dict[str, Any] | None:
        """WEBHOOKS: the answer to the channel's check that the endpoint is ours (eBay's
        GET with `challenge_code`), or None when the channel type makes no such check or
        the query is not one (answered 404)."""
        return None

    def event_queue(self) -> str | None:
        """ORDER_EVENTS: the queue this channel hears order changes on (channels sharing a
        queue share one listener); None when the channel file configures none."""
        return None

    def event_wait_seconds(self) -> float:
        """ORDER_EVENTS: how long one receive waits for the first event."""
        return 20.0

    def event_late_after(self) -> timedelta:
        """ORDER_EVENTS: how late an event may be before polling counts its order
        change as one no event brought (core/order_events.py)."""
        return timedelta(seconds=60)

    def event_audience(self) -> str:
        """ORDER_EVENTS: the `OrderEvent.audience` of the events meant for this channel."""
        return ""

    def receive_order_events(self, wait_seconds: float) -> list[OrderEvent]:
        """ORDER_EVENTS: the messages waiting on the queue, after waiting up to
        `wait_seconds` for the first; [] when none came."""
        raise PermanentError(f"{self.channel_type} has no order-event queue")

    def acknowledge_order_events(self, receipts: Sequence[str]) -> None:
        """ORDER_EVENTS: take these messages off the queue (their orders are committed)."""
        raise PermanentError(f"{self.channel_type} has no order-event queue")

    def fetch_order(self, external_id: str) -> NormalisedOrder:
        """One order, as it is now (what an order event names). PayloadError when the
        channel does not know it or it cannot be mapped."""
        raise PermanentError(f"{self.channel_type} does not read single orders")

    def map_quarantined(self, kind: str, raw: str) -> WebhookEvents:
        """Map a payload this connector rejected again, from its kept raw text; `kind` as
        it was quarantined (core.dto QUARANTINED_ORDER or QUARANTINED_WEBHOOK). Raises
        PayloadError while it still does not fit. No signature is checked: a webhook's
        was checked when it arrived."""
        raise PayloadError(f"{self.channel_type} channels cannot map a kept {kind} payload again")
