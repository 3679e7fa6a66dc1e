"""Alert rules: read the runs and the outbox, then open, refresh or resolve alert rows.

Rules evaluated here, one alert per (rule, channel), thresholds from hub.yaml
`alert_rules:` (hub/settings.py AlertRulesConfig):

- `consecutive_failures`: a job failed that many runs in a row (sync/health.py
  says how runs count). The details name every failing job, its failures and
  its last error.
- `stale`: a scheduled job has had no success for `stale_after` times its
  interval, counted from the latest of its last success, the channel's last
  config change and the moment the hub started watching. Stale is for jobs
  that do not run (a stuck scheduler, a lease never released, runs that only
  get cancelled): a job whose last runs failed is failing, which is the
  consecutive_failures rule's to say.
- `push_backlog`: the channel's oldest dirty listing has waited longer than
  `push_backlog_age` for its stock push.
- `unlinked_listings`: an open line of a holding order is bound to no hub SKU, or a
  listing has been unlinked for longer than `unlinked_after` (core/unlinked.py). Order
  intake and linking raise it too, where they find it; here it opens for listings
  that crossed `unlinked_after`, is renamed, and resolves once nothing is unlinked.
  Every channel is looked at, watched or not: open lines of a disabled channel still
  reserve nothing.
- `return_waiting`: a return of the channel has been in transit, or received in part or
  whole, and not closed for longer than `return_open_after`, counted from its first
  receipt, else from when it went in transit. The message counts them and names the
  oldest few.
- `refund_failed`: the channel refused the refund of a return (its words in the
  message); resolves once no return's refund is failed (a new `returns refund` asks
  again).
- `return_push_failed`: the channel refused what the hub told it of a return (approve,
  decline, process, refund), kept on the return_pushes row and retried with backoff;
  resolves once no push of the channel is failed.
  The three look at every channel, watched or not: the warehouse and the buyer wait
  whatever the channel's state.

Under runner `procrastinate` (hub.yaml `workers:`, QueueRules) three rules watch the
queue itself (sync/queue/state.py), one alert each, of no channel:

- `worker_stalled` (critical): a task is running on a worker whose heartbeat is older
  than `stalled_after` (or whose worker row is gone), or workers are registered, none is
  alive and tasks wait.
- `queue_backlog`: the oldest task due in some queue has waited longer than
  `queue_age_alert` for a worker.
- `tick_stopped` (critical): a job kind's periodic tick was not deferred for
  `tick_stopped_after` while the queue was active all along (a worker alive within that
  time, or tasks waiting): its jobs are not scheduled. Counted from when this monitor
  first saw the queue active (QueueWatch), so a worker starting after a quiet spell
  raises nothing before its first ticks.
Each resolves once its condition ends; under runner `single` an open one resolves.

They watch enabled, unpaused, configured channels only: a paused channel has
its `auth_failure` alert, and the alerts of a channel that stops being watched
resolve.

Alerts opened where the problem is found (in the transaction that finds it)
resolve here once it is gone:

- `oversold_order`: no order of the channel is oversold any more;
- `quarantined_payload`: every quarantined payload of the channel is resolved
  (the resolve or retry that clears the last one resolves it at once too);
- `buyer_cancel_request`: none of the orders it lists still holds stock;
- `revision_cap`: no listing of the channel is coalesced or held near its daily revision
  limit any more (core/revision_cap.py);
- `auth_failure`: resolved wherever the pause ends (core/channels.py
  resume_channel: a changed channel config, the channel's next successful run);
  here when the channel is disabled or no longer configured;
- `carrier_exception` and `tracking_unknown`: the tracking job resolves them.

An operator may resolve any open alert (sync/alert_resolution.py); one whose
condition still holds opens again, as a new row. The watching rules do that on
the next evaluation as they would anyway; the first four above, and
`auth_failure` of an enabled channel still paused, here, when the last row of
their (rule, channel) is the one resolved by hand (`REOPENED_HERE`);
`unlinked_listings` and the three return rules on the next evaluation, as any refresh
of them does;
`tracking_unknown` on the tracking job's next run. `carrier_exception` stays
resolved: a new one opens for a parcel that enters trouble afterwards.

Each alert is locked before its condition is read, so a transaction raising it
again at the same moment either commits first (and is seen) or finds it
resolved and opens a new one: no occurrence is lost.

A pass costs a handful of queries however many channels there are: the channels' health,
the open alerts of the per-channel rules (locked, before any condition is read), what is
unlinked and each return rule's rows are read once for every channel and looked up channel
by channel; only an alert that opens, changes or resolves costs queries of its own.

`count` of a rule alert is how often new evidence was seen (another failed
run, another stale job), not how often the rules ran.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select
from sqlmodel import Session, col, func, select

from omnisync.core.alerting import (
    RULE_AUTH,
    RULE_BUYER_CANCEL,
    RULE_OVERSOLD,
    RULE_QUARANTINE,
    RULE_REVISION_CAP,
    RULE_UNLINKED,
    current_alert,
    has_unresolved_payloads,
    open_alert,
    open_alerts_by_key,
    resolve_locked_alert,
    unresolved_payload_count,
)
from omnisync.core.clock import iso
from omnisync.core.db import count_where, exists_where, run_in_transaction
from omnisync.core.models import Alert, Channel, Order, Return, ReturnPush
from omnisync.core.redaction import redact
from omnisync.core.reservations import HOLDING_STATUSES
from omnisync.core.revision_cap import count_held_listings, has_held_listings
from omnisync.core.types import AlertSeverity, AlertState, PushState, RefundState, ReturnStatus
from omnisync.core.unlinked import UNLINKED_AFTER, channels_with_unlinked, refresh_unlinked_alert
from omnisync.sync.engine import SyncEngine
from omnisync.sync.health import (
    ChannelHealth,
    JobHealth,
    channel_health,
    describe_duration,
    scheduled_jobs,
)
from omnisync.sync.notify import Dispatcher
from omnisync.sync.queue.state import QueueState, queue_state

log = logging.getLogger("omnisync.alerts")

RULE_CONSECUTIVE_FAILURES = "consecutive_failures"
RULE_STALE = "stale"
RULE_PUSH_BACKLOG = "push_backlog"
WATCHING_RULES = (RULE_CONSECUTIVE_FAILURES, RULE_STALE, RULE_PUSH_BACKLOG)
RULE_RETURN_WAITING = "return_waiting"
RULE_REFUND_FAILED = "refund_failed"
RULE_RETURN_PUSH_FAILED = "return_push_failed"
RETURN_RULES = (RULE_RETURN_WAITING, RULE_REFUND_FAILED, RULE_RETURN_PUSH_FAILED)
CHANNEL_RULES = (*WATCHING_RULES, RULE_AUTH, RULE_UNLINKED, *RETURN_RULES)
"""The rules evaluate_rules applies to every channel: their open alerts are read once a pass."""
RULE_WORKER_STALLED = "worker_stalled"
RULE_QUEUE_BACKLOG = "queue_backlog"
RULE_TICK_STOPPED = "tick_stopped"
QUEUE_RULES = (RULE_WORKER_STALLED, RULE_QUEUE_BACKLOG, RULE_TICK_STOPPED)
"""The rules of runner `procrastinate`'s queue (evaluate_queue_rules)."""
NAMED_IN_MESSAGE = 5
"""How many returns (the oldest) or pushes a return alert's message and details name."""
_WAITING_RETURNS = (
    ReturnStatus.IN_TRANSIT,
    ReturnStatus.PARTIALLY_RECEIVED,
    ReturnStatus.RECEIVED,
)


@dataclass(frozen=True)
class AlertRules:
    consecutive_failures: int = 3
    stale_after: float = 5.0
    """Times the job's interval."""
    push_backlog_age: timedelta = timedelta(minutes=10)
    repeat_after: timedelta = timedelta(hours=1)
    """Read by the dispatcher: how long an open alert waits for its reminder."""
    unlinked_after: timedelta = UNLINKED_AFTER
    """How long a listing may stay unlinked before `unlinked_listings` names it."""
    return_open_after: timedelta = timedelta(days=7)
    """How long a return may wait in transit or received before `return_waiting` names it."""


@dataclass(frozen=True)
class QueueRules:
    """hub.yaml `workers:` thresholds (hub/settings.py WorkersConfig)."""

    stalled_after: timedelta = timedelta(seconds=10)
    queue_age_alert: timedelta = timedelta(minutes=5)
    tick_stopped_after: timedelta = timedelta(minutes=1)


@dataclass
class QueueWatch:
    """What the monitor remembers between passes of the queue rules."""

    active_since: datetime | None = None
    """Since when a worker has been alive (or tasks waiting) at every pass; None: not now."""


@dataclass
class Evaluation:
    """What one evaluation changed: (rule, channel name) pairs, for the log and tests."""

    opened: list[tuple[str, str | None]] = field(default_factory=list)
    resolved: list[tuple[str, str | None]] = field(default_factory=list)


@dataclass(frozen=True)
class _Finding:
    message: str
    details: dict[str, Any]
    severity: AlertSeverity
    new_evidence: Callable[[dict[str, Any] | None], bool]
    """Given the open alert's details: is this more than was already known?"""


@dataclass(frozen=True)
class _FirstFew:
    """A channel's rows for a return rule: how many, and the first NAMED_IN_MESSAGE."""

    count: int
    rows: list[tuple[Any, ...]]
    """The selected entities and columns of each row, in the rule's order."""


@dataclass(frozen=True)
class _EveryChannel:
    """What a pass reads once for every channel and then looks up channel by channel, so
    that its queries do not grow with the channels."""

    open_alerts: dict[tuple[str, int | None], Alert]
    """The open alerts of CHANNEL_RULES, locked, by (rule, channel id)."""
    unlinked: set[int]
    """The channels with an unbound open line or a listing unlinked too long."""
    waiting_returns: dict[int, _FirstFew]
    """(Return, waiting since) rows, the longest waiting first."""
    failed_refunds: dict[int, _FirstFew]
    """(Return,) rows, the least recently updated first."""
    refused_pushes: dict[int, _FirstFew]
    """(ReturnPush, Return) rows, the oldest push first."""

    @classmethod
    def read(cls, session: Session, rules: AlertRules, now: datetime) -> _EveryChannel:
        """The alerts first (arguments are evaluated in order): each is locked before its
        condition is read."""
        return cls(
            open_alerts=open_alerts_by_key(session, CHANNEL_RULES),
            unlinked=channels_with_unlinked(session, rules.unlinked_after),
            waiting_returns=_waiting_returns_by_channel(session, rules, now),
            failed_refunds=_failed_refunds_by_channel(session),
            refused_pushes=_refused_pushes_by_channel(session),
        )

    def alert(self, rule: str, channel: ChannelHealth) -> Alert | None:
        """The channel's open `rule` alert, as read (and locked) at the start of the pass."""
        return self.open_alerts.get((rule, channel.id))


def evaluate_rules(
    session: Session,
    rules: AlertRules,
    now: datetime,
    *,
    schedules: Mapping[str, Mapping[str, timedelta]],
    watching_since: datetime,
    secrets: Iterable[str] = (),
) -> Evaluation:
    """Apply every rule once. `schedules`: the watched channels (enabled and configured)
    and the interval of each job the scheduler runs for them (sync.health.scheduled_jobs)."""
    result = Evaluation()
    secret_values = frozenset(secrets)
    channels = channel_health(session, now, schedules=schedules)
    known = _EveryChannel.read(session, rules, now)
    for channel in channels:
        watched = channel.enabled and channel.name in schedules and not channel.paused_reason
        findings = (
            {
                RULE_CONSECUTIVE_FAILURES: _failing_jobs(channel, rules, secret_values),
                RULE_STALE: _stale_jobs(channel, rules, now, watching_since),
                RULE_PUSH_BACKLOG: _push_backlog(channel, rules),
            }
            if watched
            else dict.fromkeys(WATCHING_RULES)
        )
        for rule, finding in findings.items():
            _apply(session, result, rule, channel, known.alert(rule, channel), finding)
        if not (channel.enabled and channel.name in schedules):
            _resolve(session, result, known.alert(RULE_AUTH, channel), channel.name)
        _refresh_unlinked(session, result, channel, rules, known)
        returns = {
            RULE_RETURN_WAITING: _waiting_returns(
                channel, rules, now, known.waiting_returns.get(channel.id)
            ),
            RULE_REFUND_FAILED: _failed_refunds(
                channel, known.failed_refunds.get(channel.id), secret_values
            ),
            RULE_RETURN_PUSH_FAILED: _refused_return_pushes(
                channel, known.refused_pushes.get(channel.id), secret_values
            ),
        }
        for rule, finding in returns.items():
            _apply(session, result, rule, channel, known.alert(rule, channel), finding)
    _resolve_cleared(session, result)
    _reopen_resolved_by_hand(session, result)
    return result


def _apply(
    session: Session,
    result: Evaluation,
    rule: str,
    channel: ChannelHealth | None,
    alert: Alert | None,
    finding: _Finding | None,
) -> None:
    """Open or refresh the (rule, channel) alert on a finding, else resolve it. `alert`: the
    open one, read locked; `channel` None: the alert belongs to no channel."""
    name = channel.name if channel is not None else None
    if finding is None:
        _resolve(session, result, alert, name)
        return
    if alert is None:
        result.opened.append((rule, name))
    open_alert(
        session,
        rule,
        channel.id if channel is not None else None,
        finding.message,
        severity=finding.severity,
        details=finding.details,
        new_occurrence=alert is None or finding.new_evidence(alert.details),
    )


def _refresh_unlinked(
    session: Session,
    result: Evaluation,
    channel: ChannelHealth,
    rules: AlertRules,
    known: _EveryChannel,
) -> None:
    """Open, rename or resolve the channel's `unlinked_listings` alert (core/unlinked.py)."""
    was_open = known.alert(RULE_UNLINKED, channel) is not None
    if not was_open and channel.id not in known.unlinked:
        return
    is_open = refresh_unlinked_alert(session, channel.id, rules.unlinked_after)
    if is_open and not was_open:
        result.opened.append((RULE_UNLINKED, channel.name))
    elif was_open and not is_open:
        result.resolved.append((RULE_UNLINKED, channel.name))


def _resolve(session: Session, result: Evaluation, alert: Alert | None, name: str | None) -> None:
    """Resolve `alert`, an open alert read locked, if there is one; `name`: its channel's."""
    if alert is not None:
        resolve_locked_alert(session, alert)
        result.resolved.append((alert.rule, name))


def _failing_jobs(
    channel: ChannelHealth, rules: AlertRules, secrets: frozenset[str]
) -> _Finding | None:
    failing = [
        job for job in channel.jobs if job.consecutive_failures >= rules.consecutive_failures
    ]
    if not failing:
        return None
    details = {
        "jobs": {
            job.job: {
                "consecutive_failures": job.consecutive_failures,
                "last_failure": iso(job.last_failure),
                "last_error": redact(job.last_error or "", secrets) or None,
                "last_success": iso(job.last_success),
            }
            for job in failing
        }
    }
    message = f"{channel.name}: " + "; ".join(
        f"{job.job} failed {job.consecutive_failures} runs in a row"
        + (f": {details['jobs'][job.job]['last_error']}" if job.last_error else "")
        for job in failing
    )

    def new_evidence(known: dict[str, Any] | None) -> bool:
        before = (known or {}).get("jobs", {})
        return any(
            before.get(job, {}).get("consecutive_failures", 0) < entry["consecutive_failures"]
            for job, entry in details["jobs"].items()
        )

    return _Finding(message, details, AlertSeverity.CRITICAL, new_evidence)


def _stale_jobs(
    channel: ChannelHealth, rules: AlertRules, now: datetime, watching_since: datetime
) -> _Finding | None:
    stale: list[tuple[JobHealth, timedelta]] = []
    for job in channel.jobs:
        if job.interval is None or job.consecutive_failures:
            continue
        since = max(
            moment
            for moment in (job.last_success, channel.configured_at, watching_since)
            if moment is not None
        )
        if now - since > job.interval * rules.stale_after:
            stale.append((job, now - since))
    if not stale:
        return None
    details = {
        "jobs": {
            job.job: {
                "last_success": iso(job.last_success),
                "interval_seconds": job.interval.total_seconds() if job.interval else None,
            }
            for job, _ in stale
        }
    }
    message = f"{channel.name}: " + "; ".join(
        f"no successful {job.job} run for {describe_duration(age)}"
        f" (it runs every {describe_duration(job.interval or timedelta(0))})"
        for job, age in stale
    )
    return _Finding(message, details, AlertSeverity.WARNING, _new_jobs(details))


def _push_backlog(channel: ChannelHealth, rules: AlertRules) -> _Finding | None:
    age = channel.oldest_dirty_age
    if age is None or age <= rules.push_backlog_age:
        return None
    message = (
        f"{channel.name}: {channel.dirty_listings} listing(s) wait for a stock push, "
        f"the oldest for {describe_duration(age)}"
    )
    details = {
        "dirty_listings": channel.dirty_listings,
        "oldest_dirty_since": iso(channel.oldest_dirty_since),
    }

    def new_evidence(known: dict[str, Any] | None) -> bool:
        return (known or {}).get("oldest_dirty_since") != details["oldest_dirty_since"]

    return _Finding(message, details, AlertSeverity.WARNING, new_evidence)


def _first_few_by_channel(
    session: Session,
    rows: Select[*tuple[Any, ...]],
    *,
    key: Any,
    channel: Any,
    order: tuple[Any, ...],
) -> dict[int, _FirstFew]:
    """`rows` (a rule's rows of every channel: entities, joins, conditions) per channel: how
    many, and the first NAMED_IN_MESSAGE by `order`, in one query. Window functions number
    each channel's rows, identified by `key`; `channel` is the rows' channel id."""
    ranked = rows.with_only_columns(
        key.label("ranked_key"),
        func.count().over(partition_by=channel).label("total"),
        func.row_number().over(partition_by=channel, order_by=order).label("place"),
    ).subquery("ranked")
    first_few = (
        rows.add_columns(channel, ranked.c.total)
        .join(ranked, ranked.c.ranked_key == key)
        .where(ranked.c.place <= NAMED_IN_MESSAGE)
        .order_by(channel, ranked.c.place)
    )
    found: dict[int, _FirstFew] = {}
    for *row, channel_id, total in session.execute(first_few):
        found.setdefault(channel_id, _FirstFew(total, [])).rows.append(tuple(row))
    return found


def _waiting_returns_by_channel(
    session: Session, rules: AlertRules, now: datetime
) -> dict[int, _FirstFew]:
    """Returns in transit or received and not closed for longer than `return_open_after`."""
    waiting_since = func.coalesce(Return.received_at, Return.status_changed_at)
    waiting = select(Return, waiting_since).where(
        col(Return.status).in_(_WAITING_RETURNS),
        waiting_since < now - rules.return_open_after,
    )
    return _first_few_by_channel(
        session,
        waiting,
        key=col(Return.id),
        channel=col(Return.channel_id),
        order=(waiting_since, col(Return.id)),
    )


def _failed_refunds_by_channel(session: Session) -> dict[int, _FirstFew]:
    """Returns whose refund the channel refused."""
    failed = select(Return).where(Return.refund_state == RefundState.FAILED)
    return _first_few_by_channel(
        session,
        failed,
        key=col(Return.id),
        channel=col(Return.channel_id),
        order=(col(Return.updated_at), col(Return.id)),
    )


def _refused_pushes_by_channel(session: Session) -> dict[int, _FirstFew]:
    """Return pushes the channel refused, with their returns."""
    refused = (
        select(ReturnPush, Return)
        .join(Return, col(Return.id) == ReturnPush.return_id)
        .where(col(ReturnPush.push_state) == PushState.FAILED)
    )
    return _first_few_by_channel(
        session,
        refused,
        key=col(ReturnPush.id),
        channel=col(Return.channel_id),
        order=(col(ReturnPush.created_at), col(ReturnPush.id)),
    )


def _waiting_returns(
    channel: ChannelHealth, rules: AlertRules, now: datetime, waiting: _FirstFew | None
) -> _Finding | None:
    if waiting is None:
        return None
    count = waiting.count
    named = [
        {
            "id": ret.id,
            "name": _return_name(ret),
            "status": ret.status.value,
            "waiting_since": iso(since),
        }
        for ret, since in waiting.rows
    ]
    first, first_since = waiting.rows[0]
    message = (
        f"{channel.name}: {_counted(count, 'return')} in transit or received and not closed "
        f"for more than {describe_duration(rules.return_open_after)}; the oldest, "
        f"{_return_name(first)}, {first.status.value} for {describe_duration(now - first_since)}: "
        + _names_and_more([str(item["name"]) for item in named], count)
    )
    details = {"count": count, "returns": named}
    return _Finding(message, details, AlertSeverity.WARNING, _new_items(details, "returns"))


def _failed_refunds(
    channel: ChannelHealth, failed: _FirstFew | None, secrets: frozenset[str]
) -> _Finding | None:
    if failed is None:
        return None
    count = failed.count
    named = [
        {
            "id": ret.id,
            "name": _return_name(ret),
            "error": redact(ret.refund_error or "refused", secrets),
        }
        for (ret,) in failed.rows
    ]
    message = (
        f"{channel.name}: the refund of {_counted(count, 'return')} failed: "
        + "; ".join(f"{item['name']}: {item['error']}" for item in named)
        + (f"; and {count - len(named)} more" if count > len(named) else "")
    )
    details = {"count": count, "returns": named}
    return _Finding(message, details, AlertSeverity.CRITICAL, _new_items(details, "returns"))


def _refused_return_pushes(
    channel: ChannelHealth, refused: _FirstFew | None, secrets: frozenset[str]
) -> _Finding | None:
    if refused is None:
        return None
    count = refused.count
    named = [
        {
            "id": push.id,
            "return_id": ret.id,
            "return": _return_name(ret),
            "action": push.action.value,
            "attempts": push.push_attempts,
            "error": redact(push.push_error or "refused", secrets),
        }
        for push, ret in refused.rows
    ]
    message = (
        f"{channel.name} refused {_counted(count, 'return update')}: "
        + "; ".join(f"{item['return']} {item['action']}: {item['error']}" for item in named)
        + (f"; and {count - len(named)} more" if count > len(named) else "")
    )
    details = {"count": count, "pushes": named}
    return _Finding(message, details, AlertSeverity.WARNING, _new_items(details, "pushes"))


def _return_name(ret: Return) -> str:
    return ret.name or ret.external_id or f"return {ret.id}"


def _names_and_more(names: list[str], count: int) -> str:
    more = f" and {count - len(names)} more" if count > len(names) else ""
    return ", ".join(names) + more


def _new_items(details: dict[str, Any], key: str) -> Callable[[dict[str, Any] | None], bool]:
    """New evidence: an item (return, push) the open alert did not name, or more of them."""

    def new_evidence(known: dict[str, Any] | None) -> bool:
        before = known or {}
        known_ids = {item.get("id") for item in before.get(key) or []}
        grew = int(details["count"]) > int(before.get("count") or 0)
        return grew or any(item["id"] not in known_ids for item in details[key])

    return new_evidence


def _new_jobs(details: dict[str, Any]) -> Callable[[dict[str, Any] | None], bool]:
    def new_evidence(known: dict[str, Any] | None) -> bool:
        return bool(set(details["jobs"]) - set((known or {}).get("jobs", {})))

    return new_evidence


def evaluate_queue_rules(
    session: Session, rules: QueueRules, watch: QueueWatch, now: datetime
) -> Evaluation:
    """Apply the queue's rules once (PostgreSQL, runner `procrastinate`); `watch` is
    updated for the next pass."""
    state = queue_state(session, rules.stalled_after)
    result = Evaluation()
    findings = {
        RULE_WORKER_STALLED: _stalled_workers(state, rules),
        RULE_QUEUE_BACKLOG: _queue_backlog(state, rules),
        RULE_TICK_STOPPED: _stopped_ticks(state, rules, watch, now),
    }
    for rule, finding in findings.items():
        _apply(session, result, rule, None, current_alert(session, rule, None), finding)
    return result


def resolve_queue_rules(session: Session) -> Evaluation:
    """Runner `single`: no queue to watch; what its rules left open resolves."""
    result = Evaluation()
    for rule in QUEUE_RULES:
        _resolve(session, result, current_alert(session, rule, None), None)
    return result


def _waiting(state: QueueState) -> int:
    return sum(counts.waiting for counts in state.queues.values())


def _stalled_workers(state: QueueState, rules: QueueRules) -> _Finding | None:
    waiting = _waiting(state)
    silent = describe_duration(rules.stalled_after)
    if state.stalled_jobs:
        message = (
            f"{_counted(state.stalled_jobs, 'task')} running on a worker silent for more "
            f"than {silent} (or gone); the sweep fails and defers them again"
        )
    elif state.workers_stalled and not state.workers_alive and waiting:
        message = (
            f"no worker alive: {_counted(state.workers_stalled, 'worker')} silent for more "
            f"than {silent} while {_counted(waiting, 'task')} wait"
        )
    else:
        return None
    details = {
        "stalled_jobs": state.stalled_jobs,
        "workers_alive": state.workers_alive,
        "workers_stalled": state.workers_stalled,
        "waiting": waiting,
    }

    def new_evidence(known: dict[str, Any] | None) -> bool:
        before = known or {}
        return any(
            int(details[key]) > int(before.get(key) or 0)
            for key in ("stalled_jobs", "workers_stalled")
        )

    return _Finding(message, details, AlertSeverity.CRITICAL, new_evidence)


def _queue_backlog(state: QueueState, rules: QueueRules) -> _Finding | None:
    limit = rules.queue_age_alert.total_seconds()
    late = {
        queue: counts
        for queue, counts in sorted(state.queues.items())
        if counts.waiting and counts.oldest_waiting_seconds > limit
    }
    if not late:
        return None
    details: dict[str, Any] = {
        "queues": {
            queue: {
                "waiting": counts.waiting,
                "oldest_waiting_seconds": counts.oldest_waiting_seconds,
            }
            for queue, counts in late.items()
        },
        "workers_alive": state.workers_alive,
    }
    message = (
        "; ".join(
            f"queue {queue}: {_counted(counts.waiting, 'task')} wait, the oldest for "
            f"{describe_duration(timedelta(seconds=counts.oldest_waiting_seconds))}"
            for queue, counts in late.items()
        )
        + f" ({_counted(state.workers_alive, 'worker')} alive)"
    )

    def new_evidence(known: dict[str, Any] | None) -> bool:
        return bool(set(details["queues"]) - set((known or {}).get("queues") or {}))

    return _Finding(message, details, AlertSeverity.WARNING, new_evidence)


def _stopped_ticks(
    state: QueueState, rules: QueueRules, watch: QueueWatch, now: datetime
) -> _Finding | None:
    limit = rules.tick_stopped_after.total_seconds()
    heartbeat = state.newest_heartbeat_age_seconds
    if not ((heartbeat is not None and heartbeat <= limit) or _waiting(state)):
        watch.active_since = None
        return None
    if watch.active_since is None or watch.active_since > now:
        watch.active_since = now
    active_for = (now - watch.active_since).total_seconds()
    stopped = {
        str(job): age
        for job, age in sorted(state.tick_age_seconds.items())
        if min(age if age is not None else float("inf"), active_for) > limit
    }
    if not stopped:
        return None
    details: dict[str, Any] = {
        "ticks": stopped,
        "workers_alive": state.workers_alive,
        "waiting": _waiting(state),
    }
    message = (
        f"periodic ticks not deferred for more than {describe_duration(rules.tick_stopped_after)}"
        f" ({_counted(state.workers_alive, 'worker')} alive): "
        + ", ".join(
            f"{job} (never)"
            if age is None
            else f"{job} ({describe_duration(timedelta(seconds=age))} ago)"
            for job, age in stopped.items()
        )
    )

    def new_evidence(known: dict[str, Any] | None) -> bool:
        return bool(set(details["ticks"]) - set((known or {}).get("ticks") or {}))

    return _Finding(message, details, AlertSeverity.CRITICAL, new_evidence)


@dataclass(frozen=True)
class Condition:
    """What keeps an alert raised elsewhere true, read from the database."""

    holds: Callable[[Session, Alert], bool]
    """Read by every evaluation (an EXISTS): whether the alert's condition still holds."""
    evidence: Callable[[Session, Alert], str]
    """What keeps it true, for an operator who resolved it meanwhile: "2 oversold orders"."""


def _resolve_cleared(session: Session, result: Evaluation) -> None:
    """Resolve the alerts raised elsewhere whose condition is gone."""
    candidates = session.exec(
        select(Alert.rule, Alert.channel_id, Channel.name)
        .outerjoin(Channel, col(Channel.id) == Alert.channel_id)
        .where(Alert.state == AlertState.OPEN, col(Alert.rule).in_(list(CLEARED_HERE)))
    ).all()
    for rule, channel_id, name in candidates:
        alert = current_alert(session, rule, channel_id)  # locked before the condition is read
        if alert is not None and not CLEARED_HERE[rule].holds(session, alert):
            _resolve(session, result, alert, name)


def _reopen_resolved_by_hand(session: Session, result: Evaluation) -> None:
    """Open again, as a new row, each alert raised elsewhere that an operator resolved while
    its condition held: the last row of its (rule, channel) was resolved by hand and the
    condition holds now. Notifiers hear `resolved` of that row and `open` of the new one."""
    last_rows = (
        select(func.max(Alert.id))
        .where(col(Alert.rule).in_(list(REOPENED_HERE)))
        .group_by(col(Alert.rule), col(Alert.channel_id))
    )
    resolved_by_hand = session.exec(
        select(Alert, Channel.name)
        .outerjoin(Channel, col(Channel.id) == Alert.channel_id)
        .where(col(Alert.id).in_(last_rows), col(Alert.resolved_by).is_not(None))
    ).all()
    for alert, name in resolved_by_hand:
        if current_alert(session, alert.rule, alert.channel_id) is not None:
            continue  # raised anew meanwhile, where the problem was found
        if REOPENED_HERE[alert.rule].holds(session, alert):
            open_alert(
                session,
                alert.rule,
                alert.channel_id,
                alert.message,
                severity=alert.severity,
                details=alert.details,
            )
            result.opened.append((alert.rule, name))


def _counted(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else many or one + 's'}"


def _oversold_orders(alert: Alert) -> tuple[Any, ...]:
    return (col(Order.oversold), Order.channel_id == alert.channel_id)


def _has_oversold_orders(session: Session, alert: Alert) -> bool:
    return exists_where(session, *_oversold_orders(alert))


def _count_oversold_orders(session: Session, alert: Alert) -> str:
    return _counted(count_where(session, Order, *_oversold_orders(alert)), "oversold order")


def _has_unresolved_payloads(session: Session, alert: Alert) -> bool:
    return has_unresolved_payloads(session, alert.channel_id)


def _count_unresolved_payloads(session: Session, alert: Alert) -> str:
    count = unresolved_payload_count(session, alert.channel_id)
    return _counted(count, "quarantined payload") + " not retried or dismissed"


def _noted_orders_holding_stock(alert: Alert) -> tuple[Any, ...]:
    noted: Collection[str] = [str(item) for item in (alert.details or {}).get("orders") or []]
    return (
        Order.channel_id == alert.channel_id,
        col(Order.external_id).in_(noted),
        col(Order.status).in_(HOLDING_STATUSES),
    )


def _noted_orders_hold_stock(session: Session, alert: Alert) -> bool:
    return exists_where(session, *_noted_orders_holding_stock(alert))


def _count_noted_orders_holding_stock(session: Session, alert: Alert) -> str:
    count = count_where(session, Order, *_noted_orders_holding_stock(alert))
    return _counted(count, "order still holds", "orders still hold") + " stock"


def _paused_channel(alert: Alert) -> tuple[Any, ...]:
    return (
        Channel.id == alert.channel_id,
        col(Channel.enabled),
        col(Channel.paused_reason).is_not(None),
        col(Channel.paused_by).is_(None),  # a pause by hand raises no auth_failure alert
    )


def _channel_paused(session: Session, alert: Alert) -> bool:
    return exists_where(session, *_paused_channel(alert))


def _pause_reason(session: Session, alert: Alert) -> str:
    channel = session.get(Channel, alert.channel_id) if alert.channel_id is not None else None
    reason = channel.paused_reason if channel is not None else None
    return f"the channel's jobs are still paused: {reason}"


def _has_held_listings(session: Session, alert: Alert) -> bool:
    return has_held_listings(session, alert.channel_id)


def _count_held_listings(session: Session, alert: Alert) -> str:
    return _counted(count_held_listings(session, alert.channel_id), "listing") + (
        " still held near the daily revision limit"
    )


CLEARED_HERE: dict[str, Condition] = {
    RULE_OVERSOLD: Condition(_has_oversold_orders, _count_oversold_orders),
    RULE_REVISION_CAP: Condition(_has_held_listings, _count_held_listings),
    RULE_QUARANTINE: Condition(_has_unresolved_payloads, _count_unresolved_payloads),
    RULE_BUYER_CANCEL: Condition(_noted_orders_hold_stock, _count_noted_orders_holding_stock),
}
"""Alerts raised where the problem is found that every evaluation resolves once it is gone."""
REOPENED_HERE: dict[str, Condition] = {
    **CLEARED_HERE,
    RULE_AUTH: Condition(_channel_paused, _pause_reason),
}
"""Alerts raised elsewhere that every evaluation opens again while their condition holds
after an operator resolved them. auth_failure is resolved where the pause ends, not here:
an enabled channel that is still paused opens it again."""


class AlertMonitor:
    """The hub's watch: every `every`, evaluate the rules, then notify, in a thread of its
    own. The channels and secrets are read from the sync engine on each pass, so a config
    reload is followed."""

    def __init__(
        self,
        sync: SyncEngine,
        rules: AlertRules,
        dispatcher: Dispatcher,
        *,
        every: timedelta = timedelta(seconds=5),
        queue: QueueRules | None = None,
    ) -> None:
        self.sync = sync
        self.rules = rules
        self.dispatcher = dispatcher
        self.every = every
        self.queue = queue
        """The queue's thresholds under runner `procrastinate`; None: runner `single`."""
        self.queue_watch = QueueWatch()
        self.watching_since = sync.clock.now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="alerts", daemon=True)

    def start(self) -> None:
        self.watching_since = self.sync.clock.now()
        self._thread.start()

    def stop(self) -> None:
        """Finish the pass in progress, wait for its notifications, stop."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.dispatcher.close()

    def run_once(self, now: datetime | None = None, *, wait: bool = True) -> Evaluation:
        """One pass: enrol the open alerts, apply the rules, send what is due."""
        now = now or self.sync.clock.now()
        self.dispatcher.enrol()  # before the rules resolve anything: see Dispatcher
        schedules = {
            name: scheduled_jobs(channel) for name, channel in dict(self.sync.channels).items()
        }
        queue = self.queue

        def evaluate(session: Session) -> Evaluation:
            evaluation = evaluate_rules(
                session,
                self.rules,
                now,
                schedules=schedules,
                watching_since=self.watching_since,
                secrets=self.sync.secrets,
            )
            on_queue = (
                evaluate_queue_rules(session, queue, self.queue_watch, now)
                if queue is not None
                else resolve_queue_rules(session)
            )
            evaluation.opened += on_queue.opened
            evaluation.resolved += on_queue.resolved
            return evaluation

        evaluation = run_in_transaction(self.sync.database, evaluate)
        for rule, channel in evaluation.opened:
            log.warning("alert opened: %s", rule, extra={"channel": channel})
        for rule, channel in evaluation.resolved:
            log.info("alert resolved: %s", rule, extra={"channel": channel})
        self.dispatcher.enrol()  # the alerts the rules just opened go out in this pass
        self.dispatcher.secrets = self.dispatcher.secrets | self.sync.secrets
        self.dispatcher.dispatch(now, wait=wait)
        return evaluation

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once(wait=False)
            except Exception:
                log.exception("alert pass failed; the next one is in %s", self.every)
            self._stop.wait(self.every.total_seconds())
