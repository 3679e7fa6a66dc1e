"""`omnisync channels amazon-subscribe`: the seller's ORDER_CHANGE notifications to a queue."""

from __future__ import annotations

from typing import Annotated

import typer

from omnisync.connectors.amazon.connector import AmazonConnector
from omnisync.connectors.amazon.settings import AmazonSettings
from omnisync.connectors.amazon.subscribe import QueueArn, subscribe_order_changes
from omnisync.connectors.base import ConnectorError
from omnisync.core.redaction import redact
from omnisync.hub.commands.common import EXIT_USAGE, console, fail, load_cli_settings
from omnisync.hub.commands.orders import channels_app


@channels_app.command("amazon-subscribe")
def amazon_subscribe(
    ctx: typer.Context,
    channel: Annotated[str, typer.Option(help="A channel of type amazon.")],
    queue_arn: Annotated[
        str, typer.Option(help="The SQS queue's ARN: arn:aws:sqs:REGION:ACCOUNT:NAME.")
    ],
) -> None:
    """Subscribe the seller's ORDER_CHANGE notifications to an SQS queue: the destination
    (made once per queue) and the subscription, filtered to the channel's marketplace.
    Running it again changes nothing. The queue's access policy must let Amazon's
    notification service send to it (see README, "Amazon orders in seconds")."""
    settings = load_cli_settings(ctx, channel=channel)
    config = next((c for c in settings.channels if c.name == channel), None)
    if config is None or not isinstance(config.settings, AmazonSettings):
        fail(f"no channel {channel!r} of type amazon in the configuration", EXIT_USAGE)
    try:
        queue = QueueArn.parse(queue_arn)
    except ValueError as error:
        fail(f"--queue-arn: {error}", EXIT_USAGE)
    connector = AmazonConnector(config.settings)
    try:
        done = subscribe_order_changes(connector.api, queue)
    except ConnectorError as error:
        fail(redact(f"{type(error).__name__}: {error}", settings.secrets))
    finally:
        connector.close()
    say = {True: "created", False: "already there"}
    lines = [
        f"destination {done.destination_id} ({say[done.destination_created]}) for {queue}",
        f"ORDER_CHANGE subscription {done.subscription_id} ({say[done.subscription_created]})",
    ]
    if done.other_destination is not None:
        lines.append(
            f"warning: the subscription delivers to destination {done.other_destination}, not "
            "to this queue; delete it (Notifications API deleteSubscriptionById) and run this "
            "again"
        )
    if config.settings.notifications is None:
        lines.append(
            f"next: add to {config.source}:\n"
            f"notifications:\n  queue_url: {queue.queue_url}\n  region: {queue.region}"
        )
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    if done.other_destination is not None:
        raise typer.Exit(1)
