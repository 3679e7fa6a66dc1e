"""The dispatcher: tells every notifier of every alert once, reminds while it stays open,
and says when it is resolved, keeping what was told in AlertDelivery rows.

Per (alert, notifier), derived from the rows on every pass:
- the alert is open and was never announced: send `open`;
- it is open and the last announcement is `repeat_after` old: send `reminder`;
- it is resolved and its resolution was not sent: send `resolved` (also when
  the opening never got through: the resolution says what it was).
A row is made for every open alert the first time a pass sees it (enrol()).
Times recorded are the pass's `now`, the clock reminders are measured with.
An alert that opened and resolved entirely between two passes (a few seconds)
has no row and is not announced; it stays in the alerts table.

Sending happens outside any transaction. Before sending, a pass claims the row
(a compare-and-set on `version` that also pushes `next_attempt_at` out by
`claim_for`), so two hubs on one database never send the same message; a
process that dies after sending and before recording sends it once more.
A notifier that fails is retried after an exponential backoff capped at
`retry_max`, forever: the alert is never dropped. Each notifier sends in a
thread of its own, so a slow or failing one holds up no other and never the hub.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from omnisync.core.clock import Clock, engine_clock
from omnisync.core.db import insert_ignoring_conflict, run_in_transaction, transaction
from omnisync.core.models import Alert, AlertDelivery, Channel
from omnisync.core.models.tables import table_of
from omnisync.core.redaction import redact, redact_data
from omnisync.core.types import AlertState
from omnisync.sync.health import describe_duration
from omnisync.sync.notify.notifiers import DeliveryFailed, Notification, NotificationState, Notifier

log = logging.getLogger("omnisync.alerts")

RETRY_INITIAL = timedelta(seconds=10)
RETRY_MAX = timedelta(minutes=15)
CLAIM_FOR = timedelta(minutes=5)
"""Longer than a notifier's whole batch can take (timeouts of 10s per message)."""


@dataclass(frozen=True)
class _Due:
    delivery_id: int
    version: int
    notifier: str
    notification: Notification


@dataclass
class DispatchResult:
    """What one pass sent (notifier, alert id, state) and what failed (with the error)."""

    sent: list[tuple[str, int, NotificationState]] = field(default_factory=list)
    failed: list[tuple[str, int, NotificationState, str]] = field(default_factory=list)


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        notifiers: Sequence[Notifier],
        *,
        repeat_after: timedelta,
        secrets: Iterable[str] = (),
        retry_initial: timedelta = RETRY_INITIAL,
        retry_max: timedelta = RETRY_MAX,
        claim_for: timedelta = CLAIM_FOR,
        clock: Clock | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock or engine_clock(engine)
        self.notifiers = {notifier.name: notifier for notifier in notifiers}
        self.repeat_after = repeat_after
        self.secrets = frozenset(secrets)
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.claim_for = claim_for
        self._pool = ThreadPoolExecutor(
            max_workers=max(len(self.notifiers), 1), thread_name_prefix="notify"
        )
        self._busy: set[str] = set()
        self._lock = threading.Lock()

    def close(self) -> None:
        """Wait for the sends in flight, then close the notifiers."""
        self._pool.shutdown(wait=True)
        for notifier in self.notifiers.values():
            notifier.close()

    def enrol(self) -> int:
        """Make a delivery row per notifier for every open alert; returns how many."""
        if not self.notifiers:
            return 0
        return run_in_transaction(self.engine, self._enrol)

    def _enrol(self, session: Session) -> int:
        open_ids = list(session.exec(select(Alert.id).where(Alert.state == AlertState.OPEN)))
        if not open_ids:
            return 0
        known = set(
            session.exec(
                select(AlertDelivery.alert_id, AlertDelivery.notifier).where(
                    col(AlertDelivery.alert_id).in_(open_ids)
                )
            ).all()
        )
        now = self.clock.now()
        made = 0
        for alert_id in open_ids:
            for name in self.notifiers:
                if alert_id is None or (alert_id, name) in known:
                    continue
                made += insert_ignoring_conflict(
                    session,
                    table_of(AlertDelivery),
                    {
                        "alert_id": alert_id,
                        "notifier": name,
                        "reminders": 0,
                        "failures": 0,
                        "version": 0,
                        "created_at": now,
                    },
                    ["alert_id", "notifier"],
                )
        return made

    def dispatch(self, now: datetime | None = None, *, wait: bool = True) -> DispatchResult:
        """Send what is due. With `wait`, return once every send of this pass is done;
        without, a notifier still busy with an earlier pass is skipped this time."""
        now = now or self.clock.now()
        result = DispatchResult()
        if not self.notifiers:
            return result
        with self._lock:
            idle = [name for name in self.notifiers if name not in self._busy]
        due = self._claim(self._due(now, idle), now)
        by_notifier: dict[str, list[_Due]] = defaultdict(list)
        for item in due:
            by_notifier[item.notifier].append(item)
        futures: list[Future[None]] = []
        for name, items in by_notifier.items():
            with self._lock:
                self._busy.add(name)
            futures.append(self._pool.submit(self._send_all, name, items, now, result))
        if wait:
            for future in futures:
                future.result()
        return result

    def _due(self, now: datetime, notifiers: Sequence[str]) -> list[_Due]:
        if not notifiers:
            return []
        with transaction(self.engine, read_only=True) as session:
            rows = session.exec(
                select(AlertDelivery, Alert, Channel.name)
                .join(Alert, col(Alert.id) == AlertDelivery.alert_id)
                .outerjoin(Channel, col(Channel.id) == Alert.channel_id)
                .where(
                    col(AlertDelivery.resolved_sent_at).is_(None),
                    col(AlertDelivery.notifier).in_(list(notifiers)),
                )
                .order_by(col(AlertDelivery.id))
            ).all()
        due = []
        for delivery, alert, channel in rows:
            if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
                continue
            state = self._state_due(delivery, alert, now)
            if state is not None and delivery.id is not None:
                notification = self._notification(state, alert, channel)
                due.append(_Due(delivery.id, delivery.version, delivery.notifier, notification))
        return due

    def _state_due(
        self, delivery: AlertDelivery, alert: Alert, now: datetime
    ) -> NotificationState | None:
        if alert.state == AlertState.RESOLVED:
            return NotificationState.RESOLVED
        if delivery.announced_at is None:
            return NotificationState.OPEN
        last = max(delivery.announced_at, delivery.reminded_at or delivery.announced_at)
        if now - last >= self.repeat_after:
            return NotificationState.REMINDER
        return None

    def _notification(
        self, state: NotificationState, alert: Alert, channel: str | None
    ) -> Notification:
        assert alert.id is not None
        return Notification(
            state=state,
            alert_id=alert.id,
            rule=alert.rule,
            channel=channel,
            severity=alert.severity.value,
            message=redact(alert.message, self.secrets),
            details=redact_data(alert.details, self.secrets),
            first_seen=alert.first_seen,
            last_seen=alert.last_seen,
            count=alert.count,
            resolved_at=alert.resolved_at,
        )

    def _claim(self, due: list[_Due], now: datetime) -> list[_Due]:
        """Keep the rows this process won; another hub may be sending the others."""
        if not due:
            return []

        def claim(session: Session) -> list[_Due]:
            won = []
            for item in due:
                changed = session.execute(
                    update(AlertDelivery)
                    .where(
                        col(AlertDelivery.id) == item.delivery_id,
                        col(AlertDelivery.version) == item.version,
                    )
                    .values(version=item.version + 1, next_attempt_at=now + self.claim_for)
                )
                if getattr(changed, "rowcount", 0) == 1:
                    won.append(item)
            return won

        return run_in_transaction(self.engine, claim)

    def _send_all(
        self, name: str, items: list[_Due], now: datetime, result: DispatchResult
    ) -> None:
        try:
            notifier = self.notifiers[name]
            for item in items:
                self._send(notifier, item, now, result)
        except Exception:
            # The database, most likely: the claimed rows come due again after claim_for.
            log.exception("notifier %s: a delivery could not be recorded", name)
        finally:
            with self._lock:
                self._busy.discard(name)

    def _send(self, notifier: Notifier, item: _Due, now: datetime, result: DispatchResult) -> None:
        notification = item.notification
        try:
            notifier.send(notification)
        except Exception as failure:
            reason = failure if isinstance(failure, DeliveryFailed) else repr(failure)
            error = redact(str(reason), self.secrets)
            self._record_failure(item, now, error)
            with self._lock:
                result.failed.append(
                    (notifier.name, notification.alert_id, notification.state, error)
                )
            return
        self._record_sent(item, now)
        with self._lock:
            result.sent.append((notifier.name, notification.alert_id, notification.state))

    def _record_sent(self, item: _Due, sent_at: datetime) -> None:
        state = item.notification.state
        changes: dict[NotificationState, dict[str, Any]] = {
            NotificationState.OPEN: {"announced_at": sent_at},
            NotificationState.REMINDER: {
                "reminded_at": sent_at,
                "reminders": AlertDelivery.reminders + 1,
            },
            NotificationState.RESOLVED: {"resolved_sent_at": sent_at},
        }
        values = changes[state]

        def record(session: Session) -> None:
            session.execute(
                update(AlertDelivery)
                .where(col(AlertDelivery.id) == item.delivery_id)
                .values(
                    **values,
                    failures=0,
                    next_attempt_at=None,
                    last_error=None,
                    version=AlertDelivery.version + 1,
                )
            )
            session.execute(
                update(Alert)
                .where(
                    col(Alert.id) == item.notification.alert_id, col(Alert.notified_at).is_(None)
                )
                .values(notified_at=sent_at)
            )

        run_in_transaction(self.engine, record)

    def backoff(self, failures: int) -> timedelta:
        """The wait after the `failures`-th failure in a row: doubling, capped."""
        doubled: timedelta = self.retry_initial * 2 ** min(failures - 1, 32)
        return min(self.retry_max, doubled)

    def _record_failure(self, item: _Due, now: datetime, error: str) -> None:
        def record(session: Session) -> int:
            delivery = session.get(AlertDelivery, item.delivery_id)
            assert delivery is not None
            delivery.failures += 1
            delivery.next_attempt_at = now + self.backoff(delivery.failures)
            delivery.last_error = error
            delivery.version += 1
            session.add(delivery)
            return delivery.failures

        failures = run_in_transaction(self.engine, record)
        notification = item.notification
        log.warning(
            "notifier %s could not send the %s notification of alert %d (%s), attempt %d: %s; "
            "next try in %s",
            item.notifier,
            notification.state.value,
            notification.alert_id,
            notification.rule,
            failures,
            error,
            describe_duration(self.backoff(failures)),
            extra={"channel": notification.channel},
        )
