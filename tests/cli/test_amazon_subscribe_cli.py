"""`omnisync channels amazon-subscribe` against the Amazon simulator's Notifications API,
with a queue on moto's SQS server: the destination and the subscription are made once,
the next order is published to the queue, and a bad ARN or channel is a usage error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omnisync.sandbox.amazon import AmazonSimulator
from omnisync.sandbox.sqs import SqsServer
from tests.support.cli_runner import invoke_cli
from tests.support.databases import sqlite_url
from tests.support.hub_setup import amazon_channel, amazon_env, sandbox_channel, write_config
from tests.support.simulators import served_fixtures
from tests.support.sqs import fresh_queue, receive_bodies

served_amazon, amazon = served_fixtures(
    "amazon",
    lambda: AmazonSimulator(rate_scale=100.0),
    prepare=lambda sim: sim.set_listings([{"sku": "MUG", "quantity": 10}]),
)


@pytest.fixture
def config(tmp_path: Path, amazon: AmazonSimulator) -> Path:
    return write_config(
        tmp_path / "config",
        {"amz": amazon_channel(amazon), "sb": sandbox_channel("http://127.0.0.1:9")},
    )


def test_subscribing_makes_the_destination_and_subscription_once_and_orders_reach_the_queue(
    tmp_path: Path, config: Path, amazon: AmazonSimulator, sqs_server: SqsServer
) -> None:
    queue = fresh_queue(sqs_server)
    amazon.set_sqs_endpoint(sqs_server.endpoint)
    env = {**amazon_env(amazon), "SB_KEY": "unused"}
    secrets = list(amazon_env(amazon).values())
    database = sqlite_url(tmp_path / "var")
    arguments = ("channels", "amazon-subscribe", "--channel", "amz", "--queue-arn", queue.arn)

    first = invoke_cli(config, database, *arguments, env=env, secrets=secrets)
    assert first.exit_code == 0, first
    assert f"for {queue.arn}" in first.stdout
    assert "(created)" in first.stdout
    assert "notifications:\n  queue_url: https://sqs.us-east-1.amazonaws.com/123456789012/" in (
        first.stdout
    )
    again = invoke_cli(config, database, *arguments, env=env, secrets=secrets)
    assert again.exit_code == 0, again
    assert "(created)" not in again.stdout
    assert again.stdout.count("(already there)") == 2

    state = amazon.notifications_state()
    assert len(state["destinations"]) == 1
    assert len(state["subscriptions"]) == 1
    order = amazon.buy("MUG", 1)
    assert order is not None
    (body,) = receive_bodies(sqs_server, queue, 1)
    change = json.loads(body)["Payload"]["OrderChangeNotification"]
    assert change["AmazonOrderId"] == order["AmazonOrderId"]
    assert change["Summary"]["MarketplaceId"] == amazon.marketplace_id


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (("--channel", "amz", "--queue-arn", "arn:aws:sns:us-east-1:1:topic"), "not an SQS queue"),
        (("--channel", "sb", "--queue-arn", "arn:aws:sqs:us-east-1:1:q"), "of type amazon"),
    ],
)
def test_a_wrong_arn_or_channel_is_a_usage_error(
    tmp_path: Path,
    config: Path,
    amazon: AmazonSimulator,
    arguments: tuple[str, ...],
    said: str,
) -> None:
    env = {**amazon_env(amazon), "SB_KEY": "unused"}
    result = invoke_cli(
        config,
        sqlite_url(tmp_path / "var"),
        "channels",
        "amazon-subscribe",
        *arguments,
        env=env,
    )
    assert result.exit_code == 2, result
    assert said in result.stdout + result.stderr


def test_check_connect_reads_the_notifications_queue_and_names_it_when_it_is_missing(
    tmp_path: Path, amazon: AmazonSimulator, sqs_server: SqsServer
) -> None:
    queue = fresh_queue(sqs_server)
    block = (
        "notifications:\n"
        "  queue_url: {url}\n"
        "  region: us-east-1\n"
        f"  endpoint: {sqs_server.endpoint}\n"
        "  access_key_id: test-key\n"
        "  secret_access_key: test-secret\n"
    )
    env = amazon_env(amazon)
    for url, problem in ((queue.url, None), (queue.url + "-gone", "notifications.queue_url")):
        config = write_config(
            tmp_path / f"config-{problem}",
            {"amz": amazon_channel(amazon, extra=block.format(url=url))},
        )
        result = invoke_cli(config, sqlite_url(tmp_path / "var"), "check", "--connect", env=env)
        if problem is None:
            assert result.exit_code == 0, result
        else:
            assert result.exit_code == 1, result
            assert problem in result.stdout
