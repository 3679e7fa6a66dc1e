"""``python -m omnisync.sandbox woocommerce``: the WooCommerce simulator on its own in a
subprocess, driven with ``python -m omnisync.sandbox control`` and over its REST API, as a
person following the hints it prints would."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from omnisync.sandbox.woocommerce import DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET
from tests.unit.test_sandbox_standalone import LISTINGS, control, standalone


@pytest.mark.slow
def test_a_standalone_woocommerce_shop_is_stocked_bought_from_and_shipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listings = tmp_path / "listings.json"
    listings.write_text(json.dumps(LISTINGS), encoding="utf-8")
    with standalone("woocommerce", "--listings", str(listings), "--shipment-tracking") as running:
        url = running.url
        said = control(capsys, url, "kind")
        assert (said.code, said.out[0][:2]) == (0, ["woocommerce", "woocommerce"])
        assert control(capsys, url, "stock").out == [["A-1", "5"], ["B-2", "3"]]
        order_id = control(capsys, url, "order", "A-1:2").out[0][0]
        shipped = control(capsys, url, "ship", order_id, "--tracking", "1ZSTANDALONE")
        assert shipped.out[0][-1] == "tracking 1ZSTANDALONE"

        auth = (DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET)
        order = httpx.get(f"{url}/wp-json/wc/v3/orders/{order_id}", auth=auth).json()
        trackings = httpx.get(
            f"{url}/wp-json/wc-shipment-tracking/v3/orders/{order_id}/shipment-trackings",
            auth=auth,
        ).json()
        assert order["status"] == "completed"
        assert [item["tracking_number"] for item in trackings] == ["1ZSTANDALONE"]
    assert "type: woocommerce" in running.stderr
    assert f"url: {url}" in running.stderr
    assert "consumer_secret: ${WOO_CONSUMER_SECRET}" in running.stderr
    assert f"export WOO_CONSUMER_KEY={DEFAULT_CONSUMER_KEY}" in running.stderr
