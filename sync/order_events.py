"""Order events: each event queue long-polled, each event's order taken in through the
same intake as polling and webhooks, and the message acknowledged only after that.

A channel whose connector has ORDER_EVENTS and whose file names a queue
(`Connector.event_queue()`) hears its orders in seconds; polling stays the backstop.
Channels that share a queue (one Amazon seller's marketplaces) share one listener
thread, which hands each event to the channel whose `event_audience()` it names.

For each event, in order:

1. a message that cannot be read, or is meant for an account no channel of the queue
   belongs to, is quarantined (kind `notification`, its body verbatim) and
   acknowledged; one for another part of a served account that no channel sells in
   (Amazon: another marketplace of the seller) is acknowledged and left alone;
2. an order the hub already holds at least as new as the event says is not fetched
   again (a redelivery, or polling got there first): it is acknowledged;
3. otherwise the connector fetches the order as it is now (getOrder) and it is taken
   in, with the event recorded (core/order_events.py), in one transaction; an order
   the channel refuses or that cannot be mapped is quarantined;
4. the batch's messages are acknowledged once all of that is committed.

A failure to fetch (throttled beyond the call policy's retries, the channel down) or
to commit leaves the message on the queue: it comes back after the queue's visibility
timeout, and so does every message of a hub that dies before acknowledging. Taking an
order in twice changes nothing (invariant 2), so a redelivery costs one read at most.
A paused or disabled channel's events are left on the queue, like its polls.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from omnisync.connectors.base import Capability, ConnectorError, PayloadError
from omnisync.core.alerting import quarantine_payload
from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.dto import QUARANTINED_NOTIFICATION, OrderEvent, WebhookEvents
from omnisync.core.models import Channel, Order
from omnisync.core.order_events import event_taken
from omnisync.sync.engine import SyncEngine
from omnisync.sync.webhooks import ingest_events

log = logging.getLogger(__name__)
FAILURE_BACKOFF_MAX = 60.0
"""The longest wait between receives while the queue keeps failing."""


@dataclass
class EventOutcome:
    """What one batch of events came to."""

    taken: list[str] = field(default_factory=list)
    """Orders taken in (fetched and committed)."""
    current: list[str] = field(default_factory=list)
    """Orders the hub already held as new as the event: not fetched."""
    quarantined: int = 0
    ignored: int = 0
    """Events for another part of an account the queue serves (Amazon: another
    marketplace of the seller) that no channel sells in."""
    left: int = 0
    """Messages left on the queue (they come back after its visibility timeout)."""


def take_order_events(
    sync: SyncEngine, channel_names: Sequence[str], events: Sequence[OrderEvent]
) -> EventOutcome:
    """Take one batch of events of a queue shared by `channel_names` (the first is the
    one that received them) and acknowledge what was committed or quarantined."""
    outcome = EventOutcome()
    receiver = channel_names[0]
    by_audience = {sync.connector(name).event_audience(): name for name in channel_names}
    done: list[str] = []
    for event in events:
        name = by_audience.get(event.audience or "") if event.error is None else None
        if name is None and event.error is None and _sibling(event.audience, by_audience):
            log.info(
                "%s: %s for %s, which the hub does not sell in: taken off the queue",
                receiver,
                event.external_id,
                event.audience,
            )
            outcome.ignored += 1
            done.append(event.receipt)
        elif name is None:
            reason = event.error or (
                f"an event for {event.audience}, which no channel on this queue is"
            )
            _quarantine(sync, receiver, event, reason)
            outcome.quarantined += 1
            done.append(event.receipt)
        elif not _live(sync, name):
            outcome.left += 1
        elif _take(sync, name, event, outcome):
            done.append(event.receipt)
        else:
            outcome.left += 1
    if done:
        sync.connector(receiver).acknowledge_order_events(done)
    return outcome


def _sibling(audience: str | None, known: Iterable[str]) -> bool:
    """`audience` is `account/part` of an account one of the `known` audiences belongs to."""
    account = (audience or "").rpartition("/")[0]
    return bool(account) and any(other.rpartition("/")[0] == account for other in known)


def _take(sync: SyncEngine, name: str, event: OrderEvent, outcome: EventOutcome) -> bool:
    """Take one readable event in; False when it must stay on the queue."""
    assert event.external_id is not None
    with sync.borrowed(name) as connector:
        if _held_as_new(sync, name, event):
            with transaction(sync.database) as session:
                event_taken(session, _channel_id(session, name))
            outcome.current.append(event.external_id)
            return True
        try:
            order = connector.fetch_order(event.external_id)
        except PayloadError as error:
            _quarantine(sync, name, event, str(error))
            outcome.quarantined += 1
            return True
        except ConnectorError as error:
            log.warning(
                "%s: order %s named by %s could not be read (%s); the message stays on the "
                "queue and comes back",
                name,
                event.external_id,
                connector.order_event_name,
                error,
            )
            return False
    with transaction(sync.database) as session:
        channel = channel_by_name(session, name)
        ingest_events(session, channel, WebhookEvents(orders=(order,)))
        assert channel.id is not None
        event_taken(session, channel.id)
    outcome.taken.append(order.external_id)
    return True


def _held_as_new(sync: SyncEngine, name: str, event: OrderEvent) -> bool:
    if event.changed_at is None:
        return False
    with transaction(sync.database, read_only=True) as session:
        stored = session.exec(
            select(Order.updated_at)
            .join(Channel, col(Channel.id) == Order.channel_id)
            .where(Channel.name == name, Order.external_id == event.external_id)
        ).first()
    return stored is not None and stored >= event.changed_at


def _live(sync: SyncEngine, name: str) -> bool:
    channel = sync.channels.get(name)
    if channel is None or not channel.enabled:
        return False
    with transaction(sync.database, read_only=True) as session:
        return channel_by_name(session, name).paused_reason is None


def _channel_id(session: Session, name: str) -> int:
    channel = channel_by_name(session, name)
    assert channel.id is not None
    return channel.id


def _quarantine(sync: SyncEngine, name: str, event: OrderEvent, reason: str) -> None:
    with transaction(sync.database) as session:
        channel_id = _channel_id(session, name)
        quarantine_payload(
            session,
            channel_id,
            QUARANTINED_NOTIFICATION,
            event.raw,
            reason,
            external_id=event.external_id,
        )
    log.warning("%s: message %s quarantined: %s", name, event.message_id, reason)


def event_queues(sync: SyncEngine) -> dict[str, list[str]]:
    """Queue -> the enabled channels that hear their orders on it, in name order."""
    queues: dict[str, list[str]] = {}
    for name in sorted(sync.channels):
        channel = sync.channels[name]
        if not channel.enabled or not sync.has_capability(name, Capability.ORDER_EVENTS):
            continue
        queue = sync.connector(name).event_queue()
        if queue is not None:
            queues.setdefault(queue, []).append(name)
    return queues


class EventListener:
    """One thread long-polling one queue for the channels that share it."""

    def __init__(
        self, sync: SyncEngine, queue: str, channel_names: Sequence[str], wait_seconds: float
    ) -> None:
        self.sync = sync
        self.queue = queue
        self.channel_names = tuple(channel_names)
        self.wait_seconds = wait_seconds
        self.stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._listen, name=f"events:{channel_names[0]}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop after the receive in flight; a message it brings back that is not taken
        in returns to the queue by itself."""
        self.stopping.set()
        self._thread.join(timeout)

    def _done(self) -> bool:
        return self.stopping.is_set() or self.sync.stop.is_set()

    def _listen(self) -> None:
        failures = 0
        while not self._done():
            try:
                with self.sync.borrowed(self.channel_names[0]) as connector:
                    events = connector.receive_order_events(self.wait_seconds)
                failures = 0
            except Exception as error:
                failures += 1
                wait = min(2.0**failures, FAILURE_BACKOFF_MAX)
                log.warning(
                    "%s: receiving from %s failed (%s: %s); trying again in %.0f s",
                    ", ".join(self.channel_names),
                    self.queue,
                    type(error).__name__,
                    error,
                    wait,
                )
                self.stopping.wait(wait)
                continue
            if not events or self._done():
                continue
            try:
                outcome = take_order_events(self.sync, self.channel_names, events)
            except Exception:
                log.exception("%s: taking order events in failed", self.channel_names[0])
                continue
            if outcome.taken:
                log.info(
                    "%s: %d orders taken from events (%s)",
                    ", ".join(self.channel_names),
                    len(outcome.taken),
                    ", ".join(outcome.taken[:5]),
                )


class EventListeners:
    """The listeners of every configured queue, kept in step with the channel list."""

    def __init__(self, sync: SyncEngine, *, wait_seconds: float | None = None) -> None:
        self.sync = sync
        self.wait_seconds = wait_seconds
        self._listeners: dict[str, EventListener] = {}

    def refresh(self) -> list[str]:
        """Start listeners for new queues, restart changed ones, stop the rest; a line
        per change, for the log."""
        wanted = event_queues(self.sync)
        changes: list[str] = []
        for queue, listener in list(self._listeners.items()):
            if wanted.get(queue) != list(listener.channel_names):
                listener.stop()
                del self._listeners[queue]
                changes.append(f"stopped listening to {queue}")
        for queue, names in wanted.items():
            if queue not in self._listeners:
                listener = EventListener(self.sync, queue, names, self._wait(names[0]))
                listener.start()
                self._listeners[queue] = listener
                changes.append(f"listening to {queue} for {', '.join(names)}")
        return changes

    def _wait(self, name: str) -> float:
        if self.wait_seconds is not None:
            return self.wait_seconds
        return self.sync.connector(name).event_wait_seconds()

    def stop(self) -> None:
        for listener in self._listeners.values():
            listener.stopping.set()
        for listener in self._listeners.values():
            listener.stop()
        self._listeners.clear()
