"""Telling people about alerts: the notifiers (webhook, email, log) and the dispatcher
that keeps track, per alert and notifier, of what was said."""

from omnisync.sync.notify.dispatcher import Dispatcher, DispatchResult
from omnisync.sync.notify.notifiers import (
    DeliveryFailed,
    EmailNotifier,
    LogNotifier,
    Notification,
    NotificationState,
    Notifier,
    WebhookNotifier,
)

__all__ = [
    "DeliveryFailed",
    "DispatchResult",
    "Dispatcher",
    "EmailNotifier",
    "LogNotifier",
    "Notification",
    "NotificationState",
    "Notifier",
    "WebhookNotifier",
]
