"""SQS for tests: moto's server on loopback (one per test process), a fresh queue per test,
and reading what arrived.

`sqs_server_fixture()` gives the fixture `sqs_server` (an `SqsServer`, started at the
first test that needs it and stopped at the end of the session; with xdist, one per
worker). Assign it to that name in a test module, as `served_fixtures` does for the
simulators (`sqs_server = sqs_server_fixture()`), or in a conftest for every module below
it. moto keeps its queues per process, so each test makes its own queue with
`fresh_queue` (a unique name) rather than sharing or purging one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from omnisync.sandbox.sqs import SqsServer

RECEIVE_TIMEOUT_S = 20.0
"""A bound on waiting for messages, not a speed expectation."""


def sqs_server_fixture() -> object:
    """The session fixture `sqs_server`: moto's SQS, served for the whole test run."""

    @pytest.fixture(scope="session", name="sqs_server")
    def served() -> Iterator[SqsServer]:
        with SqsServer() as server:
            yield server

    return served


@dataclass(frozen=True)
class Queue:
    """A queue on the test's SQS server."""

    name: str
    url: str
    arn: str


def fresh_queue(server: SqsServer, prefix: str = "orders", visibility_timeout: int = 30) -> Queue:
    """A new, empty queue with a name no other test uses."""
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    url, arn = server.create_queue(name, visibility_timeout)
    return Queue(name, url, arn)


def receive_bodies(
    server: SqsServer, queue: Queue, count: int, timeout: float = RECEIVE_TIMEOUT_S
) -> list[str]:
    """The bodies of the next `count` messages on `queue` (received and deleted), in the
    order SQS hands them out; fewer when `timeout` passes first."""
    client = server.client()
    bodies: list[str] = []
    deadline = time.monotonic() + timeout
    while len(bodies) < count and time.monotonic() < deadline:
        answer = client.receive_message(
            QueueUrl=queue.url, MaxNumberOfMessages=min(10, count - len(bodies)), WaitTimeSeconds=1
        )
        for message in answer.get("Messages", []):
            bodies.append(message["Body"])
            client.delete_message(QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def waiting_messages(server: SqsServer, queue: Queue) -> int:
    """How many messages `queue` holds now, visible or in flight."""
    attributes = server.client().get_queue_attributes(
        QueueUrl=queue.url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )
