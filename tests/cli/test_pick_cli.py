"""`omnisync stock bins import|list`, the bins of `stock show`, `omnisync skus barcodes
add|list|remove` and `omnisync pick create|show|list|confirm|cancel`, in this process
(typer's runner) on SQLite and PostgreSQL.

Orders are put in the database by order intake, as a pull would; "shop" and "market"
are channels of the test type "fake", selling from main and backup.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from omnisync.core.catalog import upsert_sku
from omnisync.core.db import make_engine, transaction
from omnisync.core.models import SkuBin
from omnisync.hub.commands import pick as pick_commands
from tests.cli.test_cli import SECRET, Cli, write
from tests.integration.test_pick_lists import confirm_deadlocked_once
from tests.support import fake_connector  # noqa: F401  (registers the "fake" type)
from tests.support.cli_runner import CliResult, invoke_cli
from tests.support.world import ingest, level, list_sku, make_order, set_count

BINS = """\
sku,location,bin,sequence
A,main,Z-9,30
B,main,A-1,20
C,,M-5,10
A,backup,B-7,
"""
"""C's location is empty: the first location of hub.yaml (main)."""


@pytest.fixture
def cli(tmp_path: Path, migrated_database_url: str) -> Cli:
    config = tmp_path / "config"
    write(config / "hub.yaml", "locations:\n  - code: main\n  - code: backup\n")
    for name in ("shop", "market"):
        write(
            config / "channels" / f"{name}.yaml",
            f"type: fake\nshop: {name}\napi_key: ${{FAKE_API_KEY}}\n",
        )
    return Cli(cwd=tmp_path, database_url=migrated_database_url, config_dir=config)


def invoke(cli: Cli, *args: str) -> CliResult:
    assert cli.config_dir is not None
    return invoke_cli(
        cli.config_dir, cli.database_url, *args, env={"FAKE_API_KEY": SECRET}, secrets=[SECRET]
    )


def ok(cli: Cli, *args: str) -> CliResult:
    result = invoke(cli, *args)
    assert result.exit_code == 0, result
    return result


@pytest.fixture
def engine(cli: Cli) -> Iterator[Engine]:
    """After `init`: A (barcode 4006381333931), B, C and the bundle KIT (2 A), 20 of each
    plain SKU at main, listed on shop."""
    ok(cli, "init")
    engine = make_engine(cli.database_url)
    with transaction(engine) as session:
        upsert_sku(session, "A", barcode="4006381333931")
        upsert_sku(session, "B")
        upsert_sku(session, "C")
        upsert_sku(session, "KIT", components={"A": 2})
    for code in ("A", "B", "C"):
        set_count(engine, code, "main", 20)
    list_sku(engine, "shop", "A", "B", "C")
    yield engine
    engine.dispose()


def bins_file(cli: Cli, text: str, name: str = "bins.csv") -> str:
    return str(write(cli.cwd / name, text))


def bins_in_database(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(SkuBin)).all())


def test_a_bins_file_with_problems_names_each_by_line_and_column_and_imports_nothing(
    cli: Cli, engine: Engine
) -> None:
    source = bins_file(
        cli,
        "sku,location,bin,sequence\n"
        "A,main,A-01,10\n"
        "NOPE,main,A-02,\n"
        "B,attic,A-03,1\n"
        "B,main,,x\n"
        "KIT,main,K-1,2\n"
        "A,main,A-09,-3\n"
        "A,main,A-09,3\n",
    )

    refused = invoke(cli, "stock", "bins", "import", source)

    assert refused.exit_code == 1, refused
    assert refused.stderr.splitlines() == [
        "error: nothing imported:",
        f"{source}:3: column sku: unknown SKU 'NOPE'",
        f"{source}:4: column location: unknown location 'attic'",
        f"{source}:5: column bin: bin is empty",
        f"{source}:5: column sequence: sequence 'x' is not a whole number",
        f"{source}:6: column sku: 'KIT' is a bundle: it is picked as its components, give "
        "them bins",
        f"{source}:7: column sequence: sequence '-3' must not be negative",
        f"{source}:8: SKU 'A' at main already has a row (line 2): one row per SKU and location",
    ]
    assert bins_in_database(engine) == 0

    headless = bins_file(cli, "sku,bin\nA,A-01\n", "short.csv")
    missing = invoke(cli, "stock", "bins", "import", headless)
    assert missing.exit_code == 1
    assert missing.stderr.strip() == (
        f"error: {headless}: the header lacks column(s) location, sequence"
    )
    assert bins_in_database(engine) == 0


def test_bins_imported_again_are_updated_and_stock_show_lists_them(
    cli: Cli, engine: Engine
) -> None:
    imported = ok(cli, "stock", "bins", "import", bins_file(cli, BINS))
    assert "4 bin(s) imported" in imported.stdout
    ok(cli, "stock", "bins", "import", bins_file(cli, "sku,location,bin,sequence\nA,main,Z-1,5\n"))

    listed = ok(cli, "stock", "bins", "list", "--json").json()
    assert listed == [
        {"sku": "A", "location": "backup", "bin": "B-7", "sequence": None,
         "updated_at": listed[0]["updated_at"]},
        {"sku": "A", "location": "main", "bin": "Z-1", "sequence": 5,
         "updated_at": listed[1]["updated_at"]},
        {"sku": "C", "location": "main", "bin": "M-5", "sequence": 10,
         "updated_at": listed[2]["updated_at"]},
        {"sku": "B", "location": "main", "bin": "A-1", "sequence": 20,
         "updated_at": listed[3]["updated_at"]},
    ]  # fmt: skip
    at_backup = ok(cli, "stock", "bins", "list", "--location", "backup", "--json").json()
    assert [(row["sku"], row["bin"]) for row in at_backup] == [("A", "B-7")]
    table = ok(cli, "stock", "bins", "list").stdout
    assert table.index("Z-1") < table.index("M-5") < table.index("A-1")

    (stock,) = ok(cli, "stock", "show", "A", "--json").json()
    assert stock["bins"] == [
        {"location": "main", "bin": "Z-1", "sequence": 5},
        {"location": "backup", "bin": "B-7", "sequence": None},
    ]
    shown = ok(cli, "stock", "show", "A").stdout
    assert re.search(r"main\s+│?\s*Z-1 \(#5\)\s+│?\s*20", shown), shown
    assert re.search(r"backup\s+│?\s*B-7\s+│?\s*0", shown), shown
    (kit,) = ok(cli, "stock", "show", "KIT", "--json").json()
    assert kit["bins"] == []


def test_packaging_barcodes_are_added_listed_refused_when_taken_and_removed(
    cli: Cli, engine: Engine
) -> None:
    added = ok(cli, "skus", "barcodes", "add", "A", "14006381333938", "--quantity", "6",
               "--name", "case")  # fmt: skip
    assert added.stdout.strip() == ("barcode 14006381333938 is SKU A's case of 6: a scan counts 6")
    ok(cli, "skus", "barcodes", "add", "A", "24006381333935", "-q", "24", "--json")

    listed = ok(cli, "skus", "barcodes", "list", "A", "--json").json()
    assert [(row["sku"], row["barcode"], row["quantity"], row["name"]) for row in listed] == [
        ("A", "14006381333938", 6, "case"),
        ("A", "24006381333935", 24, ""),
    ]
    assert "14006381333938" in ok(cli, "skus", "barcodes", "list", "A").stdout

    taken = invoke(cli, "skus", "barcodes", "add", "B", "4006381333931", "--quantity", "2")
    assert taken.exit_code == 1
    assert taken.stderr.strip() == (
        "error: barcode '4006381333931' is SKU A's own barcode (it counts 1 unit of it)"
    )
    twice = invoke(cli, "skus", "barcodes", "add", "B", "14006381333938", "--quantity", "2")
    assert twice.exit_code == 1
    assert "is already the barcode of SKU A's case of 6" in twice.stderr
    assert invoke(cli, "skus", "barcodes", "add", "A", "1", "--quantity", "0").exit_code == 2

    removed = ok(cli, "skus", "barcodes", "remove", "14006381333938")
    assert removed.stdout.strip() == "barcode 14006381333938 removed from SKU A"
    gone = invoke(cli, "skus", "barcodes", "remove", "14006381333938")
    assert gone.exit_code == 1
    assert "no packaging barcode '14006381333938'" in gone.stderr
    assert len(ok(cli, "skus", "barcodes", "list", "A", "--json").json()) == 1


def test_a_pick_list_is_made_shown_printed_confirmed_short_and_cancelled(
    cli: Cli, engine: Engine
) -> None:
    ok(cli, "stock", "bins", "import", bins_file(cli, BINS))
    ingest(engine, "shop", make_order("1001", [("A", 2), ("B", 1)], placed_minutes=1))
    ingest(engine, "shop", make_order("1002", [("C", 3), ("A", 1)], placed_minutes=2))

    made = ok(cli, "pick", "create", "--location", "main", "--json").json()

    pick_list = made["pick_list"]
    assert made["oversold_skipped"] == 0
    assert made["message"] == (
        f"pick list {pick_list['id']} at main: 2 order(s), 7 unit(s) from 3 bin stop(s)"
    )
    assert [
        (row["sequence"], row["bin"], row["sku"], row["units"]) for row in pick_list["rows"]
    ] == [
        (10, "M-5", "C", 3),
        (20, "A-1", "B", 1),
        (30, "Z-9", "A", 3),
    ]
    (apple,) = [row for row in pick_list["rows"] if row["sku"] == "A"]
    assert [(item["order"], item["channel"], item["units"]) for item in apple["orders"]] == [
        ("1001", "shop", 2),
        ("1002", "shop", 1),
    ]
    number = str(pick_list["id"])

    table = ok(cli, "pick", "show", number).stdout
    assert table.index("M-5") < table.index("A-1") < table.index("Z-9")
    assert "1001 x2, 1002 x1" in table
    assert ok(cli, "pick", "show", number, "--json").json() == pick_list

    page = cli.cwd / "pick.html"
    printed = ok(cli, "pick", "show", number, "--html", str(page))
    assert printed.stdout.strip() == f"pick list {number} written to {page}"
    html = page.read_text(encoding="utf-8")
    stops = re.findall(r'<td class="sku">(\w+)</td>', html)
    assert stops == ["C", "B", "A"]
    assert "@media print" in html
    assert "<script" not in html
    assert not re.search(r"(src|href)=", html)

    listed = ok(cli, "pick", "list", "--json").json()
    assert [(row["id"], row["state"], row["orders"], row["units"]) for row in listed] == [
        (pick_list["id"], "open", 2, 7)
    ]
    nothing = ok(cli, "pick", "create", "--location", "main")
    assert nothing.stdout.strip() == "nothing to pick"

    assert invoke(cli, "pick", "confirm", number, "--short", "A").exit_code == 2
    too_many = invoke(cli, "pick", "confirm", number, "--short", "A:4")
    assert too_many.exit_code == 1
    assert "has 3 unit(s) of A: a short of 4 is more than that" in too_many.stderr

    confirmed = ok(cli, "pick", "confirm", number, "--short", "A:1")
    assert confirmed.stdout.splitlines() == [
        f"pick list {number} picked: 6 unit(s) taken",
        "1 unit(s) of A short in bin Z-9: 1002 (1)",
        "the pick_short alert is raised; `omnisync alerts list` shows it",
    ]
    assert level(engine, "A", "main") == (19, 3)  # 1002 took another unit of main's free
    alerts = ok(cli, "alerts", "list", "--json").json()
    assert [alert["rule"] for alert in alerts] == ["pick_short"]
    again = invoke(cli, "pick", "confirm", number)
    assert again.exit_code == 1
    assert again.stderr.strip() == (
        f"error: pick list {number} is picked: only an open list is confirmed"
    )
    shown = ok(cli, "pick", "show", number, "--json").json()
    assert (shown["state"], shown["short"], shown["note"]) == ("picked", 1, "1 of A short")

    cancelled = ok(cli, "pick", "cancel", number)
    assert cancelled.stdout.strip() == (
        f"pick list {number} cancelled: its 7 unit(s) can be picked again"
    )
    remade = ok(cli, "pick", "create", "--location", "main", "--max-orders", "1", "--json")
    assert [row["sku"] for row in remade.json()["pick_list"]["rows"]] == ["B", "A"]
    assert ok(cli, "pick", "list", "--state", "cancelled", "--json").json()[0]["id"] == int(number)
    assert invoke(cli, "pick", "show", "999").exit_code == 1
    unknown = invoke(cli, "pick", "create", "--location", "attic")
    assert (unknown.exit_code, unknown.stderr.strip()) == (1, "error: unknown location 'attic'")


def test_pick_create_says_how_many_oversold_orders_it_skipped(cli: Cli, engine: Engine) -> None:
    set_count(engine, "B", "main", 0)
    ingest(engine, "shop", make_order("2001", [("B", 1)]))

    result = ok(cli, "pick", "create", "--location", "main", "--json").json()

    assert result == {
        "pick_list": None,
        "oversold_skipped": 1,
        "message": "nothing to pick; 1 oversold order(s) skipped (they cannot ship whole)",
    }


def test_a_confirm_that_loses_a_deadlock_is_run_again_from_the_start(
    cli: Cli, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(engine, "shop", make_order("3001", [("A", 2)]))
    number = ok(cli, "pick", "create", "--location", "main", "--json").json()["pick_list"]["id"]
    calls = confirm_deadlocked_once(monkeypatch, pick_commands)

    confirmed = ok(cli, "pick", "confirm", str(number), "--short", "A:1", "--json").json()

    assert calls == [number, number]  # the first run was rolled back, then run again
    assert (confirmed["state"], confirmed["short"]) == ("picked", 1)
    assert level(engine, "A", "main") == (19, 2)  # one unit written off, not two
    history = ok(cli, "stock", "history", "A", "--json").json()
    assert [row["kind"] for row in history].count("pick_short") == 1


def test_a_skus_barcode_or_new_code_that_is_a_packaging_barcode_is_refused(
    cli: Cli, engine: Engine
) -> None:
    ok(cli, "skus", "barcodes", "add", "A", "14006381333938", "-q", "6", "--name", "case")
    clash = "'14006381333938' is already the barcode of SKU A's case of 6 (a scan of it counts 6)"

    added = invoke(cli, "skus", "add", "B", "--barcode", "14006381333938")
    edited = invoke(cli, "skus", "edit", "C", "--barcode", "14006381333938")
    made = invoke(cli, "skus", "add", "14006381333938")
    source = str(write(cli.cwd / "skus.csv", "code,barcode\nD,\nE,14006381333938\n"))
    imported = invoke(cli, "skus", "import", source)

    assert (added.exit_code, added.stderr.strip()) == (
        1,
        f"error: barcode {clash}: one code must mean one thing",
    )
    assert (edited.exit_code, made.exit_code, imported.exit_code) == (1, 1, 1)
    assert f"barcode {clash}" in edited.stderr
    assert f"SKU code {clash}" in made.stderr
    assert " ".join(imported.stderr.split()) == (  # long lines wrap at the console's width
        f"error: nothing imported: {source}:3: barcode {clash}: one code must mean one thing"
    )
    skus = {row["code"]: row["barcode"] for row in ok(cli, "skus", "list", "--json").json()}
    assert (skus["B"], skus["C"]) == (None, None)
    assert {"D", "E", "14006381333938"}.isdisjoint(skus)
