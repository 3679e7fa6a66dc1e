"""SQS on loopback: moto's server mode, for the Amazon simulator's ORDER_CHANGE queues.

Nothing here is an SQS of ours: :class:`SqsServer` starts moto's
``ThreadedMotoServer`` on 127.0.0.1 (a free port by default) and hands out its base URL
(:attr:`SqsServer.endpoint`), which the Amazon simulator publishes to
(``AmazonSimulator(sqs_endpoint=...)``) and a hub's channel reads from, both as boto3
clients. Queues made on it have the URL ``ENDPOINT/123456789012/NAME`` and the ARN
``arn:aws:sqs:us-east-1:123456789012:NAME`` (moto's account; the region of the client
that made them).

moto keeps its state per process, not per server: two servers in one process serve the
same queues, so tests give each queue a name of its own. Werkzeug, under moto, logs
every request at INFO on the ``werkzeug`` logger; starting a server sets that logger
to WARNING (errors still show), and moto's own start-up line is turned off.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

import boto3
from moto.server import ThreadedMotoServer

from omnisync.sandbox.served import Served

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

LOOPBACK: Final = "127.0.0.1"
REGION: Final = "us-east-1"
DUMMY_KEY: Final = "moto"
"""moto takes any credentials; boto3 wants some."""


class SqsServer(Served):
    """moto's SQS, served on loopback while started (a context manager: :class:`Served`)."""

    def __init__(self, host: str = LOOPBACK, port: int = 0, region: str = REGION) -> None:
        self.region = region
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self._endpoint: str | None = None
        self._client: SQSClient | None = None

    def start(self) -> str:
        """Serve; returns the base URL (``http://127.0.0.1:PORT``)."""
        if self._endpoint is None:
            quiet_werkzeug()
            self._server.start()
            host, port = self._server.get_host_and_port()
            self._endpoint = f"http://{host}:{port}"
        return self._endpoint

    def stop(self) -> None:
        if self._endpoint is None:
            return
        if self._client is not None:
            self._client.close()
            self._client = None
        self._server.stop()
        self._endpoint = None

    @property
    def endpoint(self) -> str:
        """The base URL, once started."""
        if self._endpoint is None:
            raise RuntimeError("the SQS server is not started")
        return self._endpoint

    def client(self) -> SQSClient:
        """A boto3 SQS client of this server, in :attr:`region` (made once)."""
        if self._client is None:
            self._client = sqs_client(self.endpoint, self.region)
        return self._client

    def create_queue(self, name: str, visibility_timeout: int = 30) -> tuple[str, str]:
        """A queue (or the one of that name already there): ``(url, arn)``."""
        client = self.client()
        url = client.create_queue(
            QueueName=name, Attributes={"VisibilityTimeout": str(visibility_timeout)}
        )["QueueUrl"]
        attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return url, attributes["Attributes"]["QueueArn"]


def sqs_client(endpoint: str, region: str = REGION) -> SQSClient:
    """A boto3 SQS client for ``endpoint`` with made-up credentials (moto takes any)."""
    return boto3.session.Session().client(
        "sqs",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=DUMMY_KEY,
        aws_secret_access_key=DUMMY_KEY,
    )


def quiet_werkzeug() -> None:
    """No INFO line per request from the server moto runs on."""
    logger = logging.getLogger("werkzeug")
    if logger.level < logging.WARNING:
        logger.setLevel(logging.WARNING)
