"""hub.yaml `alert_rules:` and `alerts:`: defaults, one problem line per bad field, secrets."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from omnisync.hub.alerts import alert_rules, build_notifier
from omnisync.hub.settings import (
    ConfigError,
    EmailNotifierConfig,
    LogNotifierConfig,
    WebhookNotifierConfig,
    load_settings,
)
from omnisync.sync.notify import EmailNotifier, LogNotifier, WebhookNotifier

HOOK = "https://hooks.slack.com/services/T000/B000/xoxb-hook-token-1f9a"
PASSWORD = "mail-password-51d0c2"
ENV = {"HOOK_URL": HOOK, "SMTP_PASSWORD": PASSWORD}


def config(tmp_path: Path, hub_yaml: str) -> Path:
    folder = tmp_path / "config"
    (folder / "channels").mkdir(parents=True)
    (folder / "hub.yaml").write_text(textwrap.dedent(hub_yaml), encoding="utf-8")
    return folder


def problems(folder: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(folder, env=ENV)
    return info.value.problems


def test_defaults_without_any_alert_section(tmp_path: Path) -> None:
    settings = load_settings(config(tmp_path, ""), env={})
    rules = settings.hub.alert_rules
    assert (rules.consecutive_failures, rules.stale_after) == (3, 5)
    assert (rules.push_backlog_age, rules.repeat_after) == (
        timedelta(minutes=10),
        timedelta(hours=1),
    )
    assert rules.evaluate_every == timedelta(seconds=5)
    assert settings.hub.alerts == []
    assert alert_rules(rules).repeat_after == timedelta(hours=1)


def test_notifiers_are_built_from_the_config_and_their_secrets_are_secrets(tmp_path: Path) -> None:
    folder = config(
        tmp_path,
        """\
        alert_rules: {consecutive_failures: 2, stale_after: 3, repeat_after: 30m}
        alerts:
          - type: webhook
            url: ${HOOK_URL}
          - type: email
            host: smtp.example.com
            port: 587
            starttls: true
            username: hub
            password: ${SMTP_PASSWORD}
            from: omnisync@example.com
            to: [oncall@example.com]
          - type: log
            name: journal
            level: error
        """,
    )
    settings = load_settings(folder, env=ENV)
    webhook, email, journal = settings.hub.alerts
    assert isinstance(webhook, WebhookNotifierConfig)
    assert isinstance(email, EmailNotifierConfig)
    assert isinstance(journal, LogNotifierConfig)
    assert {HOOK, PASSWORD} <= settings.secrets
    assert HOOK not in repr(settings.hub)
    assert PASSWORD not in repr(settings.hub)
    built = [build_notifier(item) for item in settings.hub.alerts]
    assert [type(item) for item in built] == [WebhookNotifier, EmailNotifier, LogNotifier]
    assert [item.name for item in built] == ["webhook", "email", "journal"]
    for item in built:
        item.close()
    rules = alert_rules(settings.hub.alert_rules)
    assert (rules.consecutive_failures, rules.stale_after) == (2, 3)
    assert rules.repeat_after == timedelta(minutes=30)


def test_each_bad_field_is_one_line_naming_the_file_and_the_field(tmp_path: Path) -> None:
    folder = config(
        tmp_path,
        """\
        alert_rules: {consecutive_failures: 0, stale_after: 1, repeat_after: soon, extra: 1}
        alerts:
          - type: webhook
          - type: pigeon
          - url: ${HOOK_URL}
          - type: email
            host: smtp.example.com
            from: not-an-address
            to: []
          - type: webhook
            url: ftp://${HOOK_URL}
        """,
    )
    hub_file = folder / "hub.yaml"
    lines = problems(folder)
    assert all(line.startswith(f"{hub_file}: ") for line in lines)
    fields = [line.removeprefix(f"{hub_file}: ").split(": ", 1) for line in lines]
    assert [field for field, _ in fields] == [
        "alert_rules.consecutive_failures",
        "alert_rules.stale_after",
        "alert_rules.repeat_after",
        "alert_rules.extra",
        "alerts[0].url",
        "alerts[1].type",
        "alerts[2].type",
        "alerts[3].from",
        "alerts[3].to",
        "alerts[4].url",
    ]
    messages = dict((field, message) for field, message in fields)
    assert messages["alerts[0].url"] == "is required"
    assert messages["alerts[1].type"] == "must be one of 'webhook', 'email', 'log'"
    assert messages["alerts[2].type"] == "is required"
    assert "email address" in messages["alerts[3].from"]
    assert "http:// or https://" in messages["alerts[4].url"]
    assert all(HOOK not in line for line in lines)


def test_two_notifiers_of_a_type_need_names_and_a_login_needs_both_halves(tmp_path: Path) -> None:
    folder = config(
        tmp_path,
        """\
        alerts:
          - {type: log}
          - {type: log, level: info}
        """,
    )
    (line,) = problems(folder)
    assert line.startswith(f"{folder / 'hub.yaml'}: alerts: ")
    assert "log" in line
    assert "name" in line

    folder = config(
        tmp_path / "second",
        """\
        alerts:
          - type: email
            host: smtp.example.com
            username: hub
            from: omnisync@example.com
            to: [oncall@example.com]
        """,
    )
    (line,) = problems(folder)
    assert line.startswith(f"{folder / 'hub.yaml'}: alerts[0]: ")
    assert "username and password go together" in line
