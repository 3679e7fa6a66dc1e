"""docker-compose.yml and deploy/prometheus/: they parse, refer to files that exist,
and the alert rules ask only for metrics (and labels) the hub exports."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from omnisync.hub.metric_names import BY_SERIES, METRICS

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
METRIC = re.compile(r"\b(omnisync_[a-z_]+)")
SELECTOR = re.compile(r"\b([a-z_]+)\{([^}]*)\}")
GROUPING = re.compile(r"\b(?:by|on|without|ignoring)\s*\(([^)]*)\)")
TEMPLATE_LABEL = re.compile(r"\$labels\.([a-z_]+)")
TARGET_LABELS = frozenset({"job", "instance"})
"""The labels Prometheus gives the series it makes itself (`up`)."""


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = load(ROOT / "docker-compose.yml")
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def prometheus() -> dict[str, Any]:
    data = load(PROMETHEUS / "prometheus.yml")
    assert isinstance(data, dict)
    return data


def alert_rules() -> list[dict[str, Any]]:
    groups = load(PROMETHEUS / "alerts.yml")["groups"]
    return [rule for group in groups for rule in group["rules"]]


def labels_of(expr: str) -> set[str]:
    """The labels the series of `expr` can carry."""
    labels = {label for name in METRIC.findall(expr) for label in BY_SERIES[name].labels}
    if re.search(r"\bup\b", expr):
        labels |= TARGET_LABELS
    return labels


def test_metric_names_are_the_issues() -> None:
    assert {metric.name for metric in METRICS} == {
        "omnisync_sync_runs_total",
        "omnisync_sync_run_duration_seconds",
        "omnisync_last_success_timestamp_seconds",
        "omnisync_dirty_listings",
        "omnisync_oldest_dirty_age_seconds",
        "omnisync_orders_ingested_total",
        "omnisync_stock_pushes_total",
        "omnisync_oversold_orders_total",
        "omnisync_quarantined_payloads_total",
        "omnisync_alerts_open",
        "omnisync_order_events_taken_total",
        "omnisync_last_order_event_timestamp_seconds",
        # runner `procrastinate`: the hub's queue gauges, each worker's own series
        "omnisync_queue_waiting_jobs",
        "omnisync_queue_scheduled_jobs",
        "omnisync_queue_running_jobs",
        "omnisync_queue_oldest_waiting_age_seconds",
        "omnisync_queue_stalled_jobs",
        "omnisync_queue_workers_alive",
        "omnisync_queue_tick_age_seconds",
        "omnisync_worker_task_duration_seconds",
        "omnisync_worker_task_failures_total",
    }
    assert "omnisync_sync_run_duration_seconds_bucket" in BY_SERIES
    assert BY_SERIES["omnisync_stock_pushes_total"].family == "omnisync_stock_pushes"


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_each_alert_rule_uses_only_exported_metrics_and_labels(rule: dict[str, Any]) -> None:
    expr = rule["expr"]
    names = METRIC.findall(expr)
    unknown = [name for name in names if name not in BY_SERIES]
    assert not unknown, f"{rule['alert']}: not exported by the hub: {unknown}"
    known = labels_of(expr)
    used = {
        label.split("=")[0].strip("!~ ")
        for _, matchers in SELECTOR.findall(expr)
        for label in matchers.split(",")
        if label.strip()
    }
    for grouping in GROUPING.findall(expr):
        used |= {label.strip() for label in grouping.split(",") if label.strip()}
    for text in rule.get("annotations", {}).values():
        used |= set(TEMPLATE_LABEL.findall(text))
    assert used <= known, f"{rule['alert']}: labels {used - known} are not on {names}"
    assert rule["labels"]["severity"] in {"warning", "critical"}


def test_the_rules_cover_failing_stale_backlog_and_open_alerts() -> None:
    exprs = {rule["alert"]: " ".join(rule["expr"].split()) for rule in alert_rules()}
    failing = [e for e in exprs.values() if 'omnisync_sync_runs_total{status="failed"}' in e]
    stale = [e for e in exprs.values() if "time() - omnisync_last_success_timestamp_seconds" in e]
    assert failing
    assert stale
    assert "omnisync_oldest_dirty_age_seconds > 600" in exprs.values()
    assert "omnisync_alerts_open > 0" in exprs.values()


def test_prometheus_scrapes_the_hub_service_with_its_labels(
    compose: dict[str, Any], prometheus: dict[str, Any]
) -> None:
    (scrape,) = prometheus["scrape_configs"]
    (target,) = [t for config in scrape["static_configs"] for t in config["targets"]]
    host, port = target.split(":")
    hub = compose["services"][host]
    assert any(str(mapping).endswith(f":{port}") for mapping in hub["ports"])
    assert load(ROOT / "config" / "hub.yaml")["http"]["port"] == int(port)
    assert scrape.get("metrics_path", "/metrics") == "/metrics"
    # The hub's series have a `job` label of their own (orders, stock, ...).
    assert scrape["honor_labels"] is True


def container_path_to_repo(compose: dict[str, Any], service: str, path: str) -> Path:
    """The file in this repository that `path` inside `service` is mounted from."""
    volumes: list[str] = compose["services"][service].get("volumes", [])
    for volume in volumes:
        source, target = volume.split(":")[:2]
        if source.startswith("./") and PurePosixPath(path).is_relative_to(target):
            return ROOT / source / PurePosixPath(path).relative_to(target)
    raise AssertionError(f"{service}: nothing mounted at {path}")


def test_compose_refers_to_files_that_exist(
    compose: dict[str, Any], prometheus: dict[str, Any]
) -> None:
    services = compose["services"]
    assert {"db", "hub", "prometheus"} <= services.keys()
    assert (ROOT / services["hub"]["build"] / "Dockerfile").is_file()
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"
            else:
                assert source in compose["volumes"], f"{name}: volume {source} not declared"
        for env_file in service.get("env_file", []):
            # Credentials stay out of the repository: such a file must be optional.
            assert env_file["required"] is False, f"{name}: {env_file['path']} required"
    flags = dict(
        flag.removeprefix("--").split("=", 1) for flag in services["prometheus"]["command"]
    )
    assert container_path_to_repo(compose, "prometheus", flags["config.file"]).is_file()
    for rule_file in prometheus["rule_files"]:
        assert container_path_to_repo(compose, "prometheus", rule_file).is_file()
    dockerfile = (ROOT / "Dockerfile").read_text()
    config_dir = re.search(r"^ENV OMNISYNC_CONFIG_DIR=(\S+)$", dockerfile, re.MULTILINE)
    assert config_dir is not None
    assert container_path_to_repo(compose, "hub", config_dir[1] + "/hub.yaml").is_file()


def test_published_ports_are_on_loopback_only(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for mapping in service.get("ports", []):
            assert str(mapping).startswith("127.0.0.1:"), f"{name}: {mapping} open to all"


def test_the_hub_health_check_asks_readyz(compose: dict[str, Any]) -> None:
    check = " ".join(compose["services"]["hub"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8080/readyz" in check
    assert "curl" not in check  # the slim image has none


def test_every_variable_compose_gives_the_hub_is_read(compose: dict[str, Any]) -> None:
    """A variable set for the hub that neither hub.yaml nor the code reads would be lost."""
    readers = [ROOT / "config" / "hub.yaml", *sorted((ROOT / "hub").rglob("*.py"))]
    text = "\n".join(path.read_text() for path in readers)
    for variable in compose["services"]["hub"]["environment"]:
        assert f"${{{variable}" in text or f'"{variable}"' in text, variable
