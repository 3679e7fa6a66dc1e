"""``python -m omnisync.sandbox KIND``: each simulator standalone in a subprocess, driven over real
HTTP with ``python -m omnisync.sandbox control`` (sandbox/standalone.py, sandbox/control_client.py,
the ``/_control`` routes of sandbox/control_api.py and each simulator's desk).

The control commands run in-process (``sandbox.__main__.main``) against the server in
its subprocess; one runs as its own ``python -m omnisync.sandbox control`` process. Every
subprocess is stopped in a ``finally``. Nothing here measures time.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from omnisync.sandbox.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
STOP_TIMEOUT_S = 30
LISTINGS = [
    {"sku": "A-1", "title": "Alpha", "quantity": 5},
    {"sku": "B-2", "title": "Beta", "quantity": 3},
]


@dataclass
class Standalone:
    url: str = ""
    stderr: str = ""


@contextmanager
def standalone(*args: str) -> Iterator[Standalone]:
    """``python -m omnisync.sandbox ARGS --port 0`` until the block ends; its URL from stdout, and
    its stderr once it is stopped."""
    process = subprocess.Popen(
        [sys.executable, "-m", "omnisync.sandbox", *args, "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    running = Standalone()
    try:
        assert process.stdout is not None
        running.url = process.stdout.readline().strip()
        if not running.url.startswith("http://127.0.0.1:"):
            process.wait(timeout=STOP_TIMEOUT_S)
            pytest.fail(f"no URL on stdout: {running.url!r}")
        yield running
    finally:
        process.terminate()
        _, running.stderr = process.communicate(timeout=STOP_TIMEOUT_S)


@dataclass
class Result:
    code: int
    out: list[list[str]] = field(default_factory=list)
    """stdout, one list of tab-separated fields per line."""
    err: str = ""


def control(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> Result:
    capsys.readouterr()
    try:
        code = main(["control", url, *args])
    except SystemExit as exit_:  # argparse's usage errors
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    rows = [line.split("\t") for line in captured.out.splitlines()]
    return Result(code, rows, captured.err)


@dataclass(frozen=True)
class Kind:
    """How a test reads a marketplace simulator's own state."""

    name: str
    state_path: str
    channel_type: str
    orders: Callable[[Any], dict[str, Any]]
    """The state's orders by the id the control prints."""
    cancelled: Callable[[Any], bool]
    tracking_numbers: Callable[[Any], list[str]]


KINDS = [
    Kind(
        "marketplace",
        "/_sandbox/state",
        "sandbox",
        lambda state: {order["id"]: order for order in state["orders"]},
        lambda order: order["status"] == "cancelled",
        lambda state: [fulfilment["tracking_number"] for fulfilment in state["fulfilments"]],
    ),
    Kind(
        "shopify",
        "/_simulator/state",
        "shopify",
        lambda state: {order["id"]: order for order in state["orders"]},
        lambda order: order["cancelled_at"] is not None,
        lambda state: [fulfillment["tracking_number"] for fulfillment in state["fulfillments"]],
    ),
    Kind(
        "amazon",
        "/_simulator/state",
        "amazon",
        lambda state: {order["AmazonOrderId"]: order for order in state["orders"]},
        lambda order: order["OrderStatus"] == "Canceled",
        lambda state: [
            shipment["packageDetail"]["trackingNumber"]
            for shipment in state["shipment_confirmations"]
        ],
    ),
]


@pytest.fixture
def listings_file(tmp_path: Path) -> Path:
    path = tmp_path / "listings.json"
    path.write_text(json.dumps(LISTINGS), encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_a_standalone_marketplace_is_bought_from_cancelled_and_shipped_by_hand(
    kind: Kind, listings_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with standalone(kind.name, "--listings", str(listings_file)) as running:
        url = running.url

        def state() -> Any:
            return httpx.get(url + kind.state_path, timeout=10).json()

        said = control(capsys, url, "kind")
        assert (said.code, said.out[0][:2]) == (0, [kind.name, kind.channel_type])
        assert control(capsys, url, "stock").out == [["A-1", "5"], ["B-2", "3"]]

        placed = control(capsys, url, "order", "A-1:2", "B-2")
        assert placed.code == 0, placed.err
        order_id = placed.out[0][0]
        assert placed.out[0][2] == "A-1 x2, B-2 x1"
        assert control(capsys, url, "stock", "A-1", "B-2").out == [["A-1", "3"], ["B-2", "2"]]
        assert order_id in kind.orders(state())

        shipped = control(capsys, url, "ship", order_id, "--tracking", "1ZSTANDALONE1")
        assert shipped.code == 0, shipped.err
        assert shipped.out[0][-1] == "tracking 1ZSTANDALONE1"
        assert kind.tracking_numbers(state()) == ["1ZSTANDALONE1"]
        # Shipped is shipped: no cancelling it now, and the stock stays down.
        assert control(capsys, url, "cancel", order_id).code == 1
        assert control(capsys, url, "stock", "A-1").out == [["A-1", "3"]]

        second = control(capsys, url, "order", "B-2:2").out[0][0]
        assert control(capsys, url, "stock", "B-2").out == [["B-2", "0"]]
        cancelled = control(capsys, url, "cancel", second)
        assert cancelled.code == 0, cancelled.err
        assert control(capsys, url, "stock", "B-2").out == [["B-2", "2"]]
        orders = kind.orders(state())
        assert kind.cancelled(orders[second])
        assert not kind.cancelled(orders[order_id])
        assert [row[0] for row in control(capsys, url, "orders").out] == [order_id, second]

        too_many = control(capsys, url, "order", "A-1:99")
        assert too_many.code == 1
        assert "out_of_stock" in too_many.err
        unknown = control(capsys, url, "order", "NOPE")
        assert (unknown.code, "unknown_sku" in unknown.err) == (1, True)
        assert control(capsys, url, "cancel", "NO-SUCH-ORDER").code == 1
        wrong = control(capsys, url, "parcel")
        assert wrong.code == 2
        assert "has no 'parcel' command" in wrong.err
        assert len(kind.orders(state())) == 2  # the refused orders left nothing behind
    assert f"type: {kind.channel_type}" in running.stderr
    assert f"endpoint: {url}" in running.stderr
    assert f"python -m omnisync.sandbox control {url} order A-1:2" in running.stderr


def test_the_carriers_make_labels_and_move_parcels_by_hand(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # An hour a step: parcels move only when told to.
    with standalone("carriers", "--seconds-per-step", "3600") as running:
        url = running.url
        label = control(
            capsys, url, "parcel", "--provider", "dhl_universal", "--tracking", "10TEST"
        )
        assert label.out == [["10TEST", "dhl_universal", "label_created"]]
        made_up = control(capsys, url, "parcel").out[0]
        assert made_up[1:] == ["ups", "label_created"]

        assert control(capsys, url, "advance", "10TEST").out == [
            ["10TEST", "dhl_universal", "in_transit"]
        ]
        tracked = httpx.get(
            url + "/track/shipments",
            params={"trackingNumber": "10TEST"},
            headers={"DHL-API-Key": "fake-dhl-api-key"},
            timeout=10,
        ).json()
        assert tracked["shipments"][0]["status"]["statusCode"] == "transit"

        moved = control(capsys, url, "advance", "--seconds", "7200")
        assert sorted(row[2] for row in moved.out) == ["delivered", "out_for_delivery"]
        stopped = control(capsys, url, "outcome", made_up[0], "exception")
        assert stopped.out == [[made_up[0], "ups", "exception"]]
        assert control(capsys, url, "outcome", "10TEST", "exception").code == 1  # delivered
        assert control(capsys, url, "advance", "NOPE").code == 1
        assert control(capsys, url, "stock").code == 2
        assert sorted(control(capsys, url, "parcels").out) == sorted(
            [["10TEST", "dhl_universal", "delivered"], [made_up[0], "ups", "exception"]]
        )
    for channel in ("ups.yaml", "fedex.yaml", "dhl.yaml"):
        assert f"config/channels/{channel}" in running.stderr
    assert "export UPS_CLIENT_ID=fake-ups-client-id" in running.stderr


@pytest.mark.slow
def test_made_up_skus_and_the_control_command_as_its_own_process() -> None:
    with standalone("shopify", "--skus", "2") as running:
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "omnisync.sandbox",
                "control",
                running.url,
                "order",
                "SKU-002:3",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=STOP_TIMEOUT_S,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
        order_id, status, lines = completed.stdout.strip().split("\t")
        assert (order_id, status, lines) == (
            "gid://shopify/Order/1001",
            "UNFULFILLED",
            "SKU-002 x3",
        )
        stock = httpx.get(running.url + "/_control/stock", timeout=10).json()["stock"]
        assert stock == {"SKU-001": 10, "SKU-002": 7}


def test_a_url_that_is_no_simulator_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with standalone("amazon") as running:
        not_control = control(capsys, running.url + "/orders/v0", "stock")
    assert not_control.code == 1
    assert "not a simulator's control" in not_control.err
    assert not_control.err.count("\n") == 1


def test_a_bad_listings_file_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "listings.json"
    path.write_text(json.dumps([{"sku": "A", "quantity": -1}]), encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "omnisync.sandbox", "amazon", "--listings", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=STOP_TIMEOUT_S,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert "--listings" in completed.stderr


def test_a_port_in_use_is_one_line_and_exit_code_1() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        completed = subprocess.run(
            [sys.executable, "-m", "omnisync.sandbox", "shopify", "--port", port],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=STOP_TIMEOUT_S,
            check=False,
        )
    assert completed.returncode == 1
    assert completed.stdout == ""
    assert completed.stderr.count("\n") == 1
    assert f"cannot serve on 127.0.0.1:{port}" in completed.stderr
