"""One definition per JSON shape: what `--json` prints and what /api/v1 answers for the
same thing are both exactly a model of hub/views/shapes.py, and /openapi.json
describes each of those API responses by that very model.

"Exactly": the output validates against the model (no key it does not declare, none
missing, each value of its type), and the model dumps back to the same bytes the CLI
printed, so nothing is added or reordered outside the model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from omnisync.core.alerting import open_alert, quarantine_payload
from omnisync.core.catalog import upsert_sku
from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.hub.views.shapes import (
    AlertDetailOut,
    AlertOut,
    AlertResolutionOut,
    CancellationOut,
    ChannelOut,
    ChannelSummaryOut,
    MovementHistoryOut,
    OrderDetailOut,
    OrderOut,
    QuarantineDetailOut,
    QuarantineOut,
    QuarantineResolutionOut,
    SkuOut,
    StatusOut,
    StockOut,
    json_data,
)
from tests.support.api import ApiHub, api_hub
from tests.support.cli_runner import invoke_cli
from tests.support.world import ingest, list_sku, make_order, order_row, set_count


@dataclass(frozen=True)
class Hub:
    """The API of a hub, and what the CLI needs to open the same hub."""

    api: ApiHub
    config_dir: Path
    database_url: str

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.api.get(path, **params)

    def post(self, path: str, body: Any) -> httpx.Response:
        return self.api.post(path, body)


@pytest.fixture
def api(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Hub]:
    with api_hub(tmp_path, migrated_database_url, monkeypatch) as hub:
        yield Hub(hub, tmp_path / "config", migrated_database_url)


def seed(api: Hub) -> dict[str, int]:
    """Two SKUs and a bundle on two channels, four orders (one oversold), two open
    alerts and two quarantined payloads: one of everything the views show."""
    engine = api.api.hub.engine
    with transaction(engine) as session:
        upsert_sku(session, "A", title="Alpha")
        upsert_sku(session, "B", barcode="4006381333931")
        upsert_sku(session, "KIT", components={"A": 2})
    set_count(engine, "A", "main", 10)
    set_count(engine, "B", "main", 1)
    list_sku(engine, "shop", "A", "B")
    list_sku(engine, "market", "A", "B")
    ingest(engine, "shop", make_order("S1", [("A", 1)], minutes=1))
    ingest(engine, "shop", make_order("S2", [("A", 2)], minutes=2))
    ingest(engine, "market", make_order("M1", [("A", 1)], minutes=3))
    ingest(engine, "market", make_order("M2", [("B", 3)], minutes=4))  # oversold
    with transaction(engine) as session:
        shop = channel_by_name(session, "shop").id
        market = channel_by_name(session, "market").id
        first = quarantine_payload(session, market, "order", '{"id": "X1"}', "no lines")
        second = quarantine_payload(session, shop, "order", '{"id": "X2"}', "no lines")
        failing = open_alert(session, "consecutive_failures", shop, "shop orders failed")
    assert first.id is not None
    assert second.id is not None
    assert failing.id is not None
    return {
        "S1": order_row(engine, "shop", "S1").id or 0,
        "S2": order_row(engine, "shop", "S2").id or 0,
        "M1": order_row(engine, "market", "M1").id or 0,
        "M2": order_row(engine, "market", "M2").id or 0,
        "payload": first.id,
        "other_payload": second.id,
        "alert": failing.id,
    }


def cli_json(api: Hub, *args: str, shape: Any) -> Any:
    """The CLI's --json output, checked to be exactly `shape`'s dump."""
    result = invoke_cli(api.config_dir, api.database_url, *args, "--json")
    assert result.exit_code in (0, 1), result  # `status` exits 1 while alerts are open
    return exactly(shape, result.stdout)


def api_json(api: Hub, method: str, path: str, shape: Any, body: Any = None) -> Any:
    """The API's answer, checked to be exactly `shape`'s dump and documented as it."""
    response = api.get(path) if method == "get" else api.post(path, body)
    assert response.status_code in (200, 201), response.text
    assert documented_model(api, method, path) == schema_reference(shape)
    return exactly(shape, response.text, indent=None)


def exactly(shape: Any, text: str, indent: int | None = 2) -> Any:
    adapter = TypeAdapter(shape)
    data = json.loads(text)
    again = json_data(adapter.validate_python(data))
    if indent is None:
        assert again == data
    else:  # the CLI's bytes: same keys, same order, same value formats
        assert json.dumps(again, indent=indent, ensure_ascii=False) + "\n" == text
    return data


def documented_model(api: Hub, method: str, path: str) -> str:
    """The `$ref` (or `list of $ref`) of the route's success response in /openapi.json."""
    document = api.api.http.get("/openapi.json").json()
    template = next(
        template
        for template in document["paths"]
        if _matches(template, path) and method in document["paths"][template]
    )
    responses = document["paths"][template][method]["responses"]
    success = responses.get("200") or responses["201"]
    schema = success["content"]["application/json"]["schema"]
    if schema.get("type") == "array":
        return f"list of {schema['items']['$ref']}"
    return str(schema["$ref"])


def _matches(template: str, path: str) -> bool:
    wanted, given = template.split("/"), path.split("?")[0].split("/")
    return len(wanted) == len(given) and all(
        part.startswith("{") or part == value for part, value in zip(wanted, given, strict=True)
    )


def schema_reference(shape: Any) -> str:
    if getattr(shape, "__origin__", None) is list:
        (item,) = shape.__args__
        return f"list of #/components/schemas/{item.__name__}"
    return f"#/components/schemas/{shape.__name__}"


def test_reads_print_and_serve_the_same_models(api: Hub) -> None:
    ids = seed(api)
    pairs: list[tuple[tuple[str, ...], str, Any]] = [
        (("orders", "list"), "/api/v1/orders", list[OrderOut]),
        (("orders", "show", str(ids["M2"])), f"/api/v1/orders/{ids['M2']}", OrderDetailOut),
        (("stock", "show"), "/api/v1/stock", list[StockOut]),
        (("status",), "/api/v1/status", StatusOut),
        (("alerts", "list"), "/api/v1/alerts", list[AlertOut]),
        (("alerts", "show", str(ids["alert"])), f"/api/v1/alerts/{ids['alert']}", AlertDetailOut),
        (("quarantine", "list"), "/api/v1/quarantine", list[QuarantineOut]),
        (
            ("quarantine", "show", str(ids["payload"])),
            f"/api/v1/quarantine/{ids['payload']}",
            QuarantineDetailOut,
        ),
    ]
    for args, path, shape in pairs:
        printed = cli_json(api, *args, shape=shape)
        served = api_json(api, "get", path, shape)
        assert printed, args
        if shape is not StatusOut:  # checked_at and ages differ between two reads
            assert printed == served, args


def test_one_sku_is_printed_as_a_list_of_one_and_served_as_the_object(api: Hub) -> None:
    seed(api)
    printed = cli_json(api, "stock", "show", "KIT", shape=list[StockOut])
    served = api_json(api, "get", "/api/v1/stock/KIT", StockOut)
    assert printed == [served]


def test_channels_are_listed_as_summaries_and_served_with_their_health(api: Hub) -> None:
    seed(api)
    printed = cli_json(api, "channels", "list", shape=list[ChannelSummaryOut])
    served = api_json(api, "get", "/api/v1/channels", list[ChannelOut])
    assert [row["name"] for row in printed] == [row["name"] for row in served]
    for summary, channel in zip(printed, served, strict=True):
        assert {key: channel[key] for key in summary} == summary
    assert issubclass(ChannelOut, ChannelSummaryOut)


def test_what_only_the_cli_prints_is_a_model_too(api: Hub) -> None:
    seed(api)
    assert cli_json(api, "skus", "list", "--all", shape=list[SkuOut])
    assert cli_json(api, "stock", "history", "A", shape=list[MovementHistoryOut])


def test_actions_answer_the_same_models_by_cli_and_api(api: Hub) -> None:
    ids = seed(api)
    held = cli_json(api, "orders", "hold", str(ids["S1"]), shape=OrderDetailOut)
    released = api_json(api, "post", f"/api/v1/orders/{ids['S1']}/release", OrderDetailOut)
    assert held["held_at"] is not None
    assert released["held_at"] is None

    cancelled = cli_json(api, "orders", "cancel", str(ids["S2"]), shape=CancellationOut)
    cancelled_too = api_json(api, "post", f"/api/v1/orders/{ids['M1']}/cancel", CancellationOut)
    assert cancelled["channel"]["answer"] == cancelled_too["channel"]["answer"] == "not_asked"

    resolved = cli_json(
        api, "quarantine", "resolve", str(ids["payload"]), shape=QuarantineResolutionOut
    )
    resolved_too = api_json(
        api,
        "post",
        f"/api/v1/quarantine/{ids['other_payload']}/resolve",
        QuarantineResolutionOut,
        {"note": "seen"},
    )
    assert resolved["payload"]["resolved_at"] is not None
    assert resolved_too["payload"]["resolved_at"] is not None

    alert = cli_json(api, "alerts", "resolve", str(ids["alert"]), shape=AlertResolutionOut)
    still_open = api.get("/api/v1/alerts", state="open").json()
    alert_too = api_json(
        api, "post", f"/api/v1/alerts/{still_open[0]['id']}/resolve", AlertResolutionOut, {}
    )
    assert alert["alert"]["state"] == alert_too["alert"]["state"] == "resolved"
