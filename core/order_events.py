"""Order events heard, and order changes polling found that no event brought.

A channel that hears its orders by events (Amazon ORDER_CHANGE over SQS) is still
polled, as the backstop. When the subscription breaks (deleted, the queue's policy
changed, the queue gone), nothing fails: events simply stop and polling, at its slow
published rate, takes the orders in minutes late. That silence is what the
`order_events_missing` alert is for:

- each event taken in is recorded (`event_taken`): when, and how many;
- each orders run notes the order changes it took in that were news to the hub and
  older than the channel's grace (`note_unheard`): an event should have brought them;
- the run then refreshes the alert (`refresh_unheard_alert`): open while polling has
  found at least UNHEARD_TO_ALERT such changes and no event has been taken since the
  first of them; resolved, and the count cleared, once an event is taken after them.

One lost message among many that arrive does not open it (an event soon follows);
a queue that stays silent while orders keep coming does, within two polls.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, select

from omnisync.core.alerting import open_alert, resolve_alert
from omnisync.core.clock import clock_of
from omnisync.core.models import OrderEventIntake
from omnisync.core.types import AlertSeverity

RULE_EVENTS_MISSING = "order_events_missing"
UNHEARD_TO_ALERT = 2
"""Order changes polling must find unheard, with no event since, before the alert opens."""


def _intake(session: Session, channel_id: int) -> OrderEventIntake:
    row = session.exec(
        select(OrderEventIntake)
        .where(OrderEventIntake.channel_id == channel_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        row = OrderEventIntake(channel_id=channel_id)
        session.add(row)
        session.flush()
    return row


def event_taken(session: Session, channel_id: int) -> None:
    """An event of the channel was taken in (its order committed or already current)."""
    row = _intake(session, channel_id)
    row.events_taken += 1
    row.last_event_at = clock_of(session).now()
    session.add(row)
    session.flush()


def note_unheard(
    session: Session, channel_id: int, changes: Sequence[tuple[str, datetime]]
) -> None:
    """Polling took in these (order id, changed at) changes, news to the hub, that an
    event should have brought by now."""
    if not changes:
        return
    row = _intake(session, channel_id)
    now = clock_of(session).now()
    if row.unheard == 0 or _event_since(row):
        row.unheard = 0  # a new streak: the events heard since cleared the last one
    row.unheard += len(changes)
    row.last_unheard_order = max(changes, key=lambda change: change[1])[0]
    row.last_unheard_at = now
    session.add(row)
    session.flush()


def _event_since(row: OrderEventIntake) -> bool:
    return (
        row.last_event_at is not None
        and row.last_unheard_at is not None
        and row.last_event_at > row.last_unheard_at
    )


def refresh_unheard_alert(session: Session, channel_id: int, *, event_words: str) -> None:
    """Open, refresh or resolve the channel's `order_events_missing` alert (see above).
    `event_words` names the events in the message ("ORDER_CHANGE notification")."""
    row = session.get(OrderEventIntake, channel_id)
    if row is None:
        return
    if row.unheard and _event_since(row):
        row.unheard = 0
        session.add(row)
        session.flush()
    if row.unheard >= UNHEARD_TO_ALERT:
        last = "never" if row.last_event_at is None else row.last_event_at.isoformat()
        open_alert(
            session,
            RULE_EVENTS_MISSING,
            channel_id,
            f"polling took in {row.unheard} order changes that no {event_words} brought "
            f"(latest: order {row.last_unheard_order}); last {event_words} taken: {last}. "
            "Check the subscription and the queue: orders now arrive only as fast as "
            "polling reads them",
            severity=AlertSeverity.CRITICAL,
            details={
                "unheard": row.unheard,
                "last_unheard_order": row.last_unheard_order,
                "last_event_at": None if row.last_event_at is None else last,
            },
            new_occurrence=False,
        )
    elif row.unheard == 0:
        resolve_alert(session, RULE_EVENTS_MISSING, channel_id)  # a no-op when none is open
