"""One broken channel file does not stop the commands that do not need its channel.

Like the running hub (file ignored; the rest keeps running), the CLI leaves the file
out with one warning on stderr; `check`, a command naming that channel, `run` (which
serves every channel) and a broken hub.yaml still exit 2. The commands run in this
process (test_cli.Cli); `run` as its own process, which a timeout stops should it serve.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_cli import Cli, write
from tests.support.databases import sqlite_url

GOOD_CHANNEL = "type: fake\nshop: demo\napi_key: ${FAKE_API_KEY}\n"
BROKEN_FILES = {
    "invalid YAML": ("type: fake\nshop: [oops\n", "invalid YAML"),
    "invalid field": (GOOD_CHANNEL + "colour: red\n", "colour: is not a known field"),
}
WARNING = "market.yaml ignored: "


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """An initialised hub with SKU CAP and channels shop and market, both good so far."""
    config_dir = tmp_path / "config"
    write(config_dir / "hub.yaml", "http:\n  port: 0\nlocations:\n  - code: main\n")
    for name in ("shop", "market"):
        write(config_dir / "channels" / f"{name}.yaml", GOOD_CHANNEL)
    cli = Cli(cwd=tmp_path, database_url=sqlite_url(tmp_path), config_dir=config_dir)
    cli.ok("init")
    cli.ok("skus", "add", "CAP")
    return cli


def break_market(cli: Cli, text: str = BROKEN_FILES["invalid field"][0]) -> None:
    assert cli.config_dir is not None
    write(cli.config_dir / "channels" / "market.yaml", text)


@pytest.mark.slow
@pytest.mark.parametrize("broken", sorted(BROKEN_FILES))
def test_commands_that_do_not_need_the_channel_work_and_warn_once(cli: Cli, broken: str) -> None:
    text, problem = BROKEN_FILES[broken]
    break_market(cli, text)
    adjusted = cli("stock", "adjust", "CAP", "1")
    others = cli.many(
        [
            ("stock", "show", "--json"),
            ("orders", "list"),
            ("skus", "list"),
            ("status",),
            ("channels", "list", "--json"),
        ]
    )
    for result in (adjusted, *others):
        assert result.returncode == 0, result
        assert result.stderr.count(WARNING) == 1, result
        (warning,) = [line for line in result.stderr.splitlines() if WARNING in line]
        assert problem in warning
        assert "shop.yaml" not in result.stderr
    stock, channels = others[0].json(), others[-1].json()
    assert stock[0]["locations"][0]["on_hand"] == 1
    # The broken file's channel is left as it was, not disabled as if its file were gone.
    assert {row["name"]: row["enabled"] for row in channels} == {"market": True, "shop": True}


def test_check_still_lists_the_problems_and_exits_2(cli: Cli) -> None:
    break_market(cli)
    checked = cli("check")
    assert checked.returncode == 2, checked
    assert "market.yaml: colour: is not a known field" in checked.stderr


def test_a_command_naming_the_broken_channel_exits_2_saying_so(cli: Cli) -> None:
    break_market(cli)
    named = cli("sync", "stock", "--channel", "market")
    assert named.returncode == 2, named
    assert "channel 'market' cannot be used: its file" in named.stderr
    assert "market.yaml is broken" in named.stderr
    assert "Traceback" not in named.stderr


def test_run_needs_every_channel_and_exits_2(cli: Cli) -> None:
    break_market(cli)
    started = subprocess.run(
        [sys.executable, "-m", "tests.support.cli_entry", "run"],
        cwd=cli.cwd,
        env=cli.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert started.returncode == 2, started
    assert "market.yaml: colour: is not a known field" in started.stderr


def test_a_broken_hub_yaml_still_stops_every_command(cli: Cli) -> None:
    break_market(cli)
    assert cli.config_dir is not None
    write(cli.config_dir / "hub.yaml", "locations: [\n")
    for result in cli.many([("stock", "show"), ("orders", "list")]):
        assert result.returncode == 2, result
        assert "hub.yaml: line 2, column 1: invalid YAML" in result.stderr
        assert "Traceback" not in result.stderr
