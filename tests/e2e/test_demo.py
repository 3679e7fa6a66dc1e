"""`omnisync demo --json`: the shape of its report and the promises it checks."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_demo_loses_and_duplicates_nothing_and_ends_reconciled() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "hub.cli", "demo", "--duration", "6", "--seed", "7", "--json"],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    report = json.loads(completed.stdout)
    assert set(report) >= {
        "duration_s",
        "orders_total",
        "orders_lost",
        "orders_duplicated",
        "oversold_units",
        "mismatched_listings",
        "propagation_ms",
        "channels",
        "shipping",
    }
    assert report["orders_total"] > 0
    assert report["orders_lost"] == 0
    assert report["orders_duplicated"] == 0
    assert report["mismatched_listings"] == 0
    assert set(report["propagation_ms"]) >= {"p50", "p95", "max"}
    assert report["propagation_ms"]["samples"] > 0
    assert len(report["channels"]) >= 2
    for channel in report["channels"]:
        assert set(channel) == {"name", "type", "orders_ingested", "pushes", "errors"}
        assert channel["pushes"] > 0
    assert sum(c["orders_ingested"] for c in report["channels"]) == report["orders_total"]
    for kind in ("shopify", "amazon"):
        chosen = [c for c in report["channels"] if c["type"] == kind]
        assert chosen, kind
        assert chosen[0]["orders_ingested"] > 0, chosen
    # Accepted orders left with UPS as the demo went; every parcel arrived by the end.
    shipping = report["shipping"]
    assert shipping["carrier"] == "ups"
    assert shipping["parcels"] > 0
    assert 0 < shipping["orders_shipped"] <= shipping["parcels"]
    assert shipping["delivered"] == shipping["parcels"]
    assert shipping["fulfilments_pushed"] > 0
    assert shipping["fulfilments_pushed"] + shipping["fulfilments_failed"] == shipping["parcels"]
    assert shipping["tracking_events"] == 4 * shipping["parcels"]  # label to delivered, once
    assert 0 < shipping["orders_delivered"] <= shipping["orders_shipped"]
    assert shipping["tracking_errors"] == 0
    assert "demo-" not in completed.stderr  # the demo token never reaches the logs
