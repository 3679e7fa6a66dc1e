"""The alert monitor of a running hub, built from hub.yaml `alert_rules:` and `alerts:`.

Notifiers and rules are read at start-up; a change to them takes a restart
(a reload follows channel files only).
"""

from __future__ import annotations

from omnisync.hub.settings import (
    AlertRulesConfig,
    EmailNotifierConfig,
    LogNotifierConfig,
    NotifierConfig,
    Settings,
    WebhookNotifierConfig,
    notifier_name,
)
from omnisync.sync.alerts import AlertMonitor, AlertRules, QueueRules
from omnisync.sync.engine import SyncEngine
from omnisync.sync.notify import Dispatcher, EmailNotifier, LogNotifier, Notifier, WebhookNotifier


def alert_rules(config: AlertRulesConfig) -> AlertRules:
    return AlertRules(
        consecutive_failures=config.consecutive_failures,
        stale_after=config.stale_after,
        push_backlog_age=config.push_backlog_age,
        repeat_after=config.repeat_after,
        unlinked_after=config.unlinked_after,
        return_open_after=config.return_open_after,
    )


def build_notifier(config: NotifierConfig) -> Notifier:
    name = notifier_name(config)
    if isinstance(config, WebhookNotifierConfig):
        return WebhookNotifier(name, config.url.get_secret_value(), timeout=config.timeout_seconds)
    if isinstance(config, EmailNotifierConfig):
        return EmailNotifier(
            name,
            host=config.host,
            port=config.port,
            sender=config.sender,
            to=config.to,
            starttls=config.starttls,
            username=config.username,
            password=config.password.get_secret_value() if config.password else None,
            ca_file=config.ca_file,
            timeout=config.timeout_seconds,
        )
    assert isinstance(config, LogNotifierConfig)
    return LogNotifier(name, level=config.level)


def alert_monitor(settings: Settings, sync: SyncEngine) -> AlertMonitor:
    rules = settings.hub.alert_rules
    dispatcher = Dispatcher(
        sync.database,
        [build_notifier(config) for config in settings.hub.alerts],
        repeat_after=rules.repeat_after,
        secrets=settings.secrets,
        clock=sync.clock,
    )
    return AlertMonitor(
        sync,
        alert_rules(rules),
        dispatcher,
        every=rules.evaluate_every,
        queue=queue_rules(settings),
    )


def queue_rules(settings: Settings) -> QueueRules | None:
    """The queue's alert thresholds under runner `procrastinate` (None under `single`)."""
    if settings.hub.runner != "procrastinate":
        return None
    workers = settings.hub.workers
    return QueueRules(
        stalled_after=workers.stalled_after,
        queue_age_alert=workers.queue_age_alert,
        tick_stopped_after=workers.tick_stopped_after,
    )
