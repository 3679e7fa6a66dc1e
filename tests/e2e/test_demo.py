"""`omnisync demo`: the shape of its report, the promises it checks, and how it fails.

The subprocess timeouts are a safety net only: the demo bounds its own waits
(`--timeout`), and nothing here measures how long it took; the report's timings are
checked for being there, never for their values.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from subprocess import PIPE
from typing import Any

import httpx
import pytest

from omnisync.hub.demo.amazon import NOTIFICATIONS_OFF

SAFETY_NET_S = 300
TOKEN = re.compile(r"demo-[0-9a-f]{16}")
"""The demo's generated credentials (hub/demo/run.py): never printed."""
WITHOUT_MOTO = (
    "import sys, runpy; sys.modules['moto'] = None; "  # what find_spec and import then see
    "runpy.run_module('omnisync.hub.cli', run_name='__main__')"
)
"""The demo's CLI in a Python where moto cannot be imported, as after `pip install omnisync`."""
SPREAD = {"p50", "p95", "max", "samples"}
CONSOLE_LINE = re.compile(
    r"console: (http://127\.0\.0\.1:\d+/)  \(sign in as demo / ([A-Za-z0-9_-]{10,})\)"
)
"""What the demo prints once its hub serves the console: where, and the login."""
DEMO_RUNNER = "the demo runs on SQLite, in-process: the single runner by design"
VISIT_WINDOW_S = "12"
"""The demo's console is served only while its buyers buy (`--duration`): the visit (a
sign-in, whose password hash is slow on purpose, and four pages) must fit in it on a
loaded machine. About 2 s on two busy cores; 12 s leaves room for several times that
(6 s did not), and each second more costs the test about 1.5 s (more orders to buy,
sync and ship)."""


def run_demo(
    *args: str, moto: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    python = [sys.executable, "-m", "omnisync.hub.cli"] if moto else [sys.executable, "-c"]
    return subprocess.run(
        [*python, *([] if moto else [WITHOUT_MOTO]), "demo", *args],
        capture_output=True,
        text=True,
        timeout=SAFETY_NET_S,
        check=False,
        env=env,
    )


@dataclass(frozen=True)
class Visit:
    """What the console showed the demo's user, signed in while the buyers bought."""

    login: int
    home: str
    stock: str
    channels: str
    users: str


def visit_console(url: str, password: str) -> Visit:
    with httpx.Client(base_url=url, timeout=30, headers={"Accept": "text/html"}) as client:
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None, form.text
        data = {"name": "demo", "password": password, "csrf_token": token.group(1), "next": "/"}
        login = client.post("/login", data=data)
        return Visit(
            login.status_code,
            client.get("/").text,
            client.get("/stock").text,
            client.get("/channels").text,
            client.get("/users").text,
        )


def run_demo_visiting_console(*args: str) -> tuple[subprocess.CompletedProcess[str], Visit]:
    """`omnisync demo --json ...`, signing in to its console (from the line on stderr)
    while its buyers buy, then waiting for its end."""
    command = [sys.executable, "-m", "omnisync.hub.cli", "demo", "--json", *args]
    with subprocess.Popen(command, stdout=PIPE, stderr=PIPE, text=True) as process:
        assert process.stderr is not None
        said: list[str] = []
        visit: Visit | None = None
        for line in process.stderr:  # the report, on stdout, comes only at the end
            said.append(line)
            found = CONSOLE_LINE.fullmatch(line.rstrip("\n"))
            if found is not None:
                visit = visit_console(found.group(1), found.group(2))
                break
        stdout, rest = process.communicate(timeout=SAFETY_NET_S)
    completed = subprocess.CompletedProcess(
        command, process.returncode, stdout, "".join(said) + rest
    )
    assert visit is not None, completed.stderr
    return completed, visit


def channel_of_type(report: dict[str, Any], kind: str) -> dict[str, Any]:
    chosen: dict[str, Any] = next(c for c in report["channels"] if c["type"] == kind)
    return chosen


def assert_measured_from_each_sale(report: dict[str, Any]) -> None:
    """Every channel the buyers bought on has its intake and from-sale figures; every
    order in the hub is one a buyer placed, so each has its intake figure."""
    names = [channel["name"] for channel in report["channels"]]
    assert list(report["from_sale_ms"]) == names
    assert list(report["intake_ms"]) == names
    for channel in report["channels"]:
        intake = report["intake_ms"][channel["name"]]
        from_sale = report["from_sale_ms"][channel["name"]]
        assert set(intake) == set(from_sale) == SPREAD
        assert intake["samples"] == channel["orders_ingested"], (intake, channel)
        assert 0 < from_sale["samples"] <= intake["samples"], (from_sale, channel)


@pytest.mark.slow
@pytest.mark.single_runner(DEMO_RUNNER)
def test_the_demo_loses_and_duplicates_nothing_and_ends_reconciled(tmp_path: Path) -> None:
    path = tmp_path / "reports" / "demo.json"
    completed, visit = run_demo_visiting_console(
        "--duration", VISIT_WINDOW_S, "--seed", "7", "--report", str(path)
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    # The console served the demo's hub while the buyers bought, to the user it printed
    # (whose password the report leaves out).
    (console_line,) = [
        line for line in completed.stderr.splitlines() if line.startswith("console:")
    ]
    found = CONSOLE_LINE.fullmatch(console_line)
    assert found is not None, console_line
    assert report["console_url"] == found.group(1)
    assert found.group(2) not in completed.stdout
    assert visit.login == 303
    assert '<span id="signed-in-as">demo' in visit.home
    assert "Needs action" in visit.home
    assert "DEMO-001" in visit.stock
    for channel in report["channels"]:
        assert channel["name"] in visit.channels
    assert 'data-user="demo"' in visit.users
    # The same report is in the file, and the last line on stderr says where (stdout
    # stays the JSON alone).
    assert json.loads(path.read_text(encoding="utf-8")) == report
    assert completed.stderr.splitlines()[-1] == f"report written to {path}"
    assert set(report) >= {
        "duration_s",
        "orders_total",
        "orders_lost",
        "orders_duplicated",
        "oversold_units",
        "mismatched_listings",
        "propagation_ms",
        "from_sale_ms",
        "intake_ms",
        "channels",
        "shipping",
        "notices",
        "console_url",
    }
    assert report["orders_total"] > 0
    assert report["orders_lost"] == 0
    assert report["orders_duplicated"] == 0
    assert report["mismatched_listings"] == 0
    assert set(report["propagation_ms"]) >= {"p50", "p95", "max"}
    assert report["propagation_ms"]["samples"] > 0
    assert len(report["channels"]) >= 2
    for channel in report["channels"]:
        assert set(channel) == {
            "name",
            "type",
            "intake",
            "events_taken",
            "orders_ingested",
            "pushes",
            "errors",
        }
        assert channel["pushes"] > 0
    assert sum(c["orders_ingested"] for c in report["channels"]) == report["orders_total"]
    for kind in ("shopify", "amazon", "ebay", "woocommerce"):
        chosen = [c for c in report["channels"] if c["type"] == kind]
        assert chosen, kind
        assert chosen[0]["orders_ingested"] > 0, chosen
    # Amazon's orders came by ORDER_CHANGE notifications over moto's SQS (installed with
    # dev); Shopify's, eBay's and WooCommerce's by signed webhooks (eBay's notifications)
    # to the hub's HTTP server, WooCommerce's each delivered twice; the sandbox's by
    # polling.
    assert report["notices"] == []
    amazon = channel_of_type(report, "amazon")
    assert amazon["intake"] == "notifications"
    assert amazon["events_taken"] > 0
    expected = {
        "shopify": "webhook",
        "ebay": "webhook",
        "woocommerce": "webhook",
        "sandbox": "polling",
    }
    for channel in report["channels"]:
        if channel is not amazon:
            assert (channel["intake"], channel["events_taken"]) == (
                expected[channel["type"]],
                0,
            ), channel
    assert_measured_from_each_sale(report)
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
    assert not TOKEN.search(completed.stderr)  # the demo token never reaches the logs


@pytest.mark.slow
@pytest.mark.single_runner(DEMO_RUNNER)
@pytest.mark.parametrize(
    ("fault", "error"),
    [
        # Every call answered 500: the last runs fail fast, and say why.
        (
            "amazon-b:500",
            r"channel amazon-b, job orders: TransientError: searchOrders: HTTP 500 .*"
            r"\(3 runs failed\)",
        ),
        # Every call left unanswered: the deadline of the wait ends it.
        ("ebay-c:timeout", r"channel ebay-c, job orders: not done within 5s"),
    ],
)
def test_a_marketplace_failing_every_call_ends_the_demo_with_one_line(
    tmp_path: Path, fault: str, error: str
) -> None:
    """Once the buyers stop, one marketplace fails every call: the final sync gives up on
    it by the deadline (`--timeout 5`) instead of retrying for minutes, exit code 1, and
    stderr is one line naming the channel, the job and the error."""
    path = tmp_path / "report.json"
    # Three marketplaces are enough for the two that fail (the demo's default has four).
    short = ["--duration", "3", "--seed", "7", "--timeout", "5", "--channels", "3"]
    completed = run_demo(*short, "--fault", fault, "--report", str(path))
    assert completed.returncode == 1, completed.stderr
    assert completed.stderr.count("\n") == 1, completed.stderr
    assert re.fullmatch(f"demo failed: {error}\n", completed.stderr), completed.stderr
    assert not TOKEN.search(completed.stdout + completed.stderr)
    assert not path.exists()


def last_table(stdout: str) -> dict[str, dict[str, int]]:
    """The rows of the last rich table printed, by channel: column name -> number."""
    lines = stdout.splitlines()
    header_at = max(index for index, line in enumerate(lines) if line.startswith("┃ channel"))
    columns = [cell.strip() for cell in lines[header_at].strip("┃").split("┃")]
    rows: dict[str, dict[str, int]] = {}
    for line in lines[header_at + 2 :]:
        if not line.startswith("│"):
            break
        cells = [cell.strip() for cell in line.strip("│").split("│")]
        rows[cells[0]] = {
            name: int(cell) for name, cell in zip(columns[1:], cells[1:], strict=True)
        }
    return rows


@dataclass(frozen=True)
class TableRun:
    completed: subprocess.CompletedProcess[str]
    report: dict[str, Any]


@pytest.fixture(scope="module")
def short_demo_without_moto(tmp_path_factory: pytest.TempPathFactory) -> TableRun:
    """One short demo of two channels, in a Python without moto, its table drawn 200
    columns wide. The two tests below read it: a demo costs tens of seconds, and how
    Amazon's orders come in changes nothing in the table."""
    path = tmp_path_factory.mktemp("short-demo") / "demo.json"
    short = ["--duration", "3", "--seed", "7", "--channels", "2", "--report", str(path)]
    completed = run_demo(*short, moto=False, env={**os.environ, "COLUMNS": "200"})
    assert completed.returncode == 0, completed.stderr
    return TableRun(completed, json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.slow
@pytest.mark.single_runner(DEMO_RUNNER)
def test_the_last_table_printed_counts_what_the_report_counts(
    short_demo_without_moto: TableRun,
) -> None:
    """The live table's last frame is drawn before the final sync; the table printed after
    it agrees with the report (and the summary printed from it)."""
    completed, report = short_demo_without_moto.completed, short_demo_without_moto.report
    table = last_table(completed.stdout)
    under = completed.stdout[completed.stdout.rindex("└") :].splitlines()[1:3]
    assert under[0].strip() == "after the final sync"
    assert under[1].startswith(f"{report['orders_total']} orders on ")  # the summary
    assert list(table) == [channel["name"] for channel in report["channels"]]
    for channel in report["channels"]:
        row = table[channel["name"]]
        assert row["orders in hub"] == channel["orders_ingested"], (row, channel)
        assert row["pushes"] == channel["pushes"], (row, channel)
        assert row["errors"] == channel["errors"], (row, channel)
    assert sum(row["orders placed"] for row in table.values()) == report["orders_total"]
    assert sum(row["orders in hub"] for row in table.values()) == report["orders_total"]
    assert sum(row["shipped"] for row in table.values()) == report["shipping"]["parcels"]
    assert sum(row["delivered"] for row in table.values()) == report["shipping"]["delivered"]
    from_sale = report["from_sale_ms"]
    for channel in report["channels"]:
        assert table[channel["name"]]["from sale p95 ms"] == round(
            from_sale[channel["name"]]["p95"]
        )


@pytest.mark.slow
@pytest.mark.single_runner(DEMO_RUNNER)
def test_without_moto_the_demo_polls_amazon_and_says_so_once(
    short_demo_without_moto: TableRun,
) -> None:
    """moto comes with the dev and demo extras only: a plain install has none, and the
    demo then polls Amazon, loses nothing, and says why on its console and in the report."""
    completed, report = short_demo_without_moto.completed, short_demo_without_moto.report
    assert completed.stdout.count(NOTIFICATIONS_OFF) == 1
    # The console's address and login, once, on the demo's terminal.
    lines = [line for line in completed.stdout.splitlines() if line.startswith("console: ")]
    assert len(lines) == 1, lines
    found = CONSOLE_LINE.fullmatch(lines[0])
    assert found is not None, lines
    assert report["console_url"] == found.group(1)
    assert report["notices"] == [NOTIFICATIONS_OFF]
    amazon = channel_of_type(report, "amazon")
    assert (amazon["intake"], amazon["events_taken"]) == ("polling", 0)
    assert amazon["orders_ingested"] > 0
    assert report["orders_lost"] == 0
    assert report["orders_duplicated"] == 0
    assert report["mismatched_listings"] == 0
    assert_measured_from_each_sale(report)
