"""`omnisync check --connect`: each enabled channel asked, unmapped locations reported."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from omnisync.sandbox.shopify import ShopifySimulator
from tests.cli.test_cli import Cli
from tests.support.databases import sqlite_url

TOKEN = "shpat_check_token_5e6f7a"
HUB = """\
locations:
  - {code: main, name: Main warehouse}
  - {code: back, name: Backroom}
"""


@pytest.fixture
def shop() -> Iterator[ShopifySimulator]:
    with ShopifySimulator(TOKEN) as simulator:
        simulator.add_location("Main warehouse")
        simulator.add_location("Pop-up store")
        yield simulator


def gids(shop: ShopifySimulator) -> tuple[str, str]:
    """The gids of the two locations (ids are numbered in order of creation)."""
    main = shop.add_location("Scratch")
    shop.set_location_active(main, False)
    number = int(main.rsplit("/", 1)[1])
    return f"gid://shopify/Location/{number - 2}", f"gid://shopify/Location/{number - 1}"


def config(tmp_path: Path, shop_url: str, extra: str = "") -> Cli:
    folder = tmp_path / "config"
    (folder / "channels").mkdir(parents=True)
    (folder / "hub.yaml").write_text(HUB)
    channel = f"""\
        type: shopify
        shop: check.myshopify.com
        endpoint: {shop_url}
        access_token: ${{SHOP_TOKEN}}
        timeout_seconds: 5
        """
    (folder / "channels" / "shop.yaml").write_text(textwrap.dedent(channel) + extra)
    return Cli(
        cwd=tmp_path,
        database_url=sqlite_url(tmp_path / "var"),
        config_dir=folder,
        secrets=(TOKEN,),
        extra_env={"SHOP_TOKEN": TOKEN},
    )


def test_a_hub_location_without_a_shopify_match_is_reported(
    tmp_path: Path, shop: ShopifySimulator
) -> None:
    cli = config(tmp_path, shop.url)
    assert cli("check").returncode == 0  # without --connect only the files are judged
    result = cli("check", "--connect", "--json")
    assert result.returncode == 1, result
    (channel,) = json.loads(result.stdout)["channels"]
    (problem,) = channel["problems"]
    assert "'back' (Backroom)" in problem
    assert "'Main warehouse', 'Pop-up store'" in problem
    assert TOKEN not in result.stdout + result.stderr


def test_a_location_map_to_a_missing_location_is_reported_and_a_good_one_passes(
    tmp_path: Path, shop: ShopifySimulator
) -> None:
    main, popup = gids(shop)
    bad = config(
        tmp_path / "bad",
        shop.url,
        f"location_map: {{main: '{main}', back: 'gid://shopify/Location/999'}}\n",
    )
    result = bad("check", "--connect")
    assert result.returncode == 1, result
    assert "gid://shopify/Location/999" in result.stdout
    good = config(
        tmp_path / "good", shop.url, f"location_map: {{main: '{main}', back: '{popup}'}}\n"
    )
    result = good("check", "--connect")
    assert result.returncode == 0, result
    assert "OK" in result.stdout


def test_a_refused_token_is_reported_without_the_token(
    tmp_path: Path, shop: ShopifySimulator
) -> None:
    cli = config(tmp_path, shop.url, "locations: [main]\n")
    cli.extra_env["SHOP_TOKEN"] = "shpat_wrong_token_1234"
    cli.secrets = ("shpat_wrong_token_1234",)
    result = cli("check", "--connect", "--json")
    assert result.returncode == 1, result
    (channel,) = json.loads(result.stdout)["channels"]
    assert channel["problems"]
    assert channel["problems"][0].startswith("AuthError")
    assert "shpat_wrong_token_1234" not in result.stdout + result.stderr
