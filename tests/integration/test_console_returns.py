"""The console's returns screens in-process (SQLite and PostgreSQL): the list filters by
status, channel and `?waiting=1` and pages by key; a return's page shows its lines and
order. An operator receives with a disposition per line (restocked units go back on the
shelf as a return_restock movement), approves and closes, each recorded with who did
it; a viewer cannot, and a step the return does not take changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.dto import NormalisedReturn, NormalisedReturnLine
from omnisync.core.models import Return, ReturnInspection, StockMovement, UserAction
from omnisync.core.return_intake import intake_return
from omnisync.core.types import MovementKind, OrderStatus, ReturnStatus
from omnisync.hub.returns import NewReturn, open_return, returns_taken
from omnisync.hub.web.pages import returns as returns_page
from tests.support.console import OPERATOR, VIEWER, ConsoleHub, console_hub, seed_console_world
from tests.support.world import T0, ingest, level, make_order


@dataclass
class World:
    console: ConsoleHub
    made: int
    """A return made in the hub of order R-1 (3 of A shipped): approved."""
    asked: int
    """A return the channel reported of order R-2 (1 of B): requested."""


@pytest.fixture
def world(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    with console_hub(tmp_path, migrated_database_url, monkeypatch) as console:
        engine = console.engine
        seed_console_world(engine)
        shipped = OrderStatus.SHIPPED
        ingest(engine, "shop", make_order("R-1", [("A", 3)], status=shipped, minutes=10))
        ingest(engine, "shop", make_order("R-2", [("B", 1)], status=shipped, minutes=11))
        with transaction(engine) as session:
            request = NewReturn(order="R-1", units={"A": 3}, reason="too small")
            made = open_return(session, request, by="test").id
            shop = channel_by_name(session, "shop")
            reported = NormalisedReturn(
                external_id="SR-2",
                order_external_id="R-2",
                status=ReturnStatus.REQUESTED,
                requested_at=T0 + timedelta(days=1),
                updated_at=T0 + timedelta(days=1),
                lines=(
                    NormalisedReturnLine(
                        external_line_id="SR-2-L1", order_external_line_id="R-2-0", quantity=1
                    ),
                ),
            )
            intake_return(session, shop, reported, returns_taken(session, shop.id or 0))
            asked = session.exec(select(Return.id).where(Return.external_id == "SR-2")).one()
        assert made is not None
        assert asked is not None
        yield World(console, made, asked)


def listed(page: str) -> list[int]:
    return [int(part.split('"')[0]) for part in page.split('data-return="')[1:]]


def recorded(engine: Engine) -> list[tuple[str, str, str]]:
    with Session(engine) as session:
        rows = session.exec(select(UserAction).order_by(col(UserAction.id))).all()
        return [(row.user_name, row.action, row.target) for row in rows]


def return_status(engine: Engine, return_id: int) -> ReturnStatus:
    with Session(engine) as session:
        ret = session.get(Return, return_id)
        assert ret is not None
        return ret.status


def test_the_list_filters_and_pages_by_key(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    viewer = world.console.client(VIEWER)
    page = viewer.get("/returns")
    assert page.status_code == 200, page.text
    assert listed(page.text) == [world.made, world.asked]  # newest requested first
    assert listed(viewer.get("/returns", waiting="1").text) == [world.made, world.asked]
    assert listed(viewer.get("/returns", status="requested").text) == [world.asked]
    assert listed(viewer.get("/returns", status="approved", waiting="1").text) == [world.made]
    assert listed(viewer.get("/returns", status="closed", waiting="1").text) == []
    assert listed(viewer.get("/returns", channel="market").text) == []
    assert listed(viewer.get("/returns", channel="shop").text) == [world.made, world.asked]
    assert viewer.get("/returns", status="lost").status_code == 422
    assert viewer.get("/returns", cursor="bm90IGEgY3Vyc29y").status_code == 422

    monkeypatch.setattr(returns_page, "PAGE_SIZE", 1)
    first = viewer.get("/returns", channel="shop")
    assert listed(first.text) == [world.made]
    following = first.text.split('class="next-page"')[0].rsplit('href="', 1)[1].split('"')[0]
    cursor = following.split("cursor=")[1].split("&")[0]
    second = viewer.get("/returns", channel="shop", cursor=cursor)
    assert listed(second.text) == [world.asked]
    assert 'class="next-page"' not in second.text

    detail = viewer.get(f"/returns/{world.made}")
    assert detail.status_code == 200
    assert 'href="/orders/' in detail.text
    assert "R-1-R1" in detail.text
    assert 'id="receive-form"' not in detail.text  # viewers read only
    assert 'id="return-actions"' not in detail.text
    assert viewer.get("/returns/999999").status_code == 404


def test_an_operator_receives_with_dispositions_approves_and_closes(world: World) -> None:
    engine = world.console.engine
    operator = world.console.client(OPERATOR)
    page = operator.get(f"/returns/{world.made}").text
    assert 'id="receive-form"' in page
    line_id = int(page.split('data-line="')[1].split('"')[0])
    receipt = {
        f"units-{line_id}-restock": "2",
        f"units-{line_id}-damaged": "1",
        f"units-{line_id}-missing": "0",
        f"location-{line_id}": "backup",
    }
    viewer = world.console.client(VIEWER)
    assert viewer.post(f"/returns/{world.made}/receive", receipt).status_code == 403
    assert viewer.post(f"/returns/{world.asked}/approve").status_code == 403
    assert level(engine, "A", "backup") == (0, 0)

    forged = operator.post(f"/returns/{world.made}/receive", receipt, csrf="forged")
    assert forged.status_code == 403
    received = operator.post(f"/returns/{world.made}/receive", receipt)
    assert received.status_code == 303
    assert received.headers["location"] == f"/returns/{world.made}"
    page = operator.get(f"/returns/{world.made}").text
    assert "received: 2 A restock, 1 A damaged; it is received" in page
    assert return_status(engine, world.made) == ReturnStatus.RECEIVED
    assert level(engine, "A", "backup") == (2, 0)
    with Session(engine) as session:
        movements = session.exec(
            select(StockMovement).where(StockMovement.kind == MovementKind.RETURN_RESTOCK)
        ).all()
        assert [(m.delta, m.reference) for m in movements] == [(2, f"return:{world.made}")]
        inspections = session.exec(select(ReturnInspection).order_by(col(ReturnInspection.id)))
        assert [(i.disposition.value, i.quantity, i.by) for i in inspections] == [
            ("restock", 2, OPERATOR),
            ("damaged", 1, OPERATOR),
        ]

    again = operator.post(f"/returns/{world.made}/receive", receipt)  # nothing is left
    assert again.status_code == 303
    assert "nothing more is received" in operator.get(f"/returns/{world.made}").text
    assert level(engine, "A", "backup") == (2, 0)
    asked_page = operator.get(f"/returns/{world.asked}").text
    asked_line = int(asked_page.split('data-line="')[1].split('"')[0])
    operator.post(f"/returns/{world.asked}/receive", {f"units-{asked_line}-restock": "two"})
    assert "is no count" in operator.get(f"/returns/{world.asked}").text
    operator.post(f"/returns/{world.asked}/receive", {f"units-{line_id}-restock": "1"})
    assert "enter the units received" in operator.get(f"/returns/{world.asked}").text

    assert operator.post(f"/returns/{world.asked}/decline", {"reason": ""}).status_code == 303
    assert return_status(engine, world.asked) == ReturnStatus.REQUESTED
    assert operator.post(f"/returns/{world.asked}/approve").status_code == 303
    assert return_status(engine, world.asked) == ReturnStatus.APPROVED
    assert operator.post(f"/returns/{world.made}/close").status_code == 303
    assert return_status(engine, world.made) == ReturnStatus.CLOSED
    assert recorded(engine) == [
        (OPERATOR, "return.receive", "R-1-R1"),
        (OPERATOR, "return.approve", "SR-2"),
        (OPERATOR, "return.close", "R-1-R1"),
    ]
