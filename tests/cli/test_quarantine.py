"""`omnisync quarantine list|show|retry|resolve`, and `omnisync status` once a quarantined
payload is dealt with.

One signed Shopify webhook without `created_at` is quarantined: its channel's
`quarantined_payload` alert opens and `status` exits 1. Dismissing it
(`resolve`), or retrying it once the mapping is fixed, resolves the payload and,
with the channel's last open payload, the alert: `status` exits 0 again. The
commands run in this process (typer's runner), `status` once as a subprocess too.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import pytest

from omnisync.connectors.shopify import connector as shopify_connector
from omnisync.connectors.shopify.mapping import order_from_webhook as original_mapping
from omnisync.core.catalog import upsert_sku
from omnisync.core.db import transaction
from omnisync.core.dto import NormalisedOrder
from omnisync.hub.bootstrap import bootstrap, engine_channels
from omnisync.sync.engine import SyncEngine
from omnisync.sync.webhooks import accept_webhook
from tests.cli.test_cli import Cli, write
from tests.integration.test_webhook_route import signed
from tests.support.cli_runner import CliResult, invoke_cli
from tests.support.world import set_count
from tests.unit.test_shopify_connector import WEBHOOK

SHOP_TOKEN = "shpat_quarantine_token_52"
SHOP_SECRET = "shpss_quarantine_secret_31"
ENV = {"SHOP_TOKEN": SHOP_TOKEN, "SHOP_SECRET": SHOP_SECRET}
ORDER_ID = str(WEBHOOK["admin_graphql_api_id"])
WITHOUT_CREATED_AT = json.dumps({k: v for k, v in WEBHOOK.items() if k != "created_at"})


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    write(folder / "hub.yaml", "locations:\n  - code: main\n")
    write(
        folder / "channels" / "shop.yaml",
        """\
        type: shopify
        shop: quarantine.myshopify.com
        access_token: ${SHOP_TOKEN}
        client_secret: ${SHOP_SECRET}
        push_location: gid://shopify/Location/1
        """,
    )
    return folder


@pytest.fixture
def database_url(
    config_dir: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The database after `omnisync init`."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    hub = bootstrap(config_dir, database_url=migrated_database_url, create=True)
    with transaction(hub.engine) as session:
        upsert_sku(session, "MUG")
    set_count(hub.engine, "MUG", "main", 5)  # the webhook's order binds, not oversold
    hub.engine.dispose()
    return migrated_database_url


def omnisync(config_dir: Path, database_url: str, *args: str) -> CliResult:
    return invoke_cli(config_dir, database_url, *args, env=ENV, secrets=ENV.values())


def quarantine_a_webhook(config_dir: Path, database_url: str, delivery: str = "d-1") -> int:
    """A signed orders/create delivery without created_at, through the webhook intake."""
    hub = bootstrap(config_dir, database_url=database_url)
    sync = SyncEngine(hub.engine, engine_channels(hub.settings))
    body = WITHOUT_CREATED_AT.encode()
    try:
        outcome = accept_webhook(sync, "shop", signed(body, delivery, SHOP_SECRET), body)
    finally:
        sync.close()
        hub.engine.dispose()
    assert outcome.status == "quarantined"
    rows = omnisync(config_dir, database_url, "quarantine", "list", "--open", "--json").json()
    return int(rows[0]["id"])


def test_a_dismissed_payload_lets_status_exit_0_again(config_dir: Path, database_url: str) -> None:
    payload_id = quarantine_a_webhook(config_dir, database_url)
    cli = Cli(cwd=config_dir.parent, database_url=database_url, config_dir=config_dir)
    cli.extra_env.update(ENV)
    failing = cli("status", "--json", process=True)
    assert failing.returncode == 1, failing
    (alert,) = json.loads(failing.stdout)["channels"][0]["open_alerts"]
    assert alert["rule"] == "quarantined_payload"

    (listed,) = omnisync(config_dir, database_url, "quarantine", "list", "--json").json()
    assert listed["channel"] == "shop"
    assert listed["kind"] == "webhook"
    assert listed["external_id"] == ORDER_ID
    assert "created_at" in listed["reason"]
    assert (listed["resolved_at"], listed["resolved_by"], listed["resolution_note"]) == (
        None,
        None,
        None,
    )
    table = omnisync(config_dir, database_url, "quarantine", "list")
    assert table.exit_code == 0, table
    assert ORDER_ID in table.stdout
    shown = omnisync(config_dir, database_url, "quarantine", "show", str(payload_id), "--json")
    assert json.loads(shown.json()["raw"]) == json.loads(WITHOUT_CREATED_AT)
    text = omnisync(config_dir, database_url, "quarantine", "show", str(payload_id))
    assert "open" in text.stdout.splitlines()
    assert '"admin_graphql_api_id"' in text.stdout

    still = omnisync(config_dir, database_url, "quarantine", "retry", str(payload_id))
    assert still.exit_code == 1, still
    assert "still does not map" in still.stderr
    assert "created_at" in still.stderr
    assert "stays quarantined" in still.stderr

    note = "a test order from the shop's admin"
    resolved = omnisync(
        config_dir, database_url, "quarantine", "resolve", str(payload_id),
        "--note", note, "--by", "alice",
    )  # fmt: skip
    assert resolved.exit_code == 0, resolved
    assert "resolved by alice" in resolved.stdout
    assert "quarantined_payload alert is resolved" in resolved.stdout
    assert cli("status").returncode == 0

    (done,) = omnisync(
        config_dir, database_url, "quarantine", "list", "--resolved", "--json"
    ).json()
    assert (done["id"], done["resolved_by"], done["resolution_note"]) == (payload_id, "alice", note)
    assert done["resolved_at"] is not None
    assert omnisync(config_dir, database_url, "quarantine", "list", "--open", "--json").json() == []

    again = omnisync(config_dir, database_url, "quarantine", "resolve", str(payload_id))
    assert again.exit_code == 1
    assert "was resolved by alice" in again.stderr


def test_unknown_ids_fail_and_bad_ones_are_usage_errors(
    config_dir: Path, database_url: str
) -> None:
    for command in ("show", "retry", "resolve"):
        unknown = omnisync(config_dir, database_url, "quarantine", command, "999")
        assert unknown.exit_code == 1, unknown
        assert "no quarantined payload 999" in unknown.stderr
        assert omnisync(config_dir, database_url, "quarantine", command, "abc").exit_code == 2
        assert omnisync(config_dir, database_url, "quarantine", command, "0").exit_code == 2


def fixed_mapping(payload: Any) -> NormalisedOrder:
    """order_from_webhook after a fix: an order without created_at was placed when updated."""
    if isinstance(payload, dict) and "created_at" not in payload:
        payload = {**payload, "created_at": payload.get("updated_at")}
    return original_mapping(payload)


def test_a_retry_after_a_fix_to_the_mapping_takes_the_order_in(
    config_dir: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = quarantine_a_webhook(config_dir, database_url, "d-1")
    second = quarantine_a_webhook(config_dir, database_url, "d-2")  # the same order again
    assert omnisync(config_dir, database_url, "status").exit_code == 1
    monkeypatch.setattr(shopify_connector, "order_from_webhook", fixed_mapping)

    retried = omnisync(config_dir, database_url, "quarantine", "retry", str(first), "--json")
    outcome = retried.json()
    assert outcome["orders"] == [ORDER_ID]
    assert outcome["alert_resolved"] is False  # the second delivery is still open
    assert outcome["payload"]["resolved_by"] == getpass.getuser()
    assert outcome["payload"]["resolution_note"] == f"retried: took in order {ORDER_ID}"
    order = omnisync(config_dir, database_url, "orders", "show", ORDER_ID, "--json").json()
    assert order["placed_at"] == order["updated_at"]
    assert [line["quantity"] for line in order["lines"]] == [2]
    assert omnisync(config_dir, database_url, "status").exit_code == 1

    last = omnisync(config_dir, database_url, "quarantine", "retry", str(second), "--by", "bob")
    assert last.exit_code == 0, last
    assert f"quarantined payload {second} (shop webhook {ORDER_ID})" in last.stdout
    assert "quarantined_payload alert is resolved" in last.stdout
    assert omnisync(config_dir, database_url, "status").exit_code == 0
    orders = omnisync(config_dir, database_url, "orders", "list", "--json").json()
    assert [row["external_id"] for row in orders] == [ORDER_ID]  # taken in once
