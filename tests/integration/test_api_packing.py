"""GET, POST and DELETE /api/v1/orders/{id}/pack (SQLite and PostgreSQL): each scan in
its own transaction, the refused ones listed with why and counted nowhere; each accepted
scan and a reset recorded (record_action) in the transaction of the change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from omnisync.core.catalog import sku_by_code, upsert_sku
from omnisync.core.db import transaction
from omnisync.core.models import PackScan, UserAction
from omnisync.core.packaging import add_packaging_barcode
from tests.support.api import ApiHub, api_hub
from tests.support.world import ingest, list_sku, make_order, set_count

A, B, CASE_OF_6 = "400000000001", "400000000002", "1400000000016"


@pytest.fixture
def api(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ApiHub]:
    """A (barcode, and a case of 6) and B at main, listed on "shop"; order 1001: 2 A, 1 B."""
    with api_hub(tmp_path, migrated_database_url, monkeypatch) as hub:
        engine = hub.hub.engine
        with transaction(engine) as session:
            upsert_sku(session, "A", barcode=A)
            upsert_sku(session, "B", barcode=B)
            add_packaging_barcode(session, sku_by_code(session, "A"), CASE_OF_6, 6, "case")
        set_count(engine, "A", "main", 10)
        set_count(engine, "B", "main", 5)
        list_sku(engine, "shop", "A", "B")
        ingest(engine, "shop", make_order("1001", [("A", 2), ("B", 1)]))
        yield hub


def pack(api: ApiHub, *scans: str, **extra: Any) -> dict[str, Any]:
    response = api.post("/api/v1/orders/1001/pack", {"scans": list(scans), **extra})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def remaining(body: dict[str, Any]) -> dict[str, int]:
    return {line["sku"]: line["remaining"] for line in body["lines"]}


def recorded(api: ApiHub) -> list[tuple[str, str, str, Any]]:
    with Session(api.hub.engine) as session:
        rows = session.exec(select(UserAction).order_by(col(UserAction.id))).all()
        return [(row.user_name, row.action, row.target, row.detail) for row in rows]


def failing_record(*_: Any) -> None:
    raise RuntimeError("the record could not be written")


def scan_count(api: ApiHub) -> int:
    with Session(api.hub.engine) as session:
        return len(session.exec(select(PackScan)).all())


def test_scans_are_applied_one_by_one_and_the_refused_ones_listed(
    api: ApiHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = pack(api, B, B, CASE_OF_6, "nothing-known", A)
    assert [(item["code"], item["sku"], item["scanned"]) for item in first["accepted"]] == [
        (B, "B", 1),
        (A, "A", 1),
    ]
    assert first["refused"] == [
        {"code": B, "message": "order 1001 needs 1 of B; 1 scanned already"},
        {"code": CASE_OF_6, "message": "case of 6 of A, but order 1001 needs only 2"},
        {
            "code": "nothing-known",
            "message": "'nothing-known' is not the barcode of any SKU or packaging",
        },
    ]
    assert first["packed"] is False
    assert first["packed_at"] is None
    assert remaining(first) == {"A": 1, "B": 0}
    assert scan_count(api) == 2

    shown = api.get("/api/v1/orders/1001/pack")
    assert shown.status_code == 200
    assert shown.json() == {key: first[key] for key in shown.json()}
    assert set(first) - set(shown.json()) == {"accepted", "refused", "label", "label_error"}
    assert (first["label"], first["label_error"]) == (None, None)
    scanned = {"code": B, "sku": "B", "units": 1, "location": None}
    assert recorded(api) == [  # each accepted scan, none of the refused ones
        ("api", "pack.scan", "order 1001", scanned),
        ("api", "pack.scan", "order 1001", {**scanned, "code": A, "sku": "A"}),
    ]

    # The record is written in the change's own transaction: when it fails, the scan
    # and the reset are undone with it.
    with monkeypatch.context() as patched:
        patched.setattr("omnisync.hub.packing.record_action", failing_record)
        with pytest.raises(RuntimeError):
            api.post("/api/v1/orders/1001/pack", {"scans": ["A"]})
        with pytest.raises(RuntimeError):
            api.http.delete("/api/v1/orders/1001/pack", headers=api.auth)
    assert scan_count(api) == 2
    assert len(recorded(api)) == 2

    done = pack(api, "A")
    assert done["packed"] is True
    assert done["packed_at"] is not None
    assert done["refused"] == []
    assert api.get("/api/v1/orders/1001").json()["packed_at"] == done["packed_at"]

    reset = api.http.delete("/api/v1/orders/1001/pack", headers=api.auth)
    assert reset.status_code == 200, reset.text
    assert reset.json()["packed"] is False
    assert remaining(reset.json()) == {"A": 2, "B": 1}
    assert scan_count(api) == 0
    assert api.get("/api/v1/orders/1001").json()["packed_at"] is None
    assert [action for _, action, _, _ in recorded(api)] == ["pack.scan"] * 3 + ["pack.reset"]
    assert recorded(api)[-1] == ("api", "pack.reset", "order 1001", {"location": None})


def test_a_location_narrows_the_parcel(api: ApiHub) -> None:
    at_backup = api.get("/api/v1/orders/1001/pack", location="backup")
    assert at_backup.status_code == 200
    assert at_backup.json()["lines"] == []
    refused = api.post("/api/v1/orders/1001/pack", {"scans": [A], "location": "backup"})
    assert refused.status_code == 422
    assert refused.json()["error"] == "order 1001 has nothing left to pack at backup"
    at_main = pack(api, A, location="main")
    assert at_main["location"] == "main"
    assert remaining(at_main) == {"A": 1, "B": 1}
    unknown = api.get("/api/v1/orders/1001/pack", location="moon")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "unknown location 'moon'"


def test_refusals_of_the_whole_request(api: ApiHub) -> None:
    assert api.post("/api/v1/orders/NOPE/pack", {"scans": [A]}).status_code == 404
    assert api.get("/api/v1/orders/NOPE/pack").status_code == 404
    assert api.post("/api/v1/orders/1001/pack", {"scans": "A"}).status_code == 422
    assert api.post("/api/v1/orders/1001/pack", {"codes": [A]}).status_code == 422
    assert api.post("/api/v1/orders/1001/hold", {"reason": "fraud review"}).status_code == 200
    held = api.post("/api/v1/orders/1001/pack", {"scans": [A, B]})
    assert held.status_code == 409
    assert "on hold (fraud review)" in held.json()["error"]
    assert scan_count(api) == 0
