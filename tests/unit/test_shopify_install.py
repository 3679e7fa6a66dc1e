"""Installing the app: the permission URL, and the code exchange through ShopifyAPI."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import shopify

from omnisync.connectors.base import AuthError
from omnisync.connectors.shopify.install import SCOPES, exchange_code, permission_url
from omnisync.connectors.shopify.settings import ShopifySettings
from tests.support.hub_setup import write_config

SETTINGS = ShopifySettings(
    shop="install.myshopify.com",
    access_token="unused",
    client_id="client-123",
    client_secret="shpss_install_secret",
)


def test_the_permission_url_asks_for_our_scopes_and_carries_a_state() -> None:
    url, state = permission_url(SETTINGS, "https://hub.example.com/shopify/callback")
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.netloc == "install.myshopify.com"
    assert query["client_id"] == ["client-123"]
    assert query["redirect_uri"] == ["https://hub.example.com/shopify/callback"]
    assert query["state"] == [state]
    assert set(query["scope"][0].split(",")) == set(SCOPES)
    assert "shpss_install_secret" not in url


def _callback(secret: str = "shpss_install_secret") -> str:
    params = {
        "code": "abc",
        "shop": "install.myshopify.com",
        "state": "s",
        "timestamp": str(int(time.time())),
    }
    shopify.Session.setup(api_key="client-123", secret=secret)
    params["hmac"] = shopify.Session.calculate_hmac(params)
    return "https://hub.example.com/shopify/callback?" + urlencode(params)


def test_a_callback_not_signed_by_shopify_is_refused_before_any_request() -> None:
    with pytest.raises(AuthError, match="not signed"):
        exchange_code(SETTINGS, _callback(secret="someone-else"))


def test_a_signed_callback_is_exchanged_for_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    class Reply(io.BytesIO):
        code = 200

    def fake_urlopen(request: urllib.request.Request, *args: Any, **kwargs: Any) -> Reply:
        asked.append(request.full_url)
        return Reply(json.dumps({"access_token": "shpat_new", "scope": "read_orders"}).encode())

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    assert exchange_code(SETTINGS, _callback()) == "shpat_new"
    assert asked == ["https://install.myshopify.com/admin/oauth/access_token?"]


@pytest.mark.slow
def test_the_cli_prints_the_url_and_never_the_secret(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config",
        {
            "shop": """\
        type: shopify
        shop: install.myshopify.com
        access_token: ${SHOP_TOKEN}
        client_id: client-123
        client_secret: ${SHOP_SECRET}
        """
        },
    )
    env = {**os.environ, "SHOP_TOKEN": "shpat_cli_token", "SHOP_SECRET": "shpss_cli_secret"}
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "omnisync.hub.cli",
            "--config-dir",
            str(config),
            "channels",
            "shopify-install",
            "--channel",
            "shop",
            "--redirect-uri",
            "https://hub.example/cb",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "https://install.myshopify.com/admin/oauth/authorize?" in completed.stdout
    output = completed.stdout + completed.stderr
    assert "shpss_cli_secret" not in output
    assert "shpat_cli_token" not in output
