"""/api/v1/returns (SQLite and PostgreSQL): the CLI's `returns list|show|create|approve|
decline|receive|refund|close` over HTTP, paged by key, with the same shapes the CLI
prints, and refusals as 404, 409 or 422 that change nothing.

"shop" is a sandbox channel nothing answers (no returns API: returns are made in the
hub); "desk" is the test channel type of tests/cli/test_returns_cli.py, which takes
every return action, so what it is told waits in the outbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter
from sqlmodel import Session, select

from omnisync.core.catalog import upsert_sku
from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.dto import NormalisedReturn, NormalisedReturnLine
from omnisync.core.models import ReturnInspection
from omnisync.core.return_intake import intake_return
from omnisync.core.types import OrderStatus, ReturnStatus
from omnisync.hub.returns import returns_taken
from omnisync.hub.views.shapes import ReturnDetailOut, ReturnOut
from tests.cli.test_returns_cli import DESK_KEY
from tests.support.api import ApiHub, api_hub, closed_channels
from tests.support.cli_runner import invoke_cli
from tests.support.world import T0, ingest, level, list_sku, make_order, set_count

SHIPPED = OrderStatus.SHIPPED


@pytest.fixture
def api(
    tmp_path: Path, empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ApiHub]:
    """A (10) and B (5) at main; shipped orders 1001 (3 of A, 1 of B: 7 of A left at
    main), 1002 and 1003 (1 of A each) on shop, and D-1 (1 of B) on desk."""
    monkeypatch.setenv("DESK_KEY", DESK_KEY)
    channels = {
        **closed_channels("shop"),
        "desk": "type: returns-desk\napi_key: ${DESK_KEY}\n",
    }
    with api_hub(tmp_path, empty_database_url, monkeypatch, channels=channels) as hub:
        engine = hub.hub.engine
        with transaction(engine) as session:
            upsert_sku(session, "A")
            upsert_sku(session, "B")
        set_count(engine, "A", "main", 12)
        set_count(engine, "B", "main", 6)
        list_sku(engine, "shop", "A", "B")
        list_sku(engine, "desk", "A", "B")
        ingest(engine, "shop", make_order("1001", [("A", 3), ("B", 1)], status=SHIPPED))
        ingest(engine, "shop", make_order("1002", [("A", 1)], status=SHIPPED, minutes=1))
        ingest(engine, "shop", make_order("1003", [("A", 1)], status=SHIPPED, minutes=2))
        ingest(engine, "desk", make_order("D-1", [("B", 1)], status=SHIPPED))
        yield hub


def create(api: ApiHub, order: str = "1001", **extra: Any) -> dict[str, Any]:
    body = {"order": order, "lines": [{"sku": "A", "quantity": 1}], "reason": "too small"}
    response = api.post("/api/v1/returns", {**body, **extra})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def inspections(api: ApiHub) -> int:
    with Session(api.hub.engine) as session:
        return len(session.exec(select(ReturnInspection)).all())


def test_a_return_is_made_received_refunded_and_closed_over_http(api: ApiHub) -> None:
    made = create(api, lines=[{"sku": "A", "quantity": 1}, {"sku": "A", "quantity": 1}])
    assert (made["name"], made["status"], made["units_requested"]) == ("1001-R1", "approved", 2)
    assert made["created_by"] == "api"
    TypeAdapter(ReturnDetailOut).validate_python(made)

    received = api.post(
        "/api/v1/returns/1001-R1/receive",
        {
            "lines": [
                {"sku": "A", "quantity": 1, "disposition": "restock", "location": "backup"},
                {"sku": "A", "quantity": 1, "disposition": "damaged"},
            ],
            "refund": True,
        },
    )
    assert received.status_code == 200, received.text
    body = received.json()
    assert body["status"] == "received"
    assert (body["units_restocked"], body["units_damaged"]) == (1, 1)
    assert body["refund_state"] == "refunded"  # the sandbox takes no refund: recorded
    assert body["refund_note"].endswith("The hub sent no money: recorded as refunded by api.")
    (line,) = body["lines"]
    seen = [(i["disposition"], i["location"], i["by"]) for i in line["inspections"]]
    assert seen == [("restock", "backup", "api"), ("damaged", None, "api")]
    assert level(api.hub.engine, "A", "backup") == (1, 0)
    assert level(api.hub.engine, "A", "main") == (7, 0)

    order = api.get("/api/v1/orders/1001").json()
    assert order["return_state"] == "partially_returned"
    assert order["returns"] == [{"id": made["id"], "name": "1001-R1", "status": "received"}]

    closed = api.post(f"/api/v1/returns/{made['id']}/close", None)
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    again = api.post(f"/api/v1/returns/{made['id']}/close", None)
    assert again.status_code == 409
    assert again.json() == {"error": "return 1001-R1 is closed already"}


def test_refusals_are_404_409_or_422_and_change_nothing(api: ApiHub) -> None:
    def refused(path: str, body: Any, status: int) -> str:
        response = api.post(path, body)
        assert response.status_code == status, (path, body, response.text)
        error: str = response.json()["error"]
        return error

    line = {"sku": "A", "quantity": 1}
    assert "no order" in refused(
        "/api/v1/returns", {"order": "404", "lines": [line], "reason": "r"}, 404
    )
    other_sku = {"order": "1001", "lines": [{"sku": "C", "quantity": 1}], "reason": "r"}
    assert "has no line of 'C'" in refused("/api/v1/returns", other_sku, 422)
    assert "body.reason" in refused("/api/v1/returns", {"order": "1001", "lines": [line]}, 422)
    assert "body.lines" in refused(
        "/api/v1/returns", {"order": "1001", "lines": [], "reason": "r"}, 422
    )
    assert api.get("/api/v1/returns/nope").status_code == 404
    assert api.get("/api/v1/returns").json() == []

    made = create(api)
    receive = f"/api/v1/returns/{made['id']}/receive"
    assert "A: 2 received but only 1 of the return left to inspect" in refused(
        receive, {"lines": [{"sku": "A", "quantity": 2, "disposition": "restock"}]}, 422
    )
    assert "unknown location 'attic'" in refused(
        receive,
        {"lines": [{"sku": "A", "quantity": 1, "disposition": "restock", "location": "attic"}]},
        404,
    )
    assert "a location goes with restocked units only" in refused(
        receive,
        {"lines": [{"sku": "A", "quantity": 1, "disposition": "damaged", "location": "main"}]},
        422,
    )
    assert "body.lines.0.disposition" in refused(
        receive, {"lines": [{"sku": "A", "quantity": 1, "disposition": "lost"}]}, 422
    )
    assert "only a requested one is declined" in refused(
        f"/api/v1/returns/{made['id']}/decline", {"reason": "no"}, 409
    )
    assert "body.reason" in refused(f"/api/v1/returns/{made['id']}/decline", {}, 422)
    assert "only a requested one is approved" in refused(
        f"/api/v1/returns/{made['id']}/approve", None, 409
    )
    assert inspections(api) == 0
    assert level(api.hub.engine, "A", "main") == (7, 0)
    assert api.get(f"/api/v1/returns/{made['id']}").json()["status"] == "approved"


def test_the_list_pages_newest_first_by_key_and_filters(api: ApiHub) -> None:
    ids = [create(api, order)["id"] for order in ("1001", "1002", "1003")]
    rows, pages = api.follow("/api/v1/returns", limit=2)
    assert ([row["id"] for row in rows], pages) == (ids[::-1], 2)
    TypeAdapter(list[ReturnOut]).validate_python(rows)
    first = api.get("/api/v1/returns", limit=2)
    assert 'rel="next"' in first.headers["Link"]

    api.post(f"/api/v1/returns/{ids[0]}/close", None)
    closed = api.get("/api/v1/returns", status="closed").json()
    assert [row["id"] for row in closed] == [ids[0]]
    assert api.get("/api/v1/returns", channel="desk").json() == []
    assert api.get("/api/v1/returns", status="lost").status_code == 422
    assert api.get("/api/v1/returns", cursor="bm90IGEgY3Vyc29y").status_code == 422
    assert api.get("/api/v1/returns", chanel="shop").status_code == 422


def test_a_channels_return_is_approved_and_refunded_through_the_outbox(api: ApiHub) -> None:
    with transaction(api.hub.engine) as session:
        desk = channel_by_name(session, "desk")
        reported = NormalisedReturn(
            external_id="DR-1",
            order_external_id="D-1",
            status=ReturnStatus.REQUESTED,
            requested_at=T0 + timedelta(days=1),
            updated_at=T0 + timedelta(days=1),
            lines=(
                NormalisedReturnLine(
                    external_line_id="DR-1-L1", order_external_line_id="D-1-0", quantity=1
                ),
            ),
        )
        intake_return(session, desk, reported, returns_taken(session, desk.id or 0))
    approved = api.post("/api/v1/returns/DR-1/approve", None)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    refunded = api.post("/api/v1/returns/DR-1/refund", None).json()
    assert refunded["refund_state"] == "pending"
    assert [(p["action"], p["refund"], p["state"]) for p in refunded["pushes"]] == [
        ("approve", False, "pending"),
        ("refund", True, "pending"),
    ]
    assert api.post("/api/v1/returns/DR-1/refund", None).status_code == 409  # pending already


def test_the_cli_and_the_api_give_the_same_shapes(
    api: ApiHub, tmp_path: Path, empty_database_url: str
) -> None:
    made = create(api)
    env = {"SB_KEY": "sandbox-key-93ab71e2", "DESK_KEY": DESK_KEY}

    def cli_json(*args: str) -> Any:
        return invoke_cli(tmp_path / "config", empty_database_url, *args, "--json", env=env).json()

    assert (
        cli_json("returns", "show", str(made["id"]))
        == api.get(f"/api/v1/returns/{made['id']}").json()
    )
    assert cli_json("returns", "list") == api.get("/api/v1/returns").json()
    documented = api.http.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/returns",
        "/api/v1/returns/{return_id}",
        "/api/v1/returns/{return_id}/approve",
        "/api/v1/returns/{return_id}/decline",
        "/api/v1/returns/{return_id}/receive",
        "/api/v1/returns/{return_id}/refund",
        "/api/v1/returns/{return_id}/close",
    ):
        assert path in documented
