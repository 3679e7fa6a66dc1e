"""Bad usage exits 2 and says what is wrong: an unknown channel for `sync`, a negative
count for `stock set` (read as the number it is, not as an option). The commands run in
this process (test_cli.Cli)."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnisync.core.db import make_engine
from tests.cli.test_cli import Cli, write
from tests.support.databases import sqlite_url
from tests.support.world import level

SHOP = "type: fake\nshop: demo\napi_key: ${FAKE_API_KEY}\n"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """An initialised hub with SKU A, 5 on hand at main, and channels shop and outlet."""
    config_dir = tmp_path / "config"
    write(config_dir / "hub.yaml", "locations:\n  - code: main\n")
    for name in ("shop", "outlet"):
        write(config_dir / "channels" / f"{name}.yaml", SHOP)
    cli = Cli(cwd=tmp_path, database_url=sqlite_url(tmp_path), config_dir=config_dir)
    cli.ok("init")
    cli.ok("skus", "add", "A")
    cli.ok("stock", "set", "A", "5")
    return cli


def on_hand_at_main(cli: Cli) -> int:
    engine = make_engine(cli.database_url)
    on_hand, _reserved = level(engine, "A", "main")
    engine.dispose()
    return on_hand


def test_bad_usage_exits_2_saying_what_is_wrong(cli: Cli) -> None:
    unknown, minus_three, minus_one = cli.many(
        [
            ("sync", "stock", "--channel", "nope"),
            ("stock", "set", "A", "-3"),
            ("stock", "set", "A", "-1", "--location", "main"),
        ]
    )
    assert unknown.returncode == 2, unknown
    assert "no channel named 'nope'" in unknown.stderr
    assert "outlet, shop" in unknown.stderr
    for negative in (minus_three, minus_one):
        assert negative.returncode == 2, negative
        assert "a count cannot be negative" in " ".join(negative.stderr.split())
        assert "No such option" not in negative.stderr
    assert on_hand_at_main(cli) == 5


def test_counts_and_negative_adjustments_still_apply(cli: Cli) -> None:
    cli.ok("stock", "set", "A", "0")
    cli.ok("stock", "set", "A", "3", "--location", "main")
    cli.ok("stock", "adjust", "A", "-2")
    assert on_hand_at_main(cli) == 1
