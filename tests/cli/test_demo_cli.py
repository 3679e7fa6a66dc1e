"""`omnisync demo` around the demo itself: where the report goes, what a failure prints.

The demo is replaced by a canned outcome (its own run is tests/e2e/test_demo.py), so
these check only what the command does with it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from omnisync.hub.cli import app
from omnisync.hub.demo.run import Demo, DemoFault, DemoOptions
from omnisync.hub.demo.watch import DemoFailed

REPORT: dict[str, Any] = {
    "duration_s": 6.0,
    "orders_total": 12,
    "orders_lost": 0,
    "orders_duplicated": 0,
    "oversold_units": 1,
    "mismatched_listings": 0,
    "propagation_ms": {"p50": 100.0, "p95": 200.0, "max": 300.0, "mean": 120.0, "samples": 40},
    "from_sale_ms": {
        "shopify-a": {"p50": 1500.0, "p95": 2600.0, "max": 2700.0, "samples": 5},
        "amazon-b": {"p50": 400.0, "p95": 900.0, "max": 950.0, "samples": 6},
    },
    "intake_ms": {
        "shopify-a": {"p50": 1300.0, "p95": 2400.0, "max": 2500.0, "samples": 6},
        "amazon-b": {"p50": 200.0, "p95": 600.0, "max": 650.0, "samples": 6},
    },
    "channels": [
        {
            "name": "shopify-a",
            "type": "shopify",
            "intake": "polling",
            "events_taken": 0,
            "orders_ingested": 6,
            "pushes": 20,
            "errors": 0,
        },
        {
            "name": "amazon-b",
            "type": "amazon",
            "intake": "notifications",
            "events_taken": 9,
            "orders_ingested": 6,
            "pushes": 20,
            "errors": 0,
        },
    ],
    "shipping": {
        "carrier": "ups",
        "parcels": 3,
        "delivered": 3,
        "fulfilments_pushed": 3,
        "fulfilments_failed": 0,
        "orders_shipped": 3,
        "orders_delivered": 3,
        "tracking_events": 12,
        "tracking_errors": 0,
        "refused": 0,
    },
    "notices": [],
}


class Ran:
    options: DemoOptions | None = None


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Ran:
    """The demo reports REPORT at once; what it was run with is kept. The working folder
    is a fresh one, where the default report path points."""
    seen = Ran()

    def run(self: Demo) -> dict[str, Any]:
        seen.options = self.options
        return REPORT

    monkeypatch.setattr(Demo, "run", run)
    monkeypatch.chdir(tmp_path)
    return seen


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["demo", *args], env={"COLUMNS": "200"})


def test_the_report_is_written_to_var_and_the_last_line_says_where(
    ran: Ran, tmp_path: Path
) -> None:
    result = invoke("--duration", "6")
    assert result.exit_code == 0, result.output
    path = tmp_path / "var" / "demo-report.json"
    assert json.loads(path.read_text(encoding="utf-8")) == REPORT
    lines = result.stdout.splitlines()
    assert lines[-1] == f"Report written to {path}"
    assert lines[0].startswith("12 orders on 2 marketplaces in 6s: 0 lost, 0 duplicated")


def test_with_json_stdout_is_the_report_and_stderr_says_where_it_is_kept(
    ran: Ran, tmp_path: Path
) -> None:
    result = invoke("--json", "--report", "out/run-1.json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == REPORT
    path = tmp_path / "out" / "run-1.json"
    assert json.loads(path.read_text(encoding="utf-8")) == REPORT
    assert result.stderr == f"report written to {path}\n"


def test_the_timeout_and_the_fault_reach_the_demo(ran: Ran) -> None:
    result = invoke("--timeout", "5", "--fault", "amazon-b:500", "--channels", "3")
    assert result.exit_code == 0, result.output
    assert ran.options is not None
    assert ran.options.timeout == 5
    assert ran.options.fault == DemoFault("amazon-b", "500")


@pytest.mark.parametrize(
    ("fault", "complaint"),
    [
        ("sandbox-c:500", "no marketplace 'sandbox-c'"),  # two channels: shopify-a, amazon-b
        ("amazon-b:meltdown", "fault kind 'meltdown'"),
        ("amazon-b", "fault kind ''"),
    ],
)
def test_a_fault_for_no_channel_or_of_no_kind_is_bad_usage(
    ran: Ran, tmp_path: Path, fault: str, complaint: str
) -> None:
    result = invoke("--channels", "2", "--fault", fault)
    assert result.exit_code == 2
    assert complaint in " ".join(result.stderr.split())
    assert ran.options is None
    assert not (tmp_path / "var").exists()


def test_a_failed_demo_prints_one_line_writes_no_report_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def run(self: Demo) -> dict[str, Any]:
        raise DemoFailed(
            "amazon-b", "orders", "TransientError: getOrders: HTTP 500 (3 runs failed)"
        )

    monkeypatch.setattr(Demo, "run", run)
    monkeypatch.chdir(tmp_path)
    result = invoke("--duration", "6")
    assert result.exit_code == 1
    assert result.stderr == (
        "demo failed: channel amazon-b, job orders: "
        "TransientError: getOrders: HTTP 500 (3 runs failed)\n"
    )
    assert not (tmp_path / "var").exists()
