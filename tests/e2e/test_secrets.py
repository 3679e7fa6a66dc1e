"""Invariant 9, end to end: a hub configured with every kind of secret (API token,
Shopify token and client secret, Amazon refresh token and client secret, a
marketplace key, a notifier's webhook URL and SMTP password, the database
password) is driven into failures on every channel, then asked everything: the
CLI's commands, every GET route of the API (and refusals), and the running hub's
log lines. None of the secret values appears in any of it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from omnisync.core.db import make_engine
from omnisync.core.models import Alert
from omnisync.core.types import AlertState
from omnisync.sandbox.amazon import AmazonSimulator
from omnisync.sandbox.shopify import ShopifySimulator
from tests.support.alert_receivers import closed_port
from tests.support.api import CLOSED_PORT_URL
from tests.support.cli_runner import CliResult, invoke_cli
from tests.support.databases import POSTGRES_URL, postgres_schema, postgres_schema_url, sqlite_url
from tests.support.polling import eventually
from tests.support.queue_mode import QUEUE_MODE, RUNNER_YAML, hub_workers

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "OMNISYNC_API_TOKEN": "api-secret-token-ZQ71x9c4",
    "SHOP_TOKEN": "shpat_secret_Kx93b1qA",
    "SHOP_SECRET": "shpss_secret_Wm28c4rB",
    "AMZ_REFRESH_TOKEN": "Atzr|secret-refresh-P5v0n2C",
    "AMZ_CLIENT_SECRET": "amzn1.oa2-cs.v1.secret-J7t3h8D",
    "SB_KEY": "sandbox-secret-key-H4d6s0E",
    "SMTP_PASSWORD": "smtp-secret-pass-R2y8u5F",
}
DATABASE_PASSWORD = "db-secret-pass-N3q5w7H"
WEBHOOK_PATH = "hooks/secret-path-T6k1e3G"
"""Of the notifier's webhook URL, a secret as a whole (the path is what gives it away); the
URL points at a live server that answers 404, so the notifier's failures name it."""
FAST = "schedule: {orders: 1s, listings: 1s, stock: 1s, fulfilments: 1s, reconcile: 1h}\n"


@dataclass
class Seen:
    """Everything the hub said, by where it was said."""

    outputs: dict[str, str] = field(default_factory=dict)

    def add(self, where: str, text: str) -> None:
        self.outputs[where] = self.outputs.get(where, "") + text

    def leaks(self) -> list[str]:
        secrets = [*SECRETS.values(), DATABASE_PASSWORD, WEBHOOK_PATH]
        return [
            f"{where}: contains {secret!r}"
            for where, text in self.outputs.items()
            for secret in secrets
            if secret in text
        ]


@pytest.fixture
def simulators() -> Iterator[tuple[ShopifySimulator, AmazonSimulator]]:
    # Both know other credentials than the hub's: every call of the hub is refused.
    with (
        ShopifySimulator("shpat_the_one_the_shop_issued") as shop,
        AmazonSimulator(rate_scale=100.0) as amazon,
    ):
        yield shop, amazon


def write_hub(folder: Path, shop: ShopifySimulator, amazon: AmazonSimulator, port: int) -> Path:
    config = folder / "config"
    (config / "channels").mkdir(parents=True)
    (config / "hub.yaml").write_text(
        textwrap.dedent(
            f"""\
            http:
              port: {port}
              api_token: ${{OMNISYNC_API_TOKEN}}
            locations:
              - code: main
            alert_rules:
              consecutive_failures: 1
              evaluate_every: 1s
            alerts:
              - type: webhook
                url: ${{ALERT_WEBHOOK_URL}}
              - type: email
                host: 127.0.0.1
                port: {closed_port()}
                username: omnisync
                password: ${{SMTP_PASSWORD}}
                from: omnisync@example.com
                to: [oncall@example.com]
              - type: log
            """
        )
        + (RUNNER_YAML if QUEUE_MODE else "")
    )
    channels = {
        "shop": f"""\
            type: shopify
            shop: omnisync-demo.myshopify.com
            endpoint: {shop.url}
            access_token: ${{SHOP_TOKEN}}
            client_secret: ${{SHOP_SECRET}}
            push_location: Main warehouse
            timeout_seconds: 5
            """,
        "amz": f"""\
            type: amazon
            marketplace: US
            seller_id: {amazon.seller_id}
            endpoint: {amazon.endpoint}
            lwa_endpoint: {amazon.lwa_url}
            credentials:
              refresh_token: ${{AMZ_REFRESH_TOKEN}}
              lwa_app_id: {amazon.credentials.client_id}
              lwa_client_secret: ${{AMZ_CLIENT_SECRET}}
            timeout_seconds: 5
            orders_settle_seconds: 0.5
            """,
        "sb": f"""\
            type: sandbox
            endpoint: {CLOSED_PORT_URL}
            api_key: ${{SB_KEY}}
            timeout_seconds: 1
            """,
    }
    for name, text in channels.items():
        (config / "channels" / f"{name}.yaml").write_text(textwrap.dedent(text) + FAST)
    return config


def with_password(database_url: str) -> str:
    """The PostgreSQL URL with a password (the test server trusts local connections and
    ignores it); SQLite has none to hide."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return database_url
    return url.set(password=DATABASE_PASSWORD).render_as_string(hide_password=False)


def environment(config: Path, database_url: str, webhook_host: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OMNISYNC_")}
    env.update(SECRETS)
    env["ALERT_WEBHOOK_URL"] = f"{webhook_host}/{WEBHOOK_PATH}"
    env.update(
        PYTHONPATH=str(REPO_ROOT),
        OMNISYNC_CONFIG_DIR=str(config),
        OMNISYNC_DATABASE_URL=database_url,
        COLUMNS="200",
    )
    return env


def cli(env: dict[str, str], seen: Seen, *args: str) -> CliResult:
    """One command, in this process (a subprocess per command would be slow)."""
    result = invoke_cli(
        Path(env["OMNISYNC_CONFIG_DIR"]), env["OMNISYNC_DATABASE_URL"], *args, env=env
    )
    seen.add(f"omnisync {' '.join(args)}", result.stdout + result.stderr)
    return result


def open_alerts(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            rows = session.exec(select(Alert).where(Alert.state == AlertState.OPEN)).all()
            return len(rows)
    finally:
        engine.dispose()


def ask_the_api(base_url: str, seen: Seen) -> dict[str, httpx.Response]:
    """Every GET route of the document with the token, and refusals of each kind."""
    auth = {"Authorization": f"Bearer {SECRETS['OMNISYNC_API_TOKEN']}"}
    answers: dict[str, httpx.Response] = {}
    with httpx.Client(base_url=base_url, timeout=30) as http:
        document = http.get("/openapi.json").json()
        paths = [
            path.replace("{order_id}", "1").replace("{sku}", "A").replace("{payload_id}", "1")
            for path, operations in document["paths"].items()
            if "get" in operations
        ]
        for path in paths:
            answers[path] = http.get(path, headers=auth)
        answers["wrong token"] = http.get(
            "/api/v1/orders", headers={"Authorization": "Bearer " + SECRETS["SHOP_TOKEN"]}
        )
        # An error message repeats what it was given: a secret given is masked all the same.
        for name in ("SB_KEY", "SMTP_PASSWORD", "OMNISYNC_API_TOKEN"):
            answers[f"{name} echoed"] = http.post(
                "/api/v1/stock/adjustments",
                headers=auth,
                json={"sku": SECRETS[name], "delta": 1},
            )
        answers["webhook"] = http.post("/webhooks/shopify/shop", content=b"{}")
    for where, response in answers.items():
        seen.add(f"GET {where} ({response.status_code})", response.text + str(response.headers))
    return answers


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """PostgreSQL when the suite has it (a password to hide, in the URL), else SQLite:
    one backend is enough here, and this test starts many processes."""
    if not POSTGRES_URL:
        yield sqlite_url(tmp_path)
        return
    with postgres_schema() as schema:
        yield postgres_schema_url(schema)


@pytest.mark.slow
def test_no_secret_appears_in_output_logs_or_api_responses(
    tmp_path: Path,
    database_url: str,
    simulators: tuple[ShopifySimulator, AmazonSimulator],
) -> None:
    shop, amazon = simulators
    port = closed_port()
    config = write_hub(tmp_path, shop, amazon, port)
    database_url = with_password(database_url)
    env = environment(config, database_url, webhook_host=shop.url)
    seen = Seen()

    assert cli(env, seen, "init").exit_code == 0

    with hub_workers(config, database_url, tmp_path / "workers", env=env) as workers:
        hub = subprocess.Popen(
            [sys.executable, "-m", "tests.support.cli_entry", "--log-format", "json", "run"],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            # every channel refuses the hub's credentials
            assert cli(env, seen, "check", "--connect").exit_code == 1
            base_url = f"http://127.0.0.1:{port}"
            assert eventually(lambda: _answers(f"{base_url}/readyz"), timeout=60)
            # Every channel fails, the rules open alerts, the notifiers fail in turn.
            assert eventually(lambda: open_alerts(database_url) >= 3, timeout=60)
            answers = ask_the_api(base_url, seen)
        finally:
            hub.send_signal(signal.SIGTERM)
            try:
                hub.wait(timeout=60)
            finally:
                if hub.poll() is None:
                    hub.kill()
    log = hub.stderr.read() if hub.stderr else ""
    seen.add("omnisync run (log)", log)
    for worker in workers:  # runner procrastinate: the jobs ran there
        seen.add("omnisync worker (log)", worker.output())

    status = cli(env, seen, "status", "--json")
    cli(env, seen, "status")
    channels = cli(env, seen, "channels", "list", "--json")
    synced = cli(env, seen, "sync", "orders", "--channel", "sb")

    # The scenario did what it should, so the check below is not vacuous.
    assert status.exit_code == 1  # alerts are open
    assert synced.exit_code == 1  # the marketplace on a closed port
    assert answers["/api/v1/channels"].status_code == 200
    assert answers["/api/v1/status"].status_code == 200
    assert answers["wrong token"].status_code == 401
    for name in ("SB_KEY", "SMTP_PASSWORD", "OMNISYNC_API_TOKEN"):
        assert answers[f"{name} echoed"].status_code == 404
        assert "***" in answers[f"{name} echoed"].json()["error"]  # unknown SKU '***'
    paused = {row["name"]: row["paused_reason"] for row in channels.json()}
    assert paused["shop"], paused  # Shopify refused the token: paused, with the reason
    assert paused["amz"], paused
    assert '"level"' in log  # JSON lines
    assert "failed" in log

    assert seen.leaks() == []


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
