"""Sending notifications to SQS queues, on a thread of its own, with boto3.

The simulator decides what to send under its lock and hands each message here
(:meth:`SqsPublisher.submit`); one worker thread sends them, in order, outside the
lock, so a slow or absent SQS never stalls the SP-API or the control calls. The queue
is named by its ARN and found with ``get_queue_url(QueueName, QueueOwnerAWSAccountId)``
on a client for the endpoint and the ARN's region (moto on loopback, with made-up
credentials; URLs are cached). A message that cannot be sent is logged and counted
(:meth:`SqsPublisher.counts`), never raised: the change it tells of has happened.

:meth:`SqsPublisher.wait_idle` waits (on a condition, with a deadline) until every
message handed in so far has been sent or has failed; a :class:`Delivery` says how its
own message went.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import boto3
from botocore.config import Config

from omnisync.sandbox.amazon.notifications import QueueArn

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

LOG: Final = logging.getLogger(__name__)
DUMMY_KEY: Final = "simulator"
"""moto takes any credentials; boto3 wants some."""
CLIENT_CONFIG: Final = Config(
    connect_timeout=2.0, read_timeout=10.0, retries={"mode": "standard", "max_attempts": 2}
)
CLOSE_TIMEOUT_S: Final = 10.0


@dataclass
class Delivery:
    """One message on its way to a queue."""

    endpoint: str
    queue: QueueArn
    body: str
    done: threading.Event = field(default_factory=threading.Event)
    error: str | None = None
    """Why it was not sent (once ``done``); None when it was."""

    @property
    def delivered(self) -> bool:
        return self.done.is_set() and self.error is None


class SqsPublisher:
    """A worker thread that sends :class:`Delivery` items to SQS, one after the other."""

    def __init__(self) -> None:
        self._inbox: queue.SimpleQueue[Delivery | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._sent = 0
        self._failed = 0
        self._last_error: str | None = None
        self._clients: dict[tuple[str, str], SQSClient] = {}
        self._urls: dict[tuple[str, str], str] = {}

    def submit(self, endpoint: str, queue_arn: QueueArn, body: str) -> Delivery:
        """Queue ``body`` for the queue ``queue_arn`` on ``endpoint``; returns at once."""
        delivery = Delivery(endpoint.rstrip("/"), queue_arn, body)
        with self._lock:
            self._pending += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="amazon-sqs-publisher", daemon=True
                )
                self._thread.start()
        self._inbox.put(delivery)
        return delivery

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every message submitted so far is sent or failed; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def counts(self) -> dict[str, int | str | None]:
        with self._lock:
            return {
                "sent": self._sent,
                "failed": self._failed,
                "pending": self._pending,
                "last_error": self._last_error,
            }

    def reset_counts(self) -> None:
        with self._lock:
            self._sent = self._failed = 0
            self._last_error = None

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Send what is queued, then stop the worker (a later submit starts a new one)."""
        with self._lock:
            thread = self._thread
            self._thread = None
        if thread is None or not thread.is_alive():
            return
        self._inbox.put(None)
        thread.join(timeout)

    # the worker --------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            delivery = self._inbox.get()
            if delivery is None:
                return
            try:
                self._send(delivery)
            except Exception as error:  # the worker outlives any one message (boto3's or not)
                delivery.error = f"{type(error).__name__}: {error}"
                LOG.warning(
                    "notification for %s not sent to SQS at %s: %s",
                    delivery.queue.arn,
                    delivery.endpoint,
                    delivery.error,
                )
                self._urls.pop((delivery.endpoint, delivery.queue.arn), None)
            finally:
                with self._idle:
                    self._pending -= 1
                    if delivery.error is None:
                        self._sent += 1
                    else:
                        self._failed += 1
                        self._last_error = delivery.error
                    self._idle.notify_all()
                delivery.done.set()

    def _send(self, delivery: Delivery) -> None:
        client = self._client(delivery.endpoint, delivery.queue.region)
        key = (delivery.endpoint, delivery.queue.arn)
        url = self._urls.get(key)
        if url is None:
            url = client.get_queue_url(
                QueueName=delivery.queue.name, QueueOwnerAWSAccountId=delivery.queue.account
            )["QueueUrl"]
            self._urls[key] = url
        client.send_message(QueueUrl=url, MessageBody=delivery.body)

    def _client(self, endpoint: str, region: str) -> SQSClient:
        client = self._clients.get((endpoint, region))
        if client is None:
            client = boto3.session.Session().client(
                "sqs",
                endpoint_url=endpoint,
                region_name=region,
                aws_access_key_id=DUMMY_KEY,
                aws_secret_access_key=DUMMY_KEY,
                config=CLIENT_CONFIG,
            )
            self._clients[(endpoint, region)] = client
        return client
