"""`skus import` and `stock import` read the whole file before writing anything: a count
given twice, bundles before their components, bundles inside bundles, and negative
safety stock. Every case imports all rows or none."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import Cli, Result, write, write_valid_config
from tests.support.databases import sqlite_url


@pytest.fixture
def hub_cli(tmp_path: Path) -> Cli:
    """An initialised hub on SQLite with locations main and backup."""
    write_valid_config(tmp_path / "config")
    cli = Cli(
        cwd=tmp_path, database_url=sqlite_url(tmp_path / "var"), config_dir=tmp_path / "config"
    )
    cli.ok("init")
    return cli


def refused(cli: Cli, *args: str) -> str:
    result: Result = cli(*args)
    assert result.returncode == 1, result
    assert "nothing imported" in result.stderr, result
    return " ".join(result.stderr.split())


def skus(cli: Cli) -> dict[str, dict[str, object]]:
    return {row["code"]: row for row in cli.ok("skus", "list", "--json").json()}


def on_hand(cli: Cli, sku: str) -> dict[str, int]:
    (row,) = cli.ok("stock", "show", sku, "--json").json()
    return {level["location"]: level["on_hand"] for level in row["locations"]}


@pytest.mark.slow
def test_a_count_of_the_same_sku_and_location_twice_is_refused_naming_both_lines(
    hub_cli: Cli, tmp_path: Path
) -> None:
    write(tmp_path / "skus.csv", "code\nA\nB\n")
    hub_cli.ok("skus", "import", "skus.csv")
    twice = write(
        tmp_path / "twice.csv",
        """\
        sku,quantity,location
        A,5,main
        B,2,
        A,7,backup
        A,9,
        """,
    )

    message = refused(hub_cli, "stock", "import", str(twice))

    assert f"{twice}:5: SKU 'A' at main is already counted on line 2" in message
    assert "backup" not in message  # the same SKU at another location is no repeat
    assert on_hand(hub_cli, "A") == {"main": 0, "backup": 0}
    assert on_hand(hub_cli, "B") == {"main": 0, "backup": 0}

    write(tmp_path / "once.csv", "sku,quantity,location\nA,5,main\nA,7,backup\n")
    hub_cli.ok("stock", "import", "once.csv")
    assert on_hand(hub_cli, "A") == {"main": 5, "backup": 7}
    # Changes add up: two rows of one SKU are two receipts.
    write(tmp_path / "received.csv", "sku,quantity,reason\nA,2,PO-1\nA,3,PO-2\n")
    hub_cli.ok("stock", "import", "--adjust", "received.csv")
    assert on_hand(hub_cli, "A") == {"main": 10, "backup": 7}


def test_a_bundle_may_come_before_its_components(hub_cli: Cli, tmp_path: Path) -> None:
    write(
        tmp_path / "skus.csv",
        """\
        code,title,components
        KIT,Cup and parts,PART:2 CUP:1
        PART,Part,
        CUP,Cup,
        """,
    )

    hub_cli.ok("skus", "import", "skus.csv")

    listed = skus(hub_cli)
    assert sorted(listed) == ["CUP", "KIT", "PART"]
    assert listed["KIT"]["components"] == [
        {"sku": "PART", "quantity": 2},
        {"sku": "CUP", "quantity": 1},
    ]


def test_bundles_inside_bundles_and_cycles_are_refused(hub_cli: Cli, tmp_path: Path) -> None:
    nested = write(
        tmp_path / "nested.csv",
        """\
        code,components
        BIG,SMALL:2
        SMALL,PART:1
        PART,
        LOOP,ROUND:1
        ROUND,LOOP:1
        """,
    )

    message = refused(hub_cli, "skus", "import", str(nested))

    assert (
        f"{nested}:2: bundle 'BIG' contains 'SMALL', a bundle itself (line 3): "
        "a bundle's components must be plain SKUs"
    ) in message
    assert (
        f"{nested}:5: bundles contain each other in a cycle: "
        "'LOOP' (line 5) -> 'ROUND' (line 6) -> 'LOOP' (line 5)"
    ) in message
    assert skus(hub_cli) == {}


def test_a_negative_safety_stock_must_not_be_negative(hub_cli: Cli, tmp_path: Path) -> None:
    bad = write(
        tmp_path / "bad.csv",
        """\
        code,safety_stock
        A,2
        B,-1
        C,abc
        """,
    )

    message = refused(hub_cli, "skus", "import", str(bad))

    assert f"{bad}:3: safety_stock '-1' must not be negative" in message
    assert f"{bad}:4: safety_stock 'abc' is not a whole number" in message
    assert "'-1' is not a whole number" not in message
    assert skus(hub_cli) == {}


def test_a_sku_on_two_rows_is_refused_naming_both_lines(hub_cli: Cli, tmp_path: Path) -> None:
    twice = write(tmp_path / "twice.csv", "code,title\nA,Alpha\nB,Beta\nA,Again\n")

    message = refused(hub_cli, "skus", "import", str(twice))

    assert f"{twice}:4: SKU 'A' is already on line 2: one row per SKU" in message
    assert skus(hub_cli) == {}
