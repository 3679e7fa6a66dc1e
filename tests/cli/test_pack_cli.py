"""`omnisync pack ORDER`: scans from --scan (each its own transaction, a refused one said
on stderr and exit code 1), the scanner loop on a terminal, and `orders show` of a
packed order. In this process (typer's runner); the label bought once packed is
tests/e2e/test_packing.py's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from omnisync.core.catalog import sku_by_code, upsert_sku
from omnisync.core.db import transaction
from omnisync.core.packaging import add_packaging_barcode
from omnisync.hub.commands import pack as pack_command
from tests.support.api import CLOSED_PORT_URL, SANDBOX_KEY
from tests.support.cli_runner import CliResult, invoke_cli
from tests.support.hub_setup import open_test_hub, sandbox_channel, write_config
from tests.support.world import ingest, list_sku, make_order, set_count

A, B, CASE_OF_6 = "400000000001", "400000000002", "1400000000016"


@dataclass(frozen=True)
class Packer:
    config_dir: Path
    database_url: str
    engine: Engine

    def __call__(self, *args: str) -> CliResult:
        return invoke_cli(
            self.config_dir,
            self.database_url,
            *args,
            env={"SB_KEY": SANDBOX_KEY},
            secrets=[SANDBOX_KEY],
        )


@pytest.fixture
def packer(tmp_path: Path, migrated_database_url: str) -> Iterator[Packer]:
    """A (barcode, and a case of 6) and B at main, listed on "shop"; order 1001: 2 A, 1 B."""
    config = write_config(tmp_path / "config", {"shop": sandbox_channel(CLOSED_PORT_URL)})
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("SB_KEY", SANDBOX_KEY)
        hub = open_test_hub(config, migrated_database_url)
    engine = hub.engine
    with transaction(engine) as session:
        upsert_sku(session, "A", barcode=A)
        upsert_sku(session, "B", barcode=B)
        add_packaging_barcode(session, sku_by_code(session, "A"), CASE_OF_6, 6, "case")
    set_count(engine, "A", "main", 10)
    set_count(engine, "B", "main", 5)
    list_sku(engine, "shop", "A", "B")
    ingest(engine, "shop", make_order("1001", [("A", 2), ("B", 1)]))
    yield Packer(config, migrated_database_url, engine)
    engine.dispose()


def test_scans_go_on_past_a_refusal_and_exit_1(packer: Packer) -> None:
    result = packer("pack", "1001", "--scan", B, "--scan", B, "--scan", CASE_OF_6, "--scan", A)
    assert result.exit_code == 1, result
    assert f"REFUSED {B}: order 1001 needs 1 of B; 1 scanned already" in result.stderr
    assert f"REFUSED {CASE_OF_6}: case of 6 of A, but order 1001 needs only 2" in result.stderr
    assert "OK: B 1/1" in result.stdout
    assert "OK: A 1/2" in result.stdout
    assert "2 of 3 unit(s) scanned; still to scan: A 1" in result.stdout

    done = packer("pack", "1001", "--scan", "A")
    assert done.exit_code == 0, done
    assert "OK: A 2/2" in done.stdout
    assert "is packed: ship it with `omnisync orders label" in done.stdout
    shown = packer("orders", "show", "1001")
    assert "packed at " in shown.stdout
    assert packer("orders", "show", "1001", "--json").json()["packed_at"] is not None


def test_json_prints_the_parcel_and_what_each_scan_did(packer: Packer) -> None:
    result = packer("pack", "1001", "--scan", A, "--scan", "C-9", "--json")
    assert result.exit_code == 1
    assert "REFUSED C-9: 'C-9' is not the barcode of any SKU or packaging" in result.stderr
    body = json.loads(result.stdout)
    assert [(item["code"], item["sku"], item["units"]) for item in body["accepted"]] == [
        (A, "A", 1)
    ]
    assert body["refused"] == [
        {"code": "C-9", "message": "'C-9' is not the barcode of any SKU or packaging"}
    ]
    assert (body["order"], body["order_name"], body["packed"]) == (1, "1001", False)
    shown = packer("pack", "1001", "--json").json()  # no scans, no terminal: the parcel
    assert shown["packed"] is False
    assert [(line["sku"], line["scanned"], line["remaining"]) for line in shown["lines"]] == [
        ("A", 1, 1),
        ("B", 0, 1),
    ]
    assert shown["accepted"] == []
    assert shown["refused"] == []


def test_an_order_that_cannot_ship_fails_at_once(packer: Packer) -> None:
    assert packer("orders", "hold", "1001", "--reason", "fraud review").exit_code == 0
    held = packer("pack", "1001", "--scan", A, "--scan", B)
    assert held.exit_code == 1
    assert held.stderr.startswith("error: order 1001 is on hold (fraud review)")
    unknown = packer("pack", "NOPE", "--scan", A)
    assert unknown.exit_code == 1
    assert "error:" in unknown.stderr
    elsewhere = packer("pack", "1001", "--location", "moon")
    assert elsewhere.exit_code == 1
    assert "unknown location 'moon'" in elsewhere.stderr


def scanner(monkeypatch: pytest.MonkeyPatch, *lines: str) -> list[str]:
    """The packer at a terminal typing `lines`, then the end of input; the lines not read."""
    typed = list(lines)
    monkeypatch.setattr(pack_command, "_stdin_is_terminal", lambda: True)
    monkeypatch.setattr(pack_command, "_read_line", lambda: typed.pop(0) if typed else None)
    return typed


def test_the_scanner_loop_runs_until_the_order_is_packed(
    packer: Packer, monkeypatch: pytest.MonkeyPatch
) -> None:
    unread = scanner(monkeypatch, B, B, A, CASE_OF_6, A, "never read")
    result = packer("pack", "1001")
    assert result.exit_code == 0, result
    assert "3 unit(s) to pack" in result.stdout
    assert [line for line in result.stdout.splitlines() if line.startswith("OK")] == [
        "OK: B 1/1",
        "OK: A 1/2",
        "OK: A 2/2",
    ]
    assert f"REFUSED {B}: order 1001 needs 1 of B; 1 scanned already" in result.stderr
    assert f"REFUSED {CASE_OF_6}: case of 6 of A, but order 1001 needs only 1 more" in (
        result.stderr
    )
    assert "still to scan: A 1" in result.stdout
    assert "is packed" in result.stdout
    assert unread == ["never read"]


def test_the_packer_stops_or_starts_over(packer: Packer, monkeypatch: pytest.MonkeyPatch) -> None:
    scanner(monkeypatch, A, "reset", B, "q", A)
    stopped = packer("pack", "1001")
    assert stopped.exit_code == 0, stopped
    assert "started over: no unit is scanned" in stopped.stdout
    assert "1 of 3 unit(s) scanned; still to scan: A 2" in stopped.stdout
    assert packer("pack", "1001", "--json").json()["lines"][1]["scanned"] == 1  # B kept

    scanner(monkeypatch, A, "")  # Enter on an empty line stops too
    again = packer("pack", "1001")
    assert "2 of 3 unit(s) scanned; still to scan: A 1" in again.stdout


def test_help_says_when_it_exits_1(packer: Packer) -> None:
    text = " ".join(packer("pack", "--help").stdout.split())
    assert "Exit code 1 when any --scan was refused" in text
