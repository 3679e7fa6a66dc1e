"""Notifiers: where an alert is told. Each sends one Notification or raises DeliveryFailed;
retries, pacing and bookkeeping are the dispatcher's (sync/notify/dispatcher.py).

- webhook: POST JSON whose `text` is one human line, so a Slack or Mattermost
  incoming webhook takes it as is, plus the alert's fields for machines;
- email: SMTP, optionally STARTTLS and login;
- log: a line in the hub's own log.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import httpx

from omnisync.connectors.base import TransientError
from omnisync.connectors.http import USER_AGENT, send
from omnisync.core.clock import iso
from omnisync.sync.health import describe_duration

log = logging.getLogger("omnisync.alerts")


class DeliveryFailed(Exception):
    """The notifier could not deliver; the message says why, without secrets."""


class NotificationState(StrEnum):
    OPEN = "open"
    REMINDER = "reminder"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Notification:
    state: NotificationState
    alert_id: int
    rule: str
    channel: str | None
    severity: str
    message: str
    details: dict[str, Any] | None
    first_seen: datetime
    last_seen: datetime
    count: int
    resolved_at: datetime | None = None

    @property
    def subject(self) -> str:
        label = "RESOLVED" if self.state == NotificationState.RESOLVED else self.severity.upper()
        still = "still open: " if self.state == NotificationState.REMINDER else ""
        return f"[{label}] {still}{self.channel or 'hub'}: {self.rule}"

    @property
    def text(self) -> str:
        """One line a person reads in a chat channel."""
        where = self.channel or "hub"
        what = self.message.removeprefix(f"{where}: ")
        since = self.first_seen.strftime("%Y-%m-%d %H:%M:%S UTC")
        if self.state == NotificationState.RESOLVED:
            lasted = describe_duration((self.resolved_at or self.last_seen) - self.first_seen)
            return f"[RESOLVED] {where}: {self.rule} cleared after {lasted} (was: {what})"
        if self.state == NotificationState.REMINDER:
            lasted = describe_duration(self.last_seen - self.first_seen)
            return (
                f"[{self.severity.upper()}] still open for {lasted}: {where}: {what} "
                f"({self.rule}, seen {self.count} time(s) since {since})"
            )
        return f"[{self.severity.upper()}] {where}: {what} ({self.rule}, since {since})"

    def payload(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "alert_id": self.alert_id,
            "rule": self.rule,
            "channel": self.channel,
            "severity": self.severity,
            "state": self.state.value,
            "message": self.message,
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
            "resolved_at": iso(self.resolved_at),
            "count": self.count,
            "details": self.details,
        }


class Notifier(Protocol):
    name: str

    def send(self, notification: Notification) -> None:
        """Deliver or raise DeliveryFailed."""
        ...

    def close(self) -> None: ...


class WebhookNotifier:
    def __init__(self, name: str, url: str, *, timeout: float = 10.0) -> None:
        self.name = name
        self._url = url
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )

    def send(self, notification: Notification) -> None:
        try:
            response = send(lambda: self._client.post(self._url, json=notification.payload()))
        except TransientError as error:
            raise DeliveryFailed(str(error)) from None
        if response.status_code >= 300:
            # Never the URL: incoming-webhook URLs carry their token.
            raise DeliveryFailed(f"the webhook answered HTTP {response.status_code}")

    def close(self) -> None:
        self._client.close()


class EmailNotifier:
    def __init__(
        self,
        name: str,
        *,
        host: str,
        port: int,
        sender: str,
        to: Sequence[str],
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        ca_file: Path | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.name = name
        self.host, self.port = host, port
        self.sender, self.to = sender, list(to)
        self.starttls = starttls
        self._login = (username, password) if username is not None and password else None
        self._ca_file = ca_file
        self.timeout = timeout

    def message(self, notification: Notification) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = f"[omnisync] {notification.subject}"
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.to)
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = make_msgid(domain="omnisync")
        fields = {k: v for k, v in notification.payload().items() if k not in ("text", "details")}
        lines = [notification.text, ""]
        lines += [f"{key}: {value}" for key, value in fields.items() if value is not None]
        if notification.details:
            lines += ["", "details:", json.dumps(notification.details, indent=2, sort_keys=True)]
        mail.set_content("\n".join(lines) + "\n")
        return mail

    def send(self, notification: Notification) -> None:
        mail = self.message(notification)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=self._ca_file))
                if self._login is not None:
                    smtp.login(*self._login)
                smtp.send_message(mail)
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryFailed(f"SMTP {self.host}:{self.port}: {_smtp_reason(error)}") from None

    def close(self) -> None:
        pass


def _smtp_reason(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        raw = error.smtp_error
        reason = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
        return f"{type(error).__name__} {error.smtp_code} {reason}".strip()
    return f"{type(error).__name__}: {error}"


class LogNotifier:
    LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}

    def __init__(self, name: str, *, level: str = "warning") -> None:
        self.name = name
        self.level = self.LEVELS[level]

    def send(self, notification: Notification) -> None:
        level = logging.INFO if notification.state == NotificationState.RESOLVED else self.level
        log.log(
            level,
            "alert %s: %s",
            notification.state.value,
            notification.text,
            extra={"channel": notification.channel},
        )

    def close(self) -> None:
        pass
