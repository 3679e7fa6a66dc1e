"""The dispatcher: once per notifier, reminders, resolution, retries, restarts, two hubs."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from omnisync.core.alerting import open_alert, quarantine_payload, resolve_alert
from omnisync.core.channels import channel_by_name
from omnisync.core.clock import utcnow
from omnisync.core.db import transaction
from omnisync.core.models import Alert, AlertDelivery, QuarantinedPayload
from omnisync.sync.alerts import AlertMonitor, AlertRules
from omnisync.sync.engine import SyncEngine
from omnisync.sync.notify import DeliveryFailed, Dispatcher, Notification, NotificationState
from tests.support.world import build_world

HOUR = timedelta(hours=1)
SECRET = "s3cr3t-in-a-message-7c21"
OPEN, REMINDER, RESOLVED = (
    NotificationState.OPEN,
    NotificationState.REMINDER,
    NotificationState.RESOLVED,
)


class Recorder:
    """A notifier that keeps what it was sent, or fails while `failing` is set."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[Notification] = []
        self.failing = False
        self.lock = threading.Lock()

    def send(self, notification: Notification) -> None:
        if self.failing:
            raise DeliveryFailed("the receiver is down")
        with self.lock:
            self.sent.append(notification)

    def states(self) -> list[tuple[int, NotificationState]]:
        return [(item.alert_id, item.state) for item in self.sent]

    def close(self) -> None:
        pass


def raise_alert(engine: Engine, rule: str = "consecutive_failures") -> int:
    with transaction(engine) as session:
        alert = open_alert(
            session,
            rule,
            channel_by_name(session, "shop").id,
            f"shop: orders failed 3 runs in a row: key {SECRET} refused",
            details={"last_error": f"key {SECRET} refused"},
        )
        assert alert.id is not None
        return alert.id


def resolve(engine: Engine, rule: str = "consecutive_failures") -> None:
    with transaction(engine) as session:
        resolve_alert(session, rule, channel_by_name(session, "shop").id)


def dispatcher(engine: Engine, *notifiers: Recorder) -> Dispatcher:
    return Dispatcher(engine, notifiers, repeat_after=HOUR, secrets=[SECRET])


def dispatch(target: Dispatcher, at: datetime) -> None:
    target.enrol()
    target.dispatch(at)


def test_each_notifier_hears_once_then_a_reminder_then_the_resolution(engine: Engine) -> None:
    build_world(engine)
    alert_id = raise_alert(engine)
    chat, mail = Recorder("chat"), Recorder("mail")
    first = dispatcher(engine, chat, mail)
    now = utcnow()
    dispatch(first, now)
    assert chat.states() == mail.states() == [(alert_id, OPEN)]
    (told,) = chat.sent
    assert told.channel == "shop"
    assert told.message == "shop: orders failed 3 runs in a row: key *** refused"
    assert told.details == {"last_error": "key *** refused"}
    with Session(engine) as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        assert alert.notified_at is not None

    dispatch(first, now + 59 * timedelta(minutes=1))
    assert len(chat.sent) == 1
    first.close()

    restarted = dispatcher(engine, chat, mail)  # a new process: the rows remember
    dispatch(restarted, now + 30 * timedelta(minutes=1))
    assert len(chat.sent) == 1
    dispatch(restarted, now + HOUR + timedelta(seconds=5))
    assert chat.states() == mail.states() == [(alert_id, OPEN), (alert_id, REMINDER)]
    dispatch(restarted, now + HOUR + timedelta(minutes=10))
    assert len(chat.sent) == 2

    resolve(engine)
    dispatch(restarted, now + HOUR + timedelta(minutes=11))
    assert chat.states()[-1] == mail.states()[-1] == (alert_id, RESOLVED)
    dispatch(restarted, now + 5 * HOUR)
    assert len(chat.sent) == len(mail.sent) == 3
    restarted.close()
    with Session(engine) as session:
        rows = session.exec(select(AlertDelivery).order_by(AlertDelivery.notifier)).all()
    assert [(row.notifier, row.reminders, row.failures) for row in rows] == [
        ("chat", 1, 0),
        ("mail", 1, 0),
    ]
    assert all(row.resolved_sent_at is not None for row in rows)


def test_a_failing_notifier_is_retried_with_backoff_and_holds_up_no_other(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    build_world(engine)
    alert_id = raise_alert(engine)
    chat, mail = Recorder("chat"), Recorder("mail")
    mail.failing = True
    target = dispatcher(engine, chat, mail)
    now = utcnow()
    caplog.set_level(logging.WARNING, logger="omnisync.alerts")

    dispatch(target, now)
    assert chat.states() == [(alert_id, OPEN)]
    assert mail.sent == []
    failure = next(r for r in caplog.records if "could not send" in r.getMessage())
    assert failure.getMessage() == (
        f"notifier mail could not send the open notification of alert {alert_id} "
        "(consecutive_failures), attempt 1: the receiver is down; next try in 10s"
    )

    def row() -> AlertDelivery:
        with Session(engine) as session:
            found = session.exec(
                select(AlertDelivery).where(AlertDelivery.notifier == "mail")
            ).one()
            return found

    assert (row().failures, row().next_attempt_at) == (1, now + timedelta(seconds=10))
    dispatch(target, now + timedelta(seconds=9))  # not yet
    assert row().failures == 1
    dispatch(target, now + timedelta(seconds=10))
    assert (row().failures, row().next_attempt_at) == (2, now + timedelta(seconds=30))
    assert row().last_error == "the receiver is down"
    assert [target.backoff(n).total_seconds() for n in (1, 2, 3, 7, 8, 50)] == [
        10,
        20,
        40,
        640,
        900,
        900,
    ]

    resolve(engine)  # resolved before the opening ever got through: nothing is lost
    mail.failing = False
    dispatch(target, now + timedelta(seconds=30))
    assert mail.states() == [(alert_id, RESOLVED)]
    assert chat.states() == [(alert_id, OPEN), (alert_id, RESOLVED)]
    assert (row().failures, row().last_error, row().next_attempt_at) == (0, None, None)
    target.close()
    assert all(SECRET not in record.getMessage() for record in caplog.records)


def test_two_hubs_on_one_database_send_each_message_once(engine: Engine) -> None:
    build_world(engine)
    alert_ids = [raise_alert(engine, rule=f"rule_{n}") for n in range(6)]
    first, second = Recorder("chat"), Recorder("chat")
    hubs = [dispatcher(engine, first), dispatcher(engine, second)]
    now = utcnow()
    for hub in hubs:
        hub.enrol()
    barrier = threading.Barrier(2)

    def run(hub: Dispatcher) -> None:
        barrier.wait()
        hub.dispatch(now)

    threads = [threading.Thread(target=run, args=(hub,)) for hub in hubs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    told = sorted(first.states() + second.states())
    assert told == [(alert_id, OPEN) for alert_id in sorted(alert_ids)]
    for hub in hubs:
        hub.close()


def test_an_alert_raised_and_cleared_between_two_passes_is_still_told(engine: Engine) -> None:
    """The monitor enrols open alerts before its rules resolve them."""
    build_world(engine)
    with transaction(engine) as session:
        shop = channel_by_name(session, "shop").id
        payload = quarantine_payload(session, shop, "order", "{oops", "invalid JSON")
        session.flush()
        row = session.get(QuarantinedPayload, payload.id)
        assert row is not None
        row.resolved_at = utcnow()  # fixed at once, before the monitor looked
        session.add(row)
    chat = Recorder("chat")
    sync = SyncEngine(engine, [])
    monitor = AlertMonitor(sync, AlertRules(), dispatcher(engine, chat))
    evaluation = monitor.run_once()
    assert evaluation.resolved == [("quarantined_payload", "shop")]
    (told,) = chat.sent
    assert told.state == RESOLVED
    assert told.rule == "quarantined_payload"
    monitor.run_once()
    assert len(chat.sent) == 1
    monitor.dispatcher.close()
    sync.close()


def test_a_row_read_by_two_hubs_is_claimed_by_one(engine: Engine) -> None:
    """The interleaving the test above may or may not hit, forced: both read, one wins."""
    build_world(engine)
    raise_alert(engine)
    hubs = [dispatcher(engine, Recorder("chat")), dispatcher(engine, Recorder("chat"))]
    hubs[0].enrol()
    now = utcnow()
    seen = [hub._due(now, ["chat"]) for hub in hubs]
    assert [len(due) for due in seen] == [1, 1]
    assert len(hubs[0]._claim(seen[0], now)) == 1
    assert hubs[1]._claim(seen[1], now) == []
    assert hubs[1]._due(now + timedelta(minutes=1), ["chat"]) == []  # claimed, not yet due
    for hub in hubs:
        hub.close()
