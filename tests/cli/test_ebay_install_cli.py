"""`omnisync channels ebay-install`: the consent URL with the app's RuName and scopes, the
consent's code exchanged for a refresh token (printed once, nothing else secret shown),
and the usage errors: no ru_name, another channel type, both --callback and --code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import respx

from tests.support.cli_runner import CliResult, invoke_cli
from tests.support.databases import sqlite_url
from tests.support.hub_setup import sandbox_channel, write_config

AUTH = "https://auth.ebay.test"
ENV = {
    "EBAY_CLIENT_ID": "Install-omnisync-PRD-a1b2c3d4e",
    "EBAY_CLIENT_SECRET": "PRD-install-secret-f5e6d7c8",
    "EBAY_REFRESH_TOKEN": "v^1.1#i^1#old-refresh-token",
    "SB_KEY": "unused-sandbox-key",
}
RU_NAME = "Omnisync_Test-Omnisync-PRD-abcdef"
NEW_REFRESH_TOKEN = "v^1.1#i^1#r^1#new-refresh-token-3f9a"
ACCESS_TOKEN = "v^1.1#i^1#p^3#access-token-never-shown"
CODE = "v^1.1#i^1#f^0#p^3#r^1#I^3#t^Ul41XzA6MkZG"


def ebay_channel(ru_name: str | None = RU_NAME) -> str:
    return (
        "type: ebay\n"
        "marketplace_id: EBAY_DE\n"
        f"auth_endpoint: {AUTH}\n"
        "credentials:\n"
        "  client_id: ${EBAY_CLIENT_ID}\n"
        "  client_secret: ${EBAY_CLIENT_SECRET}\n"
        "  refresh_token: ${EBAY_REFRESH_TOKEN}\n"
    ) + (f"ru_name: {ru_name}\n" if ru_name else "")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(
        tmp_path / "config",
        {
            "shop": ebay_channel(),
            "bare": ebay_channel(ru_name=None),
            "sb": sandbox_channel("http://127.0.0.1:9"),
        },
    )


@pytest.fixture
def token_endpoint() -> Iterator[respx.Route]:
    with respx.mock(assert_all_called=False) as mock:
        yield mock.post(f"{AUTH}/identity/v1/oauth2/token")


def install(config: Path, tmp_path: Path, *args: str) -> CliResult:
    secrets = [ENV["EBAY_CLIENT_SECRET"], ENV["EBAY_REFRESH_TOKEN"], ACCESS_TOKEN]
    return invoke_cli(
        config,
        sqlite_url(tmp_path / "var"),
        "channels",
        "ebay-install",
        *args,
        env=ENV,
        secrets=secrets,
    )


def test_the_consent_url_names_the_app_its_ru_name_and_the_scopes(
    config: Path, tmp_path: Path, token_endpoint: respx.Route
) -> None:
    result = install(config, tmp_path, "--channel", "shop")
    assert result.exit_code == 0, result
    url_line, state_line = result.stdout.strip().splitlines()
    url = urlsplit(url_line)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{AUTH}/oauth2/authorize"
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    state = query.pop("state")
    assert query == {
        "client_id": ENV["EBAY_CLIENT_ID"],
        "redirect_uri": RU_NAME,
        "response_type": "code",
        "scope": "https://api.ebay.com/oauth/api_scope "
        "https://api.ebay.com/oauth/api_scope/sell.inventory "
        "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
    }
    assert len(state) >= 16
    assert state_line.startswith(f"state: {state} ")
    assert not token_endpoint.called


@pytest.mark.parametrize("how", ["--callback", "--code"])
def test_the_consents_code_is_exchanged_for_a_refresh_token_printed_once(
    config: Path, tmp_path: Path, token_endpoint: respx.Route, how: str
) -> None:
    token_endpoint.respond(
        json={
            "access_token": ACCESS_TOKEN,
            "expires_in": 7200,
            "refresh_token": NEW_REFRESH_TOKEN,
            "refresh_token_expires_in": 47304000,
            "token_type": "User Access Token",
        }
    )
    callback = "https://hub.example.com/ebay/accepted?" + urlencode(
        {"state": "s-1", "code": CODE, "expires_in": "299"}
    )
    given = callback if how == "--callback" else CODE
    result = install(config, tmp_path, "--channel", "shop", how, given)
    assert result.exit_code == 0, result
    assert result.stdout.count(NEW_REFRESH_TOKEN) == 1
    (call,) = token_endpoint.calls
    assert parse_qs(call.request.content.decode()) == {
        "grant_type": ["authorization_code"],
        "code": [CODE],
        "redirect_uri": [RU_NAME],
    }
    assert call.request.headers["Authorization"].startswith("Basic ")


def test_a_refused_code_says_ebays_words_and_nothing_secret(
    config: Path, tmp_path: Path, token_endpoint: respx.Route
) -> None:
    token_endpoint.mock(
        return_value=httpx.Response(
            400,
            json={
                "error": "invalid_grant",
                "error_description": "the provided authorization grant code is invalid or was "
                "issued to another client",
            },
        )
    )
    result = install(config, tmp_path, "--channel", "shop", "--code", CODE)
    assert result.exit_code == 1, result
    assert "invalid_grant" in result.stderr
    assert "five minutes" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (("--channel", "bare"), "names no ru_name"),
        (("--channel", "sb"), "of type ebay"),
        (("--channel", "nowhere"), "of type ebay"),
        (("--channel", "shop", "--code", "c", "--callback", "https://x.test/?code=c"), "not both"),
    ],
)
def test_usage_errors(
    config: Path, tmp_path: Path, token_endpoint: respx.Route, arguments: tuple[str, ...], said: str
) -> None:
    result = install(config, tmp_path, *arguments)
    assert result.exit_code == 2, result
    assert said in result.stdout + result.stderr
    assert not token_endpoint.called
