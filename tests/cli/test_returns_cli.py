"""`omnisync returns list|show|create|approve|decline|receive|refund|close`, the returns of
`omnisync orders show` and `omnisync report returns`.

The commands run in this process (typer's runner). Orders are put in the database by
order intake as shipped, as a pull of a shipped order would. "shop" is a sandbox
channel (no returns API: its returns are made here); "amz" an Amazon channel whose
endpoint nothing answers (returns come from its report; it takes no refund from the
hub); "desk" a channel of the test type below, which takes every return action, so
what the hub tells it waits in the outbox. Returns of "amz" and "desk" are taken in
as their returns job would, through core's intake.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from omnisync.connectors.base import Capability, Connector, ConnectorSettings
from omnisync.connectors.registry import register
from omnisync.core.catalog import upsert_sku
from omnisync.core.channels import channel_by_name
from omnisync.core.db import make_engine, transaction
from omnisync.core.dto import NormalisedReturn, NormalisedReturnLine
from omnisync.core.models import ReturnInspection, ReturnPush
from omnisync.core.return_intake import intake_return
from omnisync.core.types import OrderStatus, PushState, ReturnAction, ReturnStatus
from omnisync.hub.returns import returns_taken
from tests.cli.test_cli import Cli, write
from tests.cli.test_orders_cancel_hold import AMAZON, AMAZON_SECRETS
from tests.support.api import CLOSED_PORT_URL, SANDBOX_KEY
from tests.support.cli_runner import CliResult, invoke_cli
from tests.support.hub_setup import sandbox_channel
from tests.support.world import T0, ingest, level, list_sku, make_order, set_count

DESK_KEY = "desk-key-5be0c3d1"


class DeskSettings(ConnectorSettings):
    api_key: SecretStr


@register
class ReturnsDeskConnector(Connector[DeskSettings]):
    """A channel that takes every return action (as Shopify does): nothing is sent in
    these tests, the pushes only wait in the outbox."""

    channel_type: ClassVar[str] = "returns-desk"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.RETURNS})
    return_actions: ClassVar[frozenset[ReturnAction]] = frozenset(ReturnAction)


@pytest.fixture
def cli(tmp_path: Path, empty_database_url: str) -> Cli:
    config = tmp_path / "config"
    write(config / "hub.yaml", "locations:\n  - code: main\n  - code: backup\n")
    write(config / "channels" / "shop.yaml", sandbox_channel(CLOSED_PORT_URL))
    write(config / "channels" / "amz.yaml", AMAZON)
    write(config / "channels" / "desk.yaml", "type: returns-desk\napi_key: ${DESK_KEY}\n")
    return Cli(cwd=tmp_path, database_url=empty_database_url, config_dir=config)


def invoke(cli: Cli, *args: str) -> CliResult:
    assert cli.config_dir is not None
    secrets = {"SB_KEY": SANDBOX_KEY, "DESK_KEY": DESK_KEY, **AMAZON_SECRETS}
    return invoke_cli(
        cli.config_dir, cli.database_url, *args, env=secrets, secrets=list(secrets.values())
    )


@pytest.fixture
def engine(cli: Cli) -> Iterator[Engine]:
    """After `init`: A (10) and B (5) at main, listed everywhere; shipped orders 1001 on
    shop (3 of A, 1 of B: main keeps 7 of A and 4 of B), 111-2222222-3333333 on amz (2 of
    A) and D-1 on desk (1 of B)."""
    assert invoke(cli, "init").exit_code == 0
    engine = make_engine(cli.database_url)
    with transaction(engine) as session:
        for code in ("A", "B"):
            upsert_sku(session, code)
    set_count(engine, "A", "main", 12)
    set_count(engine, "B", "main", 6)
    for channel in ("shop", "amz", "desk"):
        list_sku(engine, channel, "A", "B")
    shipped = OrderStatus.SHIPPED
    ingest(engine, "shop", make_order("1001", [("A", 3), ("B", 1)], status=shipped))
    ingest(engine, "amz", make_order("111-2222222-3333333", [("A", 2)], status=shipped))
    ingest(engine, "desk", make_order("D-1", [("B", 1)], status=shipped))
    assert level(engine, "A", "main") == (7, 0)
    yield engine
    engine.dispose()


def take_in(engine: Engine, channel: str, order: str, external_id: str) -> None:
    """A return of one unit of the order's first line, requested on `channel`, as its
    returns job takes it."""
    with transaction(engine) as session:
        target = channel_by_name(session, channel)
        reported = NormalisedReturn(
            external_id=external_id,
            order_external_id=order,
            status=ReturnStatus.REQUESTED,
            channel_status="Requested",
            requested_at=T0 + timedelta(days=2),
            updated_at=T0 + timedelta(days=2),
            reason="does not fit",
            lines=(
                NormalisedReturnLine(
                    external_line_id=f"{external_id}-L1",
                    order_external_line_id=f"{order}-0",
                    quantity=1,
                ),
            ),
        )
        intake_return(session, target, reported, returns_taken(session, target.id or 0))


def inspections(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(ReturnInspection)).all())


def test_a_return_made_here_is_received_restocked_in_part_and_closed(
    cli: Cli, engine: Engine
) -> None:
    made = invoke(
        cli, "returns", "create", "1001", "--line", "A:2", "--reason", "too small",
        "--note", "the box was open", "--by", "ann",
    )  # fmt: skip
    assert made.exit_code == 0, made
    assert "return 1 (1001-R1) made for order 1 (shop 1001): 2 of A; it is approved" in made.stdout
    assert "omnisync returns receive 1 --line SKU:QTY:DISPOSITION" in made.stdout

    received = invoke(
        cli, "returns", "receive", "1001-R1", "--line", "A:1:restock",
        "--line", "A:1:damaged", "--location", "backup", "--by", "bob",
    )  # fmt: skip
    assert received.exit_code == 0, received
    assert (
        "return 1 (1001-R1): 1 of A restocked at backup, 1 of A damaged (no stock change); "
        "it is received"
    ) in received.stdout
    assert "order 1 (shop 1001) is returned in part: 2 of 4 units back" in received.stdout
    assert level(engine, "A", "main") == (7, 0)
    assert level(engine, "A", "backup") == (1, 0)  # exactly the one sellable unit

    shown = invoke(cli, "returns", "show", "1", "--json").json()
    assert (shown["status"], shown["created_by"], shown["customer_note"]) == (
        "received",
        "ann",
        "the box was open",
    )
    (line,) = shown["lines"]
    assert {key: line[key] for key in ("channel_sku", "sku", "requested", "left")} == {
        "channel_sku": "A",
        "sku": "A",
        "requested": 2,
        "left": 0,
    }
    assert (line["restocked"], line["damaged"], line["missing"], line["not_returned"]) == (
        1,
        1,
        0,
        0,
    )
    seen = [(i["disposition"], i["quantity"], i["location"], i["by"]) for i in line["inspections"]]
    assert seen == [("restock", 1, "backup", "bob"), ("damaged", 1, None, "bob")]
    assert shown["order"]["external_id"] == "1001"
    assert shown["order"]["return_state"] == "partially_returned"
    assert shown["pushes"] == []  # a return made in the hub has nothing to tell the channel

    order = invoke(cli, "orders", "show", "1001")
    assert "returned in part: 2 of 4 units back" in order.stdout
    assert "returns: 1001-R1 (received)" in order.stdout
    order_json = invoke(cli, "orders", "show", "1001", "--json").json()
    assert order_json["return_state"] == "partially_returned"
    assert order_json["returns"] == [{"id": 1, "name": "1001-R1", "status": "received"}]

    text = invoke(cli, "returns", "show", "1001-R1").stdout
    assert "return 1 (1001-R1) on shop: received" in text
    assert "reason: too small; buyer's note: the box was open; made in the hub by ann" in text
    assert "backup" in text
    assert "bob" in text

    closed = invoke(cli, "returns", "close", "1")
    assert closed.exit_code == 0, closed
    assert "return 1 (1001-R1) of order 1 (shop 1001): closed" in closed.stdout
    again = invoke(cli, "returns", "close", "1")
    assert again.exit_code == 1
    assert "error: return 1001-R1 is closed already" in again.stderr


BAD_RECEIPTS = [
    (["--line", "A:x:restock"], "'A:x:restock': QTY must be a whole number"),
    (["--line", "A:1:lost"], "DISPOSITION must be one of restock, damaged, missing, not_returned"),
    (["--line", "A:1"], "'A:1' is not SKU:QTY:DISPOSITION"),
    (["--line", "A:0:restock"], "QTY must be at least 1"),
    (["--line", "A:1:damaged", "--location", "main"], "no --line is restock"),
]


def test_a_receipt_that_cannot_be_read_is_bad_usage(cli: Cli) -> None:
    """Refused as it is read, before the hub is opened: nothing can have changed."""
    for args, complaint in BAD_RECEIPTS:
        refused = invoke(cli, "returns", "receive", "1", *args)
        assert refused.exit_code == 2, (args, refused)
        assert complaint in " ".join(refused.stderr.split()), (args, refused)


def test_refusals_name_what_is_wrong_and_change_nothing(cli: Cli, engine: Engine) -> None:
    def refused(*args: str) -> str:
        result = invoke(cli, "returns", *args)
        assert result.exit_code == 1, result
        return " ".join(result.stderr.split())

    assert "has no line of 'C' (its SKUs: A, B)" in refused(
        "create", "1001", "--line", "C:1", "--reason", "r"
    )
    assert "A: 4 to return but only 3 shipped and not already in a return" in refused(
        "create", "1001", "--line", "A:4", "--reason", "r"
    )
    assert "a return needs a reason" in refused("create", "1001", "--line", "A:1", "--reason", " ")
    assert "no return 'R-404'" in refused("show", "R-404")
    assert invoke(cli, "returns", "list", "--json").json() == []

    assert invoke(cli, "returns", "create", "1001", "--line", "A:1", "--reason", "r").exit_code == 0
    assert "A: 2 received but only 1 of the return left to inspect" in refused(
        "receive", "1", "--line", "A:2:restock"
    )
    assert "the return has no line of 'B'" in refused("receive", "1", "--line", "B:1:restock")
    assert "unknown location 'attic'" in refused(
        "receive", "1", "--line", "A:1:restock", "--location", "attic"
    )
    assert "only a requested one is declined" in refused("decline", "1", "--reason", "no")
    assert "only a requested one is approved" in refused("approve", "1")
    assert inspections(engine) == 0
    assert level(engine, "A", "main") == (7, 0)


def test_an_amazon_return_is_refunded_in_seller_central_and_the_hub_records_it(
    cli: Cli, engine: Engine
) -> None:
    take_in(engine, "amz", "111-2222222-3333333", "AMZ-RMA-1")
    listed = invoke(cli, "returns", "list", "--channel", "amz", "--json").json()
    assert [(row["external_id"], row["status"], row["units_requested"]) for row in listed] == [
        ("AMZ-RMA-1", "requested", 1)
    ]
    assert "Seller Central" in listed[0]["refund_note"]

    received = invoke(cli, "returns", "receive", "AMZ-RMA-1", "--line", "A:1:restock", "--refund")
    assert received.exit_code == 0, received
    assert "1 of A restocked at main" in received.stdout
    assert "refund recorded: Amazon has no refund call for merchant-fulfilled orders" in (
        " ".join(received.stdout.split())
    )
    assert "outbox" not in received.stdout  # Amazon is told nothing of a return
    assert level(engine, "A", "main") == (8, 0)

    shown = invoke(cli, "returns", "show", "AMZ-RMA-1", "--json").json()
    assert shown["refund_state"] == "refunded"
    assert "The hub sent no money: recorded as refunded by" in shown["refund_note"]
    assert shown["order"]["return_state"] == "partially_returned"
    assert invoke(cli, "returns", "refund", "AMZ-RMA-1").exit_code == 1  # refunded already


def test_what_a_channel_is_told_waits_in_the_outbox_and_show_lists_it(
    cli: Cli, engine: Engine
) -> None:
    take_in(engine, "desk", "D-1", "DR-1")
    approved = invoke(cli, "returns", "approve", "DR-1")
    assert approved.exit_code == 0, approved
    assert "return 1 (DR-1) of order 3 (desk D-1): approved" in approved.stdout
    assert "1 update(s) for desk wait in the outbox" in approved.stdout
    assert "omnisync sync returns --channel desk" in approved.stdout

    received = invoke(cli, "returns", "receive", "DR-1", "--line", "B:1:not_returned")
    assert received.exit_code == 0, received
    assert "1 of B not returned (the buyer keeps it)" in received.stdout
    refunded = invoke(cli, "returns", "refund", "DR-1", "--json").json()
    assert refunded["refund_state"] == "pending"
    assert [(push["action"], push["refund"], push["state"]) for push in refunded["pushes"]] == [
        ("approve", False, "pending"),
        ("process", False, "pending"),
        ("refund", True, "pending"),
    ]
    with transaction(engine) as session:  # the channel refused the refund
        push = session.exec(select(ReturnPush).order_by(col(ReturnPush.id).desc())).first()
        assert push is not None
        push.push_state, push.push_error, push.push_attempts = (
            PushState.FAILED,
            "refund amount exceeds the order",
            1,
        )
        session.add(push)
    text = invoke(cli, "returns", "show", "DR-1").stdout
    assert "refund amount exceeds the order" in text
    assert "failed" in text


def test_declining_a_requested_return_and_the_list_filters(cli: Cli, engine: Engine) -> None:
    take_in(engine, "desk", "D-1", "DR-1")
    take_in(engine, "amz", "111-2222222-3333333", "AMZ-RMA-1")
    declined = invoke(cli, "returns", "decline", "DR-1", "--reason", "outside the window")
    assert declined.exit_code == 0, declined
    assert "declined (outside the window)" in declined.stdout

    def listed(*args: str) -> list[Any]:
        rows: list[Any] = invoke(cli, "returns", "list", *args, "--json").json()
        return [row["external_id"] for row in rows]

    assert sorted(listed()) == ["AMZ-RMA-1", "DR-1"]
    assert listed("--status", "declined") == ["DR-1"]
    assert listed("--status", "requested", "--channel", "amz") == ["AMZ-RMA-1"]
    assert listed("--channel", "shop") == []
    table = invoke(cli, "returns", "list").stdout
    assert "DR-1" in table
    assert "declined" in table
    order = invoke(cli, "orders", "show", "D-1", "--json").json()
    assert order["return_state"] == "none"  # a declined return brought nothing back


def test_report_returns_prints_the_rate_and_what_it_is_of(cli: Cli, engine: Engine) -> None:
    # make_order places orders at T0: the period must reach back to it from today
    assert invoke(cli, "returns", "create", "1001", "--line", "A:1", "--reason", "r").exit_code == 0
    report = invoke(cli, "report", "returns", "--since", "36500d", "--json").json()
    assert report["rate_of"].startswith("units returned / units shipped")
    shop = next(row for row in report["channels"] if row["channel"] == "shop")
    assert (shop["units_shipped"], shop["units_returned"], shop["return_rate"]) == (4, 1, 0.25)
    text = invoke(cli, "report", "returns", "--since", "36500d", "--channel", "shop")
    assert text.exit_code == 0, text
    assert "25.0%" in text.stdout
    assert "return rate = units returned / units shipped" in " ".join(text.stdout.split())
    bad = invoke(cli, "report", "returns", "--since", "soon")
    assert bad.exit_code == 2
