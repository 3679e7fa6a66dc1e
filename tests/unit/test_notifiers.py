"""The notifiers against real receivers on loopback: a webhook endpoint and aiosmtpd."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from omnisync.sync.notify import (
    DeliveryFailed,
    EmailNotifier,
    LogNotifier,
    Notification,
    NotificationState,
    WebhookNotifier,
)
from tests.support.alert_receivers import (
    SmtpSink,
    WebhookReceiver,
    closed_port,
    self_signed_certificate,
    server_tls_context,
)

FIRST_SEEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PASSWORD = "smtp-password-93ac1e7f"


def notification(state: NotificationState = NotificationState.OPEN) -> Notification:
    return Notification(
        state=state,
        alert_id=7,
        rule="consecutive_failures",
        channel="shop",
        severity="critical",
        message="shop: orders failed 3 runs in a row: TransientError: connection failed",
        details={"jobs": {"orders": {"consecutive_failures": 3}}},
        first_seen=FIRST_SEEN,
        last_seen=FIRST_SEEN + timedelta(minutes=65),
        count=4,
        resolved_at=(
            FIRST_SEEN + timedelta(minutes=70) if state == NotificationState.RESOLVED else None
        ),
    )


def test_the_text_says_what_happened_in_each_state() -> None:
    assert notification().text == (
        "[CRITICAL] shop: orders failed 3 runs in a row: TransientError: connection failed "
        "(consecutive_failures, since 2026-03-01 12:00:00 UTC)"
    )
    assert notification(NotificationState.REMINDER).text.startswith(
        "[CRITICAL] still open for 1h 5m: shop: orders failed 3 runs in a row"
    )
    assert notification(NotificationState.RESOLVED).text == (
        "[RESOLVED] shop: consecutive_failures cleared after 1h 10m "
        "(was: orders failed 3 runs in a row: TransientError: connection failed)"
    )


def test_the_webhook_posts_slack_compatible_json_with_the_alert_fields() -> None:
    with WebhookReceiver() as receiver:
        notifier = WebhookNotifier("hook", receiver.url)
        notifier.send(notification(NotificationState.REMINDER))
        notifier.close()
    (body,) = receiver.received
    assert body == {
        "text": notification(NotificationState.REMINDER).text,
        "alert_id": 7,
        "rule": "consecutive_failures",
        "channel": "shop",
        "severity": "critical",
        "state": "reminder",
        "message": "shop: orders failed 3 runs in a row: TransientError: connection failed",
        "first_seen": "2026-03-01T12:00:00+00:00",
        "last_seen": "2026-03-01T13:05:00+00:00",
        "resolved_at": None,
        "count": 4,
        "details": {"jobs": {"orders": {"consecutive_failures": 3}}},
    }


def test_a_webhook_failure_is_reported_without_the_url() -> None:
    token = "T0KEN-in-the-path-5d1c"
    with WebhookReceiver() as receiver:
        receiver.status = 500
        notifier = WebhookNotifier("hook", f"{receiver.url}?token={token}")
        with pytest.raises(DeliveryFailed) as refused:
            notifier.send(notification())
        notifier.close()
    assert str(refused.value) == "the webhook answered HTTP 500"
    notifier = WebhookNotifier("hook", f"http://127.0.0.1:{closed_port()}/{token}")
    with pytest.raises(DeliveryFailed) as unreachable:
        notifier.send(notification())
    notifier.close()
    assert "connection failed" in str(unreachable.value)
    assert token not in str(unreachable.value)


def test_email_over_starttls_with_login(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    with SmtpSink(tls=server_tls_context(cert, key), login=("hub", PASSWORD)) as sink:
        notifier = EmailNotifier(
            "mail",
            host="127.0.0.1",
            port=sink.port,
            sender="omnisync@example.com",
            to=["oncall@example.com", "ops@example.com"],
            starttls=True,
            username="hub",
            password=PASSWORD,
            ca_file=cert,
        )
        notifier.send(notification())
    (message,) = sink.messages
    assert sink.tls == [True]
    assert sink.logins == ["hub"]
    assert sink.recipients == [["oncall@example.com", "ops@example.com"]]
    assert message["Subject"] == "[omnisync] [CRITICAL] shop: consecutive_failures"
    assert message["From"] == "omnisync@example.com"
    assert message["To"] == "oncall@example.com, ops@example.com"
    body = message.get_content().replace("\r\n", "\n")
    assert body.startswith(notification().text + "\n")
    assert "state: open" in body
    assert '"consecutive_failures": 3' in body
    assert PASSWORD not in message.as_string()


def test_email_failures_name_the_server_not_the_password(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    with SmtpSink(tls=server_tls_context(cert, key), login=("hub", PASSWORD)) as sink:
        wrong = EmailNotifier(
            "mail",
            host="127.0.0.1",
            port=sink.port,
            sender="omnisync@example.com",
            to=["oncall@example.com"],
            starttls=True,
            username="hub",
            password="not-" + PASSWORD,
            ca_file=cert,
        )
        with pytest.raises(DeliveryFailed) as refused:
            wrong.send(notification())
        untrusted = EmailNotifier(
            "mail",
            host="127.0.0.1",
            port=sink.port,
            sender="omnisync@example.com",
            to=["oncall@example.com"],
            starttls=True,
        )
        with pytest.raises(DeliveryFailed) as unverified:
            untrusted.send(notification())
    assert sink.messages == []
    assert str(refused.value).startswith(f"SMTP 127.0.0.1:{sink.port}: SMTPAuthenticationError 535")
    assert PASSWORD not in str(refused.value)
    assert "CERTIFICATE_VERIFY_FAILED" in str(unverified.value)


def test_the_log_notifier_writes_a_warning_and_the_resolution_at_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="omnisync.alerts")
    notifier = LogNotifier("log")
    notifier.send(notification())
    notifier.send(notification(NotificationState.RESOLVED))
    opened, resolved = caplog.records
    assert opened.levelno == logging.WARNING
    assert opened.getMessage() == f"alert open: {notification().text}"
    assert getattr(opened, "channel", None) == "shop"
    assert resolved.levelno == logging.INFO
    assert resolved.getMessage().startswith("alert resolved: [RESOLVED] shop")
