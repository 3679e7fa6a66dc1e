"""``python -m omnisync.sandbox ebay``: the eBay simulator on its own in a subprocess, driven
with ``python -m omnisync.sandbox control`` and over its OAuth and API, as a person
following the hints it prints would."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from omnisync.sandbox.ebay import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN
from omnisync.sandbox.ebay.auth import basic_authorization
from tests.unit.test_sandbox_standalone import LISTINGS, control, standalone


@pytest.mark.slow
def test_a_standalone_ebay_seller_is_stocked_bought_from_and_shipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listings = tmp_path / "listings.json"
    listings.write_text(json.dumps(LISTINGS), encoding="utf-8")
    with standalone("ebay", "--listings", str(listings)) as running:
        url = running.url
        said = control(capsys, url, "kind")
        assert (said.code, said.out[0][:2]) == (0, ["ebay", "ebay"])
        assert control(capsys, url, "stock").out == [["A-1", "5"], ["B-2", "3"]]
        order_id = control(capsys, url, "order", "A-1:2").out[0][0]
        shipped = control(capsys, url, "ship", order_id, "--tracking", "1ZSTANDALONE")
        assert shipped.out[0][-1] == "tracking 1ZSTANDALONE"
        assert control(capsys, url, "cancel", order_id).code == 1

        authorization = basic_authorization(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        token = httpx.post(
            url + "/identity/v1/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": DEFAULT_REFRESH_TOKEN},
            headers={"Authorization": authorization},
        ).json()["access_token"]
        order = httpx.get(
            f"{url}/sell/fulfillment/v1/order/{order_id}",
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        assert order["orderFulfillmentStatus"] == "FULFILLED"

        consent = httpx.get(
            url + "/oauth2/authorize",
            params={
                "client_id": DEFAULT_CLIENT_ID,
                "redirect_uri": "omnisync-sandbox-RuName",
                "response_type": "code",
                "scope": "https://api.ebay.com/oauth/api_scope/sell.inventory",
            },
        )
        code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
        granted = httpx.post(
            url + "/identity/v1/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": "omnisync-sandbox-RuName",
            },
            headers={"Authorization": authorization},
        )
        assert granted.json()["refresh_token"]
    assert "type: ebay" in running.stderr
    assert f"endpoint: {url}" in running.stderr
    assert f"auth_endpoint: {url}" in running.stderr
    assert f"export EBAY_CLIENT_ID={DEFAULT_CLIENT_ID}" in running.stderr
    assert "refresh_token: ${EBAY_REFRESH_TOKEN}" in running.stderr
    assert f"{url}/oauth2/authorize?client_id=" in running.stderr
