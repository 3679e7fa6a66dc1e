"""Shipping units the hub's books did not hold: on hand stops at zero, and the history,
the log and the channel's oversold alert say what happened, by SKU and location code."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from omnisync.core.alerting import RULE_OVERSOLD, SHIPPED_NOT_ON_HAND
from omnisync.core.catalog import sku_by_code
from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.models import Alert, Order
from omnisync.core.shipping import record_shipment
from omnisync.core.types import AlertState, MovementKind
from omnisync.hub.views import movement_list
from omnisync.hub.views.shapes import json_data
from tests.support.world import (
    build_world,
    check_ledger_invariants,
    ingest,
    level,
    make_order,
    order_row,
    set_count,
)


def ship_all(engine: Engine, external_id: str, *, channel: str = "shop") -> None:
    with transaction(engine) as session:
        order = session.exec(
            select(Order).where(
                Order.external_id == external_id,
                Order.channel_id == channel_by_name(session, channel).id,
            )
        ).one()
        record_shipment(session, order, None, carrier="ups", tracking_number="1Z0001")


def history(engine: Engine, sku: str) -> list[dict[str, Any]]:
    with Session(engine) as session:
        rows: list[dict[str, Any]] = json_data(movement_list(session, sku_by_code(session, sku)))
    return rows


def oversold_alert(engine: Engine, channel: str = "shop") -> Alert:
    with Session(engine) as session:
        return session.exec(
            select(Alert).where(
                Alert.rule == RULE_OVERSOLD,
                Alert.channel_id == channel_by_name(session, channel).id,
                Alert.state == AlertState.OPEN,
            )
        ).one()


def check_invariants(engine: Engine) -> None:
    with Session(engine) as session:
        check_ledger_invariants(session)


def test_shipping_a_unit_not_on_hand_is_recorded_as_a_shortfall(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 0)
    ingest(engine, "shop", make_order("8", [("A", 1)]))
    assert order_row(engine, "shop", "8").oversold

    with caplog.at_level(logging.WARNING, logger="omnisync.core.locked_stock"):
        ship_all(engine, "8")

    assert level(engine, "A", "main") == (0, 0)
    *_, last = history(engine, "A")
    assert (last["kind"], last["delta"], last["on_hand_after"]) == (
        MovementKind.SHIPMENT_SHORTFALL.value,
        0,
        0,
    )
    assert last["location"] == "main"
    assert last["reason"] == "shipped 1 unit not on hand (order 8): stock count was short"
    assert last["reference"] == "shop:8"
    (warning,) = [record.getMessage() for record in caplog.records]
    assert "SKU 'A' at main" in warning
    assert "order 8 (shop:8)" in warning
    assert not re.search(r"sku \d", warning)  # no internal id
    alert = oversold_alert(engine)
    assert (alert.details or {})[SHIPPED_NOT_ON_HAND] == [
        {"order": "8", "reference": "shop:8", "sku": "A", "location": "main", "short": 1}
    ]
    assert "SKU 'A' at main" in alert.message
    check_invariants(engine)


def test_units_partly_on_hand_leave_and_the_rest_is_a_shortfall_named_by_order_name(
    engine: Engine,
) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 3)
    named = make_order("gid://shopify/Order/1001", [("A", 3)]).model_copy(
        update={"display_name": "#1001"}
    )
    ingest(engine, "shop", named)
    set_count(engine, "A", "main", 1)  # the shelf held one: the count was short before
    assert level(engine, "A", "main") == (1, 3)

    ship_all(engine, "gid://shopify/Order/1001")

    assert level(engine, "A", "main") == (0, 0)
    moved = [(row["kind"], row["delta"], row["on_hand_after"]) for row in history(engine, "A")]
    assert moved[-2:] == [("shipment", -1, 0), ("shipment_shortfall", 0, 0)]
    assert history(engine, "A")[-1]["reason"] == (
        "shipped 2 units not on hand (order #1001): stock count was short"
    )
    (noted,) = (oversold_alert(engine).details or {})[SHIPPED_NOT_ON_HAND]
    assert (noted["order"], noted["sku"], noted["location"], noted["short"]) == (
        "#1001",
        "A",
        "main",
        2,
    )
    check_invariants(engine)


def test_a_bundle_shortfall_names_each_component(engine: Engine) -> None:
    build_world(engine, skus=("A", "B"), bundles={"KIT": {"A": 2, "B": 1}})
    set_count(engine, "A", "main", 0)
    set_count(engine, "B", "main", 1)
    ingest(engine, "shop", make_order("9", [("KIT", 1)]))

    ship_all(engine, "9")

    assert level(engine, "A", "main") == (0, 0)
    assert level(engine, "B", "main") == (0, 0)
    noted = (oversold_alert(engine).details or {})[SHIPPED_NOT_ON_HAND]
    assert [(item["sku"], item["short"]) for item in noted] == [("A", 2)]
    assert history(engine, "A")[-1]["reason"] == (
        "shipped 2 units not on hand (order 9): stock count was short"
    )
    assert history(engine, "B")[-1]["kind"] == "shipment"
    check_invariants(engine)


def test_the_channel_reporting_units_shipped_beyond_stock_is_a_shortfall_too(
    engine: Engine,
) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 0)
    ingest(engine, "shop", make_order("10", [("A", 2)]))

    ingest(engine, "shop", make_order("10", [("A", 2)], minutes=1, shipped=[2]))
    ingest(engine, "shop", make_order("10", [("A", 2)], minutes=1, shipped=[2]))  # a repeat

    shortfalls = [row for row in history(engine, "A") if row["kind"] == "shipment_shortfall"]
    assert [(row["delta"], row["reason"]) for row in shortfalls] == [
        (0, "shipped 2 units not on hand (order 10): stock count was short")
    ]
    assert level(engine, "A", "main") == (0, 0)
    check_invariants(engine)


def test_a_later_oversold_order_keeps_the_shortfalls_the_alert_lists(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 0)
    ingest(engine, "shop", make_order("11", [("A", 1)]))
    ingest(engine, "shop", make_order("12", [("A", 1)], minutes=1))
    ship_all(engine, "11")

    ingest(engine, "shop", make_order("13", [("B", 4)], minutes=2))

    details = oversold_alert(engine).details or {}
    assert details["external_id"] == "13"
    assert [item["order"] for item in details[SHIPPED_NOT_ON_HAND]] == ["11"]
